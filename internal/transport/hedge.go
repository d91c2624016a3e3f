package transport

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/observe"
)

// hedge is the shared state of a hedged read. The primary attempt A runs on
// the caller's goroutine, so the common case costs no extra goroutine hop. If
// A has not answered within its endpoint's hedge delay, a timer goroutine
// sends attempt B to another healthy endpoint. The first response wins.
//
// A losing B is not cut at once: cancelling an HTTP/1.1 request in flight
// kills its connection, so B gets a grace period to answer and be drained
// back into the pool. A losing A must be cancelled to free the caller; that
// costs its connection, which only happens when A was slower than the hedge
// delay plus B's whole answer (a hung or very slow node).
type hedge struct {
	mu       sync.Mutex
	aDone    bool // A returned; B may no longer start
	launched bool // B started; it reports on results unless A won
	won      bool // a response was claimed
	aWon     bool
	cancelB  context.CancelFunc
	results  chan attemptResult // made when B starts; B sends at most once
}

type attemptResult struct {
	ep   *endpoints.Endpoint
	resp *http.Response
	err  error
	obs  *attemptObs // the hedge's observation, when it won
}

// hedged sends a safe read to c.ep and, after that endpoint's hedge delay,
// also to another healthy endpoint.
func (a *attemptTripper) hedged(c *call, req *http.Request) (*http.Response, error) {
	t := a.t
	epA := c.ep
	parent := req.Context()
	delay := epA.HedgeDelay(t.tune.hedgeFloor, t.tune.hedgeCap, t.tune.hedgeDefault)
	t.hedges.earn()
	h := &c.hedge
	if c.tries > 0 {
		// B of an earlier attempt may still be finishing with c.hedge.
		h = new(hedge)
	}

	var obsA *attemptObs
	if c.obs != nil {
		obsA = c.obs.beginAttempt(epA, c.tries+1)
	}
	timeout, cause := c.attemptTimeout()
	actx, cancelA := context.WithTimeoutCause(parent, timeout, cause)
	timer := time.AfterFunc(delay, func() { a.runHedge(h, req, epA, cancelA) })
	epA.Begin()
	start := time.Now()
	resp, err := a.next.RoundTrip(req.WithContext(actx))
	elapsed := time.Since(start)
	timer.Stop()

	h.mu.Lock()
	h.aDone = true
	if !h.launched {
		h.mu.Unlock()
		return a.finishPrimary(c, epA, actx, parent, cancelA, resp, err, elapsed)
	}
	if err == nil && !h.won {
		h.won, h.aWon = true, true
		cancelB := h.cancelB
		h.mu.Unlock()
		time.AfterFunc(t.loserGrace(delay), cancelB)
		return a.finishPrimary(c, epA, actx, parent, cancelA, resp, nil, elapsed)
	}
	bWon := h.won
	h.mu.Unlock()
	var errA error
	switch {
	case err == nil: // B won meanwhile; A's answer still frees its connection
		if obsA != nil {
			obsA.answered(resp)
		}
		closeBody(resp.Body)
		epA.ObserveLatency(elapsed)
	case bWon: // cancelled because B answered first: slow, not dead
		epA.ObserveSlow(elapsed)
	default:
		errA = a.attemptFailed(epA, actx, parent, err)
	}
	cancelA()
	epA.End()

	r := <-h.results
	if r.err == nil {
		c.ep = r.ep
		if c.obs != nil {
			c.obs.hedgeWon(r.obs, errA)
		}
		return r.resp, nil
	}
	if c.blames(r.err) {
		c.note(r.ep, &RequestError{Op: c.req.Op, Key: c.req.Key, Endpoint: r.ep.URL(), Err: unwrapURLError(r.err)})
	}
	return nil, errA
}

// finishPrimary completes attempt A like an unhedged attempt.
func (a *attemptTripper) finishPrimary(c *call, ep *endpoints.Endpoint, actx, parent context.Context, cancel context.CancelFunc,
	resp *http.Response, err error, elapsed time.Duration) (*http.Response, error) {
	if err != nil {
		err = a.attemptFailed(ep, actx, parent, err)
		cancel()
		ep.End()
		return nil, err
	}
	ep.ObserveLatency(elapsed)
	c.abody = attemptBody{ReadCloser: resp.Body, cancel: cancel, ep: ep}
	resp.Body = &c.abody
	if c.obs != nil {
		c.obs.cur.answered(resp)
	}
	return resp, nil
}

// loserGrace is how long a losing hedge attempt may still answer.
func (t *Transport) loserGrace(delay time.Duration) time.Duration {
	return min(max(4*delay, 100*time.Millisecond), t.cfg.RequestTimeout)
}

// hedgeCopy is attempt B of a hedged read.
type hedgeCopy struct {
	ep     *endpoints.Endpoint
	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool // disarms the caller's end cutting B
	c      *call
	obs    *attemptObs // nil when the call is not observed
}

// runHedge runs on the hedge timer's goroutine: it sends attempt B unless A
// has returned, no other healthy endpoint exists or the budget is spent.
func (a *attemptTripper) runHedge(h *hedge, req *http.Request, epA *endpoints.Endpoint, cancelA context.CancelFunc) {
	t := a.t
	b, ok := a.launchHedge(h, req, epA)
	if !ok {
		return
	}
	defer t.untrack()
	t.hedgesSent.Add(1)
	if t.cfg.Logger != nil {
		t.cfg.Logger.Debug("deimos hedged read", "slow", epA.URL(), "endpoint", b.ep.URL(), "path", req.URL.Path)
	}
	reqB := req.Clone(b.ctx)
	u := *req.URL
	u.Scheme, u.Host = b.ep.Scheme(), b.ep.Host()
	reqB.URL, reqB.Host = &u, u.Host

	b.ep.Begin()
	start := time.Now()
	resp, err := a.next.RoundTrip(reqB)
	elapsed := time.Since(start)

	h.mu.Lock()
	aWon := h.aWon
	if err == nil && !h.won {
		h.won = true
		h.mu.Unlock()
		t.primariesLost.Add(1)
		b.ep.ObserveLatency(elapsed)
		// The caller's end still cuts the body B won with (stop stays armed).
		stop, cancelB := b.stop, b.cancel
		resp.Body = &attemptBody{ReadCloser: resp.Body, cancel: func() { stop(); cancelB() }, ep: b.ep}
		cancelA() // free the caller
		if b.obs != nil {
			b.obs.answered(resp)
		}
		h.results <- attemptResult{ep: b.ep, resp: resp, obs: b.obs} // the caller tells how it ends
		return
	}
	h.mu.Unlock()
	a.hedgeLost(h, &b, req.Context(), resp, err, aWon, elapsed)
}

// launchHedge decides, under h.mu, whether B goes out, and prepares it: its
// endpoint, its context, and its observation.
func (a *attemptTripper) launchHedge(h *hedge, req *http.Request, epA *endpoints.Endpoint) (hedgeCopy, bool) {
	t := a.t
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.aDone {
		return hedgeCopy{}, false
	}
	epB := t.set.PickHealthy(epA)
	if epB == nil || !t.hedges.take() || !t.track() {
		return hedgeCopy{}, false
	}
	parent := req.Context()
	b := hedgeCopy{ep: epB, c: callFrom(parent)}
	// B outlives the caller's context once A has won: callers cancel as soon
	// as the call returns, and cutting B then would cost its connection
	// instead of granting it the loser's grace period. Until A wins, the
	// caller's end is B's end too.
	timeout, cause := b.c.attemptTimeout()
	b.ctx, b.cancel = context.WithTimeoutCause(context.WithoutCancel(parent), timeout, cause)
	cancelB := b.cancel
	b.stop = context.AfterFunc(parent, func() {
		h.mu.Lock()
		aWon := h.aWon
		h.mu.Unlock()
		if !aWon {
			cancelB()
		}
	})
	h.launched, h.cancelB, h.results = true, cancelB, make(chan attemptResult, 1)
	// Told while A cannot return yet, so B starts before its call ends, and
	// while c.tries still numbers A.
	if b.c.obs != nil {
		b.obs = b.c.obs.beginHedge(epB, b.c.tries+1)
	}
	return b, true
}

// hedgeLost ends a B that did not win: it answered after A, was cut after
// its grace period, or failed (then A's error decides what happens next).
func (a *attemptTripper) hedgeLost(h *hedge, b *hedgeCopy, parent context.Context, resp *http.Response, err error, aWon bool, elapsed time.Duration) {
	lost := observe.Superseded
	switch {
	case err == nil: // A won; B answered within the grace period
		if b.obs != nil {
			b.obs.answered(resp)
		}
		closeBody(resp.Body)
		b.ep.ObserveLatency(elapsed)
	case aWon: // cut after the grace period
		a.t.hedgesCut.Add(1)
		b.ep.ObserveSlow(elapsed)
		err = nil
	default:
		err = a.attemptFailed(b.ep, b.ctx, parent, err)
		lost = observe.Retried
		h.results <- attemptResult{ep: b.ep, err: err}
	}
	b.stop()
	b.cancel()
	b.ep.End()
	if b.obs != nil {
		b.c.obs.end(b.obs, lost, err)
	}
}

// track registers a background goroutine Close waits for; false once closed.
func (t *Transport) track() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *Transport) untrack() { t.wg.Done() }

// hedgeBudget limits hedges to about one in ten reads (with a burst), so
// that when the whole cluster is slow, hedging cannot double its load.
type hedgeBudget struct{ credit atomic.Int64 }

const (
	hedgeEarn  = 1   // credit per read
	hedgeCost  = 10  // credit per hedge
	hedgeBurst = 200 // cap: 20 hedges in a row
)

func (b *hedgeBudget) earn() {
	if b.credit.Load() < hedgeBurst {
		b.credit.Add(hedgeEarn)
	}
}

func (b *hedgeBudget) take() bool {
	for {
		c := b.credit.Load()
		if c < hedgeCost {
			return false
		}
		if b.credit.CompareAndSwap(c, c-hedgeCost) {
			return true
		}
	}
}
