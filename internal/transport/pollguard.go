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

type pollGuard struct {
	polls map[*waitingPoll]struct{}
	idle  chan struct{} // closed when the guard has no poll left, or gave up
	ended bool          // idle is closed; guarded by pollGuards.mu
}

type waitingPoll struct{ cut context.CancelCauseFunc }

// guardLongPoll puts the long poll of actx under its endpoint's guard until
// the attempt ends (its body closed or its caller gone).
func (t *Transport) guardLongPoll(actx context.Context, cut context.CancelCauseFunc, ep *endpoints.Endpoint) {
	w := &waitingPoll{cut: cut}
	pg := &t.polls
	pg.mu.Lock()
	g := pg.guards[ep]
	if g == nil {
		g = &pollGuard{polls: make(map[*waitingPoll]struct{}), idle: make(chan struct{})}
		if !t.goBackground(func() { t.probeWhileWaiting(ep, g) }) {
			pg.mu.Unlock()
			cut(ErrClosed)
			return
		}
		if pg.guards == nil {
			pg.guards = make(map[*endpoints.Endpoint]*pollGuard)
		}
		pg.guards[ep] = g
	}
	g.polls[w] = struct{}{}
	pg.mu.Unlock()
	context.AfterFunc(actx, func() { pg.leave(ep, g, w) })
}

// leave takes a finished poll off its guard; the last one retires the guard.
func (pg *pollGuards) leave(ep *endpoints.Endpoint, g *pollGuard, w *waitingPoll) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	delete(g.polls, w)
	if len(g.polls) == 0 {
		pg.retireLocked(ep, g)
	}
}

// retireLocked closes g and forgets it, so the next poll starts a new guard.
func (pg *pollGuards) retireLocked(ep *endpoints.Endpoint, g *pollGuard) {
	if pg.guards[ep] == g {
		delete(pg.guards, ep)
	}
	if !g.ended {
		g.ended = true
		close(g.idle)
	}
}

// cutAll retires g and cuts every poll still waiting under it.
func (pg *pollGuards) cutAll(ep *endpoints.Endpoint, g *pollGuard, cause error) {
	pg.mu.Lock()
	pg.retireLocked(ep, g)
	waiting := make([]*waitingPoll, 0, len(g.polls))
	for w := range g.polls {
		waiting = append(waiting, w)
	}
	pg.mu.Unlock()
	for _, w := range waiting {
		w.cut(cause)
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
	for {
		select {
		case <-g.idle:
			return
		case <-t.ctx.Done():
			t.polls.cutAll(ep, g, ErrClosed)
			return
		case <-tick.C:
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
