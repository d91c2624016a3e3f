package transport

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
)

// Each attempt of a call goes through send: it gets its own timeout, it is
// hedged when the call is a safe read, and its latency and failure feed the
// endpoint's health score. The answer's body ends the attempt when it is
// closed, so the attempt timeout also bounds reading the body.

// errAttemptTimeout is the cancellation cause of an attempt's own deadline.
var errAttemptTimeout = ErrAttemptTimeout

// send makes one attempt of c to c.ep.
func (c *call) send() (*http.Response, error) {
	t := c.t
	switch {
	case c.req.Class == LongPoll:
		return c.sendLongPoll()
	case c.req.Class == Safe && !t.cfg.DisableHedging && t.set.Len() > 1:
		return c.sendHedged()
	}
	return c.sendOnce()
}

// attemptScope returns the scope for the next attempt, replacing a spent
// one.
func (c *call) attemptScope() *attemptScope {
	if c.scope == nil || c.spent {
		if c.scope != nil {
			c.scope.release()
		}
		c.scope, c.spent = c.t.newScope(c.ctx), false
	}
	return c.scope
}

// sendOnce sends an unhedged attempt.
func (c *call) sendOnce() (*http.Response, error) {
	ep := c.ep
	s := c.attemptScope()
	hreq, err := c.newHTTPRequest(s.requestContext(c.req.Class == Unsafe), ep)
	if err != nil {
		return nil, err
	}
	c.logRequest(hreq, c.tries+1)
	var obs *attemptObs
	if c.obs != nil {
		obs = c.obs.beginAttempt(ep, c.tries+1)
	}
	ep.Begin()
	d, opCut := c.attemptTimeout()
	s.arm(d, opCut)
	start := time.Now()
	resp, err := c.t.rt.RoundTrip(hreq)
	elapsed := time.Since(start)
	if err != nil {
		c.spent = !s.disarm()
		err = c.attemptFailed(ep, s.cause(), err)
		ep.End()
		return nil, err
	}
	ep.ObserveLatency(elapsed)
	c.logResponse(hreq, resp)
	// Attempts of an unhedged call are sequential and each body is closed
	// before the next attempt, so the call's own attemptBody is reused.
	c.abody = attemptBody{ReadCloser: resp.Body, call: c, ep: ep}
	resp.Body = &c.abody
	if obs != nil {
		obs.answered(resp)
	}
	return resp, nil
}

// sendLongPoll sends a watch: only the wait for the headers is bounded, the
// event may take minutes; meanwhile the endpoint's liveness is probed
// (pollguard.go). The poll runs in the call's attempt scope, whose timer
// bounds the headers and which the guard cuts when the endpoint stops
// answering, and its body is the call's own: a watch costs no context,
// timer or closure of its own per poll.
func (c *call) sendLongPoll() (*http.Response, error) {
	t, ep := c.t, c.ep
	s := c.attemptScope()
	hreq, err := c.newHTTPRequest(s.requestContext(false), ep)
	if err != nil {
		return nil, err
	}
	c.logRequest(hreq, c.tries+1)
	var obs *attemptObs
	if c.obs != nil {
		obs = c.obs.beginAttempt(ep, c.tries+1)
	}
	ep.Begin()
	s.arm(t.cfg.RequestTimeout, false) // long polls are exempt from the operation's bound
	resp, err := t.rt.RoundTrip(hreq)
	if !s.disarm() {
		c.spent = true
	}
	if err != nil {
		err = c.attemptFailed(ep, s.cause(), err)
		ep.End()
		return nil, err
	}
	c.logResponse(hreq, resp)
	c.abody = attemptBody{ReadCloser: resp.Body, call: c, ep: ep, poll: true}
	if !t.guardLongPoll(&c.abody, ep) {
		s.cancel(ErrClosed)
	}
	resp.Body = &c.abody
	if obs != nil {
		obs.answered(resp)
	}
	return resp, nil
}

// attemptFailed names the error of an attempt that got no response and
// records it against ep, given why the attempt's context ended (nil if it
// did not), unless that was not ep's fault: the caller's context ended, or
// the operation's bound cut the attempt.
func (c *call) attemptFailed(ep *endpoints.Endpoint, cause, err error) error {
	if c.ctx.Err() != nil {
		return err
	}
	switch {
	case cause == errAttemptTimeout:
		err = fmt.Errorf("%w (%s)", ErrAttemptTimeout, c.t.cfg.RequestTimeout)
	case cause != nil && cause == error(c.t.opTimeout):
		return cause
	}
	c.t.set.Failure(ep, err, true)
	return err
}

// attemptBody ends the attempt (its timer or context, and its in-flight
// mark) when the body is closed.
type attemptBody struct {
	io.ReadCloser
	call   *call              // an unhedged attempt's call: stops the scope's timer
	cancel context.CancelFunc // or the attempt's own context
	ep     *endpoints.Endpoint
	ended  atomic.Bool
	poll   bool       // a long poll's: it leaves its guard
	guard  *pollGuard // the guard the poll waits under; nil once it left
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	if !b.ended.Swap(true) {
		switch c := b.call; {
		case b.poll:
			if b.guard != nil {
				c.t.polls.leave(b)
			}
			if c.scope.cause() != nil {
				c.spent = true // the guard or Close cut the poll
			}
		case c != nil && !c.scope.disarm():
			c.spent = true // the timeout cut the body
		}
		if b.cancel != nil {
			b.cancel()
		}
		b.ep.End()
	}
	return err
}

// logResponse logs, at debug level, an answer's status.
func (c *call) logResponse(hreq *http.Request, resp *http.Response) {
	if l := c.t.cfg.Logger; l != nil {
		l.Debug("deimos response", "method", hreq.Method, "url", logURL(hreq.URL), "status", resp.StatusCode)
	}
}
