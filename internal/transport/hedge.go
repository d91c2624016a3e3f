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
	actx, cancelA := context.WithTimeoutCause(parent, t.cfg.RequestTimeout, errAttemptTimeout)
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
	if parent.Err() == nil {
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

// runHedge runs on the hedge timer's goroutine: it sends attempt B unless A
// has returned, no other healthy endpoint exists or the budget is spent.
func (a *attemptTripper) runHedge(h *hedge, req *http.Request, epA *endpoints.Endpoint, cancelA context.CancelFunc) {
	t := a.t
	h.mu.Lock()
	if h.aDone {
		h.mu.Unlock()
		return
	}
	epB := t.set.PickHealthy(epA)
	if epB == nil || !t.hedges.take() || !t.track() {
		h.mu.Unlock()
		return
	}
	defer t.untrack()
	parent := req.Context()
	// B outlives the caller's context once A has won: callers cancel as soon
	// as the call returns, and cutting B then would cost its connection
	// instead of granting it the loser's grace period. Until A wins, the
	// caller's end is B's end too.
	bctx, cancelB := context.WithTimeoutCause(context.WithoutCancel(parent), t.cfg.RequestTimeout, errAttemptTimeout)
	stop := context.AfterFunc(parent, func() {
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
	c := callFrom(parent)
	var obs *attemptObs
	if c.obs != nil {
		obs = c.obs.beginHedge(epB, c.tries+1)
	}
	h.mu.Unlock()
	t.hedgesSent.Add(1)

	if t.cfg.Logger != nil {
		t.cfg.Logger.Debug("deimos hedged read", "slow", epA.URL(), "endpoint", epB.URL(), "path", req.URL.Path)
	}
	reqB := req.Clone(bctx)
	u := *req.URL
	u.Scheme, u.Host = epB.Scheme(), epB.Host()
	reqB.URL, reqB.Host = &u, u.Host

	epB.Begin()
	start := time.Now()
	resp, err := a.next.RoundTrip(reqB)
	elapsed := time.Since(start)

	h.mu.Lock()
	aWon := h.aWon
	if err == nil && !h.won {
		h.won = true
		h.mu.Unlock()
		t.primariesLost.Add(1)
		epB.ObserveLatency(elapsed)
		// The caller's end still cuts the body B won with (stop stays armed).
		resp.Body = &attemptBody{ReadCloser: resp.Body, cancel: func() { stop(); cancelB() }, ep: epB}
		cancelA() // free the caller
		if obs != nil {
			obs.answered(resp)
		}
		h.results <- attemptResult{ep: epB, resp: resp, obs: obs} // the caller tells how it ends
		return
	}
	h.mu.Unlock()
	lost := observe.Superseded
	switch {
	case err == nil: // A won; B answered within the grace period
		if obs != nil {
			obs.answered(resp)
		}
		closeBody(resp.Body)
		epB.ObserveLatency(elapsed)
	case aWon: // cut after the grace period
		t.hedgesCut.Add(1)
		epB.ObserveSlow(elapsed)
		err = nil
	default: // failed while A still runs, or failed too: A's error decides
		err = a.attemptFailed(epB, bctx, parent, err)
		lost = observe.Retried
		h.results <- attemptResult{ep: epB, err: err}
	}
	stop()
	cancelB()
	epB.End()
	if obs != nil {
		c.obs.end(obs, lost, err)
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
