package transport

import (
	"context"
	"errors"
	"time"
)

// NoOperationTimeout as Config.OperationTimeout leaves every operation to
// its context: one whose context has no deadline may wait forever.
const NoOperationTimeout time.Duration = -1

// defaultOperationAttempts is how many attempt timeouts an operation whose
// context has no deadline may take, with Config.OperationTimeout zero: 12 s
// with the default 3 s attempts, room for a leader election (about 2 s,
// docs/protocol.md §13.6) and for a retry on every node of a 3-node cluster.
const defaultOperationAttempts = 4

// operationTimeout is the cause of a call that ran out its operation
// timeout: like the end of a context deadline, it matches
// context.DeadlineExceeded.
type operationTimeout struct{ d time.Duration }

func (e *operationTimeout) Error() string {
	return "operation timeout of " + e.d.String() + " elapsed (no context deadline)"
}

// Is reports target == context.DeadlineExceeded.
func (e *operationTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout reports true, as context.DeadlineExceeded does.
func (e *operationTimeout) Timeout() bool { return true }

// operationBound resolves Config.OperationTimeout: 0 means the default,
// NoOperationTimeout none (0 returned).
func operationBound(cfg Config) time.Duration {
	switch {
	case cfg.OperationTimeout == NoOperationTimeout:
		return 0
	case cfg.OperationTimeout == 0:
		return defaultOperationAttempts * cfg.RequestTimeout
	}
	return cfg.OperationTimeout
}

// bound gives the call its operation deadline, when its context has none.
// Long polls are exempt: they wait for an event by design, and their
// endpoint's liveness is probed while they do (pollguard.go).
func (c *call) bound() {
	t := c.t
	if t.opTimeout == nil || c.req.Class == LongPoll {
		return
	}
	if _, ok := c.ctx.Deadline(); ok {
		return
	}
	c.opDeadline = time.Now().Add(t.opTimeout.d)
}

// ended reports why the call may not go on, if it may not: the caller's
// context ended, or the call ran out its operation timeout.
func (c *call) ended() error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if !c.opDeadline.IsZero() && !time.Now().Before(c.opDeadline) {
		return c.t.opTimeout
	}
	return nil
}

// attemptTimeout is how long the next attempt may take: the attempt
// timeout, or what is left of the operation's bound when that is shorter
// (opCut).
func (c *call) attemptTimeout() (d time.Duration, opCut bool) {
	d = c.t.cfg.RequestTimeout
	if !c.opDeadline.IsZero() {
		if left := time.Until(c.opDeadline); left < d {
			return left, true
		}
	}
	return d, false
}

// attemptCause is the cause that ends an attempt's own context when its
// timeout passes.
func (c *call) attemptCause(opCut bool) error {
	if opCut {
		return c.t.opTimeout
	}
	return errAttemptTimeout
}

// blames reports whether err, the error of an attempt to an endpoint, is
// that endpoint's: not when the caller's context ended, nor when the call's
// own operation timeout cut the attempt.
func (c *call) blames(err error) bool {
	var ot *operationTimeout
	return c.ctx.Err() == nil && !errors.As(err, &ot)
}
