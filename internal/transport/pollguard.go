package transport

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
)

// A long poll that has its headers waits for an event with no deadline. A
// hung node (a stopped process, a dead host whose connections were not
// reset) keeps such a connection open and never sends the event: the watch
// would wait forever. So while long polls wait on an endpoint, one guard per
// endpoint probes it every pollProbeInterval; when a probe gets no answer
// within the attempt timeout, every poll waiting there is cut with
// ErrEndpointUnresponsive, the endpoint is marked failed, and the callers
// poll again elsewhere. Closing the transport cuts the waiting polls with
// ErrClosed. One guard serves all the polls of an endpoint, so a process
// with many watches (lock waiters, caches) sends one probe per interval per
// endpoint, not one per watch.
type pollGuards struct {
	mu     sync.Mutex
	guards map[*endpoints.Endpoint]*pollGuard
}

// pollGuard is the guard of one endpoint. Its goroutine outlives the polls
// by a short grace (pollIdleGrace): a watch polls again as soon as its poll
// returns, and a guard retired with every event would cost a goroutine, a
// ticker and a table per event. The guard retires when the grace after its
// last poll left, or a tick, finds no poll waiting.
type pollGuard struct {
	polls map[*attemptBody]struct{} // the waiting polls, by their bodies
	idle  chan struct{}             // signalled when the last poll leaves
}

// guardLongPoll puts the long poll whose body is b under its endpoint's
// guard; closing b takes it off (leave). It reports false when the transport
// is closed.
func (t *Transport) guardLongPoll(b *attemptBody, ep *endpoints.Endpoint) bool {
	pg := &t.polls
	pg.mu.Lock()
	defer pg.mu.Unlock()
	g := pg.guards[ep]
	if g == nil {
		g = &pollGuard{polls: make(map[*attemptBody]struct{}), idle: make(chan struct{}, 1)}
		if !t.goBackground(func() { t.probeWhileWaiting(ep, g) }) {
			return false
		}
		if pg.guards == nil {
			pg.guards = make(map[*endpoints.Endpoint]*pollGuard)
		}
		pg.guards[ep] = g
	}
	g.polls[b] = struct{}{}
	b.guard = g
	return true
}

// leave takes the poll whose body is b off its guard.
func (pg *pollGuards) leave(b *attemptBody) {
	pg.mu.Lock()
	g := b.guard
	delete(g.polls, b)
	b.guard = nil
	if len(g.polls) == 0 {
		select {
		case g.idle <- struct{}{}:
		default: // already signalled
		}
	}
	pg.mu.Unlock()
}

// retireIfIdle retires g when no poll waits under it; the next poll then
// starts a new guard.
func (pg *pollGuards) retireIfIdle(ep *endpoints.Endpoint, g *pollGuard) bool {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if len(g.polls) > 0 {
		return false
	}
	pg.retireLocked(ep, g)
	return true
}

// retireLocked forgets g, so the next poll starts a new guard.
func (pg *pollGuards) retireLocked(ep *endpoints.Endpoint, g *pollGuard) {
	if pg.guards[ep] == g {
		delete(pg.guards, ep)
	}
}

// cutAll retires g and cuts every poll still waiting under it, with cause.
// The cuts are made under the lock: a poll leaves under it before its call
// can be reused, so every body in the table is a poll still waiting.
func (pg *pollGuards) cutAll(ep *endpoints.Endpoint, g *pollGuard, cause error) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	pg.retireLocked(ep, g)
	for b := range g.polls {
		b.call.scope.cancel(cause)
	}
}

// probeWhileWaiting is the guard's goroutine: it probes ep until no poll
// waits there, the endpoint stops answering, or the transport closes.
func (t *Transport) probeWhileWaiting(ep *endpoints.Endpoint, g *pollGuard) {
	every := t.tune.pollProbeInterval
	if every <= 0 {
		every = max(time.Second, t.cfg.RequestTimeout)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	grace := time.NewTimer(t.tune.pollIdleGrace)
	grace.Stop()
	defer grace.Stop()
	for {
		select {
		case <-t.ctx.Done():
			t.polls.cutAll(ep, g, ErrClosed)
			return
		case <-g.idle:
			grace.Reset(t.tune.pollIdleGrace)
			continue
		case <-grace.C:
			if t.polls.retireIfIdle(ep, g) {
				return
			}
			continue
		case <-tick.C:
		}
		if t.polls.retireIfIdle(ep, g) {
			return
		}
		pctx, cancel := context.WithTimeout(t.ctx, t.cfg.RequestTimeout) // Close ends the probe too
		err := t.probe(pctx, ep.URL())
		cancel()
		switch {
		case t.ctx.Err() != nil:
			t.polls.cutAll(ep, g, ErrClosed)
			return
		case err != nil:
			err = fmt.Errorf("%w: %s stopped answering during a long poll: %w", ErrEndpointUnresponsive, ep.URL(), err)
			t.set.Failure(ep, err, true)
			t.polls.cutAll(ep, g, err)
			return
		}
	}
}
