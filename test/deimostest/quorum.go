package deimostest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// raftClock fakes the X-Raft-Index and X-Raft-Term headers: the index grows with every
// applied get or write, the term with every quorum restoration (an election).
type raftClock struct {
	index atomic.Uint64
	term  atomic.Uint64
}

func (r *raftClock) read() (uint64, uint64) { return r.index.Load(), r.term.Load() }

// quorum holds the "quorum lost" state and the writes received meanwhile.
type quorum struct {
	mu       sync.RWMutex
	lost     bool
	restored chan struct{} // closed when quorum returns
	queue    []*pendingOp
}

// op is one read or write to run against the store.
type op func() (*reply, *apiError)

// pendingOp is a write received while quorum is lost, applied when it returns.
type pendingOp struct {
	run  op
	done chan outcome // buffered 1
}

// outcome is the result of an op.
type outcome struct {
	rep *reply
	err *apiError
}

// commitStatus says how commit ended.
type commitStatus int

const (
	committed commitStatus = iota // outcome is valid
	timedOut                      // no quorum for the server timeout: answer the plain 500
	abandoned                     // the client left or the node stopped: answer nothing
)

// apply runs o as one raft entry.
func (c *Cluster) apply(o op) outcome {
	c.raft.index.Add(1)
	rep, err := o()
	return outcome{rep: rep, err: err}
}

// commit runs o through "consensus": at once with quorum; otherwise writes are queued
// (and applied when quorum returns, even if this request gave up) and reads wait for
// quorum, both for at most the server timeout.
func (c *Cluster) commit(ctx context.Context, stop <-chan struct{}, o op, write bool) (outcome, commitStatus) {
	timer := time.NewTimer(c.cfg.serverTimeout)
	defer timer.Stop()
	for {
		res, ok, restored, pending := c.tryCommit(o, write)
		if ok {
			return res, committed
		}
		var done chan outcome
		if pending != nil {
			done, restored = pending.done, nil
		}
		select {
		case res := <-done:
			return res, committed
		case <-restored:
		case <-timer.C:
			return outcome{}, timedOut
		case <-ctx.Done():
			return outcome{}, abandoned
		case <-stop:
			return outcome{}, abandoned
		}
	}
}

// tryCommit applies o if quorum is present. Otherwise it queues a write and returns the
// channel closed when quorum returns.
func (c *Cluster) tryCommit(o op, write bool) (outcome, bool, chan struct{}, *pendingOp) {
	q := &c.quorum
	if !write {
		q.mu.RLock()
		defer q.mu.RUnlock()
		if q.lost {
			return outcome{}, false, q.restored, nil
		}
		return c.apply(o), true, nil, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.lost {
		return c.apply(o), true, nil, nil
	}
	p := &pendingOp{run: o, done: make(chan outcome, 1)}
	q.queue = append(q.queue, p)
	return outcome{}, false, q.restored, p
}

// LoseQuorum makes non-watch requests on every node hang for the server timeout and
// then answer a plain 500. Writes received meanwhile are applied when quorum returns, in
// the order they arrived, as on an isolated leader. Nothing is reaped meanwhile.
// Watches and /machines keep working.
func (c *Cluster) LoseQuorum() {
	q := &c.quorum
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.lost {
		q.lost = true
		q.restored = make(chan struct{})
	}
}

// RestoreQuorum undoes LoseQuorum: it applies the writes that were held (their waiting
// requests, if still there, get the real answer) and lets reads and reaping go on.
func (c *Cluster) RestoreQuorum() {
	q := &c.quorum
	q.mu.Lock()
	if !q.lost {
		q.mu.Unlock()
		return
	}
	for _, p := range q.queue {
		p.done <- c.apply(p.run)
	}
	q.queue, q.lost = nil, false
	c.raft.term.Add(1)
	close(q.restored)
	q.mu.Unlock()
	c.store.wake()
}

// withQuorum runs fn if quorum is present and reports whether it did.
func (c *Cluster) withQuorum(fn func()) bool {
	c.quorum.mu.RLock()
	defer c.quorum.mu.RUnlock()
	if c.quorum.lost {
		return false
	}
	fn()
	return true
}
