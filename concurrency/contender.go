package concurrency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// contender is what Mutex, Semaphore and Election share: one place in a
// queue of in-order keys under dir, of which the first slots entries hold.
// Acquisitions and releases are serialised; each acquisition is a holding,
// with its own lost channel and the guard watching its entry.
type contender struct {
	s     *Session
	dir   string
	slots int
	owner string
	rules rules
	err   error // invalid prefix or option

	op     sync.Mutex              // serialises acquire and release
	queued atomic.Pointer[ticket]  // our entry while waiting or holding
	cur    atomic.Pointer[holding] // the current holding, nil when none
}

// holding is one acquisition: the entry held and how its loss is told.
type holding struct {
	t      *ticket
	index  uint64 // our last write on the entry when the holding began
	lost   chan struct{}
	once   sync.Once
	reason error                   // why it was lost; written before lost is closed
	stop   context.CancelCauseFunc // ends the guard
	ending atomic.Bool             // released: the removal the guard sees is ours
}

// rules are what tells the recipes apart: the errors their contender
// reports.
type rules struct {
	busy    error  // no free slot for a non-blocking acquisition
	notHeld error  // a release without a holding
	lost    error  // wrapped around the reason when a lost holding is released; nil: not reported
	verb    string // names a failed release, e.g. "mutex: unlocking"
}

// errReleased is the cause with which a release ends its holding's guard.
var errReleased = errors.New("concurrency: released")

// init sets up c for session s on the queue at prefix.
func (c *contender) init(s *Session, prefix string, slots int, r rules, opts []MutexOption) {
	var cfg mutexConfig
	for _, o := range opts {
		o.applyMutex(&cfg)
	}
	c.s, c.slots, c.owner, c.rules = s, slots, cfg.owner, r
	c.dir, c.err = cleanPrefix(prefix)
}

// acquire takes a slot for an entry holding value, waiting for it when
// block, else failing with rules.busy when none is free. Holding already,
// it returns nil at once.
func (c *contender) acquire(ctx context.Context, value string, block bool) error {
	c.op.Lock()
	defer c.op.Unlock()
	switch {
	case c.err != nil:
		return c.err
	case c.Held():
		return nil
	}
	c.dropStale()
	t, err := enqueue(ctx, c.s, c.dir, envelope{Owner: c.owner, Value: value})
	if err != nil {
		return err
	}
	c.queued.Store(t)
	if block {
		err = t.wait(ctx, c.slots)
	} else {
		err = t.try(ctx, c.slots, c.rules.busy)
	}
	if err != nil {
		t.abandon()
		c.queued.Store(nil)
		return err
	}
	c.hold(t)
	return nil
}

// hold starts a holding of t and its guard.
func (c *contender) hold(t *ticket) {
	gctx, stop := context.WithCancelCause(c.s.ctx)
	index, _, _ := c.s.keyState(t.key)
	h := &holding{t: t, index: index, lost: make(chan struct{}), stop: stop}
	c.cur.Store(h)
	if !c.s.spawn(func() { h.guard(gctx, c.s) }) {
		h.markLost(c.s.Err())
		stop(errReleased)
	}
}

// release ends the current holding and removes its entry, without waiting
// for the guard: the guard's poll, told that the removal is ours, ends with
// the delete event (so its connection stays usable), or is cancelled after
// the delete if still running. Without a holding it fails with
// rules.notHeld; a holding lost before is reported with rules.lost.
func (c *contender) release(ctx context.Context) error {
	c.op.Lock()
	defer c.op.Unlock()
	h := c.cur.Swap(nil)
	if h == nil {
		return c.rules.notHeld
	}
	h.ending.Store(true)
	lost := h.lostErr()
	c.queued.Store(nil)
	err := h.t.remove(ctx)
	h.stop(errReleased)
	switch {
	case lost != nil && c.rules.lost != nil:
		return fmt.Errorf("%w: %w", c.rules.lost, lost)
	case err != nil:
		return fmt.Errorf("%s %s: %w", c.rules.verb, h.t.key, err)
	}
	return nil
}

// dropStale clears a holding that was lost and never released.
func (c *contender) dropStale() {
	if h := c.cur.Swap(nil); h != nil {
		h.ending.Store(true)
		h.t.abandon()
		h.stop(errReleased)
	}
	c.queued.Store(nil)
}

// Held reports whether this contender holds its lock, permit or
// leadership: acquired, not lost, and its entry refreshed within the TTL.
func (c *contender) Held() bool {
	h := c.cur.Load()
	return h != nil && h.lostErr() == nil && c.s.alive(h.t.key)
}

// Lost returns a channel closed when the current holding (a lock, a permit,
// a leadership) is lost: its entry was deleted or expired behind the
// holder's back (seen by a watch on it) or the session was lost or closed.
// Unlock, Release and Resign never close it. Each acquisition gets a new
// channel; nil (blocking forever) when nothing is held.
func (c *contender) Lost() <-chan struct{} {
	if h := c.cur.Load(); h != nil {
		return h.lost
	}
	return nil
}

// Key returns the key of this contender's queue entry while it waits or
// holds, "" otherwise.
func (c *contender) Key() string {
	if t := c.queued.Load(); t != nil {
		return t.key
	}
	return ""
}

// createdIndex returns the held entry's createdIndex, 0 when none is held.
func (c *contender) createdIndex() uint64 {
	if h := c.cur.Load(); h != nil {
		return h.t.created
	}
	return 0
}

// lostErr returns why the current holding was lost, nil if it was not.
func (c *contender) lostErr() error {
	if h := c.cur.Load(); h != nil {
		return h.lostErr()
	}
	return nil
}

// markLost records the loss of the holding, unless it is being released.
func (h *holding) markLost(err error) {
	if h.ending.Load() {
		return
	}
	h.once.Do(func() {
		h.reason = err
		close(h.lost)
	})
}

func (h *holding) lostErr() error {
	select {
	case <-h.lost:
		return h.reason
	default:
		return nil
	}
}
