package transport

import (
	"context"
	"net/http"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/observe"
)

// The copies of a hedged read that run off the caller's goroutine: B
// always, A when a hedge was likely (see hedge). Each runs in its own
// context, races the other for the win under hedge.mu, and, when it loses,
// runs its course without costing its connection.

// hedgeCopy is a copy of a hedged read sent off the caller's goroutine:
// attempt B, or a detached attempt A.
type hedgeCopy struct {
	ep         *endpoints.Endpoint
	primary    bool // attempt A
	ctx        context.Context
	cancel     context.CancelFunc
	stopCaller func() bool // disarms the caller's end cutting the copy
	stopClose  func() bool // disarms Close cutting the copy
	obs        *attemptObs // nil when the call is not observed
}

// end releases the copy's context and what watches it.
func (x *hedgeCopy) end() {
	x.stopCaller()
	x.stopClose()
	x.cancel()
}

// detach gives x a context of its own. It outlives the caller's context
// once the other copy has won: callers cancel as soon as the call returns,
// and cutting the loser then would cost its connection. Until then the
// caller's end is x's end too. Close always ends it; the attempt timeout
// bounds it, and the body it wins with.
func (h *hedge) detach(x *hedgeCopy) {
	c := h.c
	d, opCut := c.attemptTimeout()
	x.ctx, x.cancel = context.WithTimeoutCause(context.WithoutCancel(c.ctx), d, c.attemptCause(opCut))
	cancel, primary := x.cancel, x.primary
	x.stopCaller = context.AfterFunc(c.ctx, func() {
		h.mu.Lock()
		spared := h.won && h.aWon != primary // the other copy won
		h.mu.Unlock()
		if !spared {
			cancel()
		}
	})
	x.stopClose = context.AfterFunc(c.t.ctx, cancel)
}

// sendDetached sends attempt A off the caller's goroutine, which waits for
// the first answer of A or B. The caller registered the goroutine (track).
func (c *call) sendDetached(h *hedge, delay time.Duration) (*http.Response, error) {
	c.dirty = true // A's goroutine, or B's, may outlive the call
	h.reset(c, c.ep, nil)
	h.results = make(chan attemptResult, 2)
	a := &hedgeCopy{ep: c.ep, primary: true}
	h.detach(a)
	if c.obs != nil {
		a.obs = c.obs.beginCopy(a.ep, h.number, false)
	}
	a.ep.Begin()
	h.arm(delay)
	go h.runDetached(a)
	resp, err := c.hedgeResult(h, nil, true)
	h.timer.Stop() // A returned: B is of no use any more
	return resp, err
}

// runDetached is a detached A's goroutine.
func (h *hedge) runDetached(a *hedgeCopy) {
	defer h.c.t.untrack()
	h.run(a)
}

// fire runs on the hedge timer's goroutine: it sends attempt B unless A has
// returned, no other healthy endpoint exists or the budget is spent.
func (h *hedge) fire() {
	c := h.c
	t := c.t
	b, ok := h.launch()
	if !ok {
		return
	}
	defer t.untrack()
	t.hedgesSent.Add(1)
	if t.cfg.Logger != nil {
		t.cfg.Logger.Debug("deimos hedged read", "slow", h.epA.URL(), "endpoint", b.ep.URL(), "path", c.req.Path)
	}
	b.ep.Begin()
	h.run(b)
}

// run sends x and settles the race with what it got.
func (h *hedge) run(x *hedgeCopy) {
	start := time.Now()
	resp, err := h.c.sendCopy(x, h.number)
	elapsed := time.Since(start)

	h.mu.Lock()
	if x.primary {
		h.aDone = true
		h.aFailed = err != nil && !h.won
	}
	otherWon := h.won
	if err == nil && !otherWon {
		h.won, h.aWon = true, x.primary
		h.mu.Unlock()
		h.win(x, resp, elapsed)
		return
	}
	h.mu.Unlock()
	h.lost(x, resp, err, otherWon, elapsed)
}

// sendCopy sends x, which belongs to attempt number of c. It runs on the
// copy's goroutine and reads only what stays put during the call.
func (c *call) sendCopy(x *hedgeCopy, number int) (*http.Response, error) {
	hreq, err := c.newHTTPRequest(x.ctx, x.ep)
	if err != nil {
		return nil, err
	}
	c.logRequest(hreq, number)
	resp, err := c.t.rt.RoundTrip(hreq)
	if err == nil {
		c.logResponse(hreq, resp)
	}
	return resp, err
}

// launch decides, under h.mu, whether B goes out, and prepares it: its
// endpoint, its context, and its observation.
func (h *hedge) launch() (*hedgeCopy, bool) {
	c := h.c
	t := c.t
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.aDone {
		return nil, false
	}
	epB := t.set.PickHealthy(h.epA)
	if epB == nil || !t.hedges.take() || !t.track() {
		return nil, false
	}
	b := &hedgeCopy{ep: epB}
	h.detach(b)
	h.launched = true
	if h.results == nil {
		h.results = make(chan attemptResult, 1)
	}
	if c.obs != nil {
		b.obs = c.obs.beginCopy(epB, h.number, true)
	}
	return b, true
}

// win hands the answer x won with to the caller, which tells how it ends.
// B's win cuts an inline A, to free the caller.
func (h *hedge) win(x *hedgeCopy, resp *http.Response, elapsed time.Duration) {
	if !x.primary {
		h.c.t.primariesLost.Add(1)
	}
	x.ep.ObserveLatency(elapsed)
	// The caller's end still cuts the body x won with (stopCaller stays armed).
	resp.Body = &attemptBody{ReadCloser: resp.Body, cancel: x.end, ep: x.ep}
	if h.scopeA != nil && !x.primary {
		h.scopeA.cut()
	}
	if x.obs != nil {
		x.obs.answered(resp)
	}
	h.results <- attemptResult{ep: x.ep, resp: resp, obs: x.obs, primary: x.primary}
}

// lost ends a copy that did not win: it answered after the other, ran out
// its own time (or Close ended it) after the other won, or failed. A failed
// B is told to the caller, which then waits for A; a failed detached A too,
// with its observation, whose end the caller tells, as for an inline A.
func (h *hedge) lost(x *hedgeCopy, resp *http.Response, err error, otherWon bool, elapsed time.Duration) {
	c := h.c
	t := c.t
	outcome := observe.Superseded
	switch {
	case err == nil: // the other won; this answer goes back to the pool
		if x.obs != nil {
			x.obs.answered(resp)
		}
		closeBody(resp.Body)
		x.ep.ObserveLatency(elapsed)
		if !x.primary {
			t.hedges.wasted()
		}
	case otherWon: // the other won and this never answered: slow, not dead
		t.hedgesCut.Add(1)
		x.ep.ObserveSlow(elapsed)
		if !x.primary {
			t.hedges.wasted()
		}
		err = nil
	default:
		err = c.attemptFailed(x.ep, context.Cause(x.ctx), err)
		outcome = observe.Retried
	}
	x.end()
	x.ep.End()
	if x.obs != nil && !(x.primary && err != nil) {
		c.obs.end(x.obs, outcome, err)
	}
	if err != nil {
		h.results <- attemptResult{ep: x.ep, err: err, obs: x.obs, primary: x.primary}
	}
}
