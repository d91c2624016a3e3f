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
// A has not answered within the hedge delay, the hedge's timer sends attempt
// B to another healthy endpoint. The first response wins.
//
// A losing B is never cut: cancelling an HTTP/1.1 request in flight kills
// its connection, so B runs on to its answer, which is drained back into the
// pool, or to its own attempt timeout (a hung node, whose connection is lost
// anyway). A losing A must be cancelled to free the caller; that costs its
// connection, which only happens when A was slower than the hedge delay
// plus B's whole answer (a hung or very slow node).
type hedge struct {
	mu       sync.Mutex
	aDone    bool // A returned; B may no longer start
	launched bool // B started; it reports on results unless A won
	won      bool // a response was claimed
	aWon     bool
	results  chan attemptResult // made when B starts; B sends at most once

	// Set before the timer is armed, read by its goroutine.
	timer  *time.Timer // fires launch; made once, re-armed by each attempt
	c      *call
	epA    *endpoints.Endpoint
	scopeA *attemptScope // A's scope, cut when B wins
	number int           // the attempt's number, for hooks and logs
}

type attemptResult struct {
	ep   *endpoints.Endpoint
	resp *http.Response
	err  error
	obs  *attemptObs // the hedge's observation, when it won
}

// hedgeFactor: a read is hedged once it has waited this many times the
// latency within which the fastest other node answers.
const hedgeFactor = 2

// hedgeDelay is how long a read to ep may stay unanswered before it is also
// sent elsewhere: hedgeFactor times the recent high percentile of the
// fastest other healthy node, within [hedgeFloor, hedgeCap]; hedgeDefault
// while no other node has answered yet. It is relative to the other nodes,
// not to ep's own latency: under uniform load every node's tail is alike,
// and a hedge past ep's own percentile would mostly land on a node as busy,
// while a slow or hung ep is hedged as soon as the others would have
// answered.
func (t *Transport) hedgeDelay(ep *endpoints.Endpoint) time.Duration {
	d := t.set.PeerLatency(ep)
	if d == 0 {
		d = t.tune.hedgeDefault
	} else {
		d *= hedgeFactor
	}
	return min(max(d, t.tune.hedgeFloor), t.tune.hedgeCap)
}

// sendHedged sends a safe read to c.ep and, after the hedge delay, also to
// another healthy endpoint.
func (c *call) sendHedged() (*http.Response, error) {
	t, epA := c.t, c.ep
	delay := t.hedgeDelay(epA)
	t.hedges.earn()
	h := &c.hedge
	if c.dirty {
		// An earlier attempt's hedge fired: its B may still use c.hedge.
		h = new(hedge)
	}
	s := c.attemptScope()
	h.reset(c, epA, s)
	hreq, err := c.newHTTPRequest(s.requestContext(false), epA)
	if err != nil {
		return nil, err
	}
	c.logRequest(hreq, h.number)
	var obsA *attemptObs
	if c.obs != nil {
		obsA = c.obs.beginAttempt(epA, c.tries+1)
	}
	epA.Begin()
	d, opCut := c.attemptTimeout()
	s.arm(d, opCut)
	h.arm(delay)
	start := time.Now()
	resp, err := t.rt.RoundTrip(hreq)
	elapsed := time.Since(start)
	if !h.timer.Stop() {
		c.dirty = true // the hedge's goroutine ran, or runs
	}

	h.mu.Lock()
	h.aDone = true
	if !h.launched {
		h.mu.Unlock()
		return c.finishPrimary(s, hreq, resp, err, elapsed)
	}
	if err == nil && !h.won { // A first: B runs on, to be drained
		h.won, h.aWon = true, true
		h.mu.Unlock()
		return c.finishPrimary(s, hreq, resp, nil, elapsed)
	}
	bWon := h.won
	h.mu.Unlock()
	errA := c.primaryLost(s, epA, obsA, resp, err, bWon, elapsed)
	return c.hedgeResult(h, errA)
}

// finishPrimary completes attempt A like an unhedged attempt.
func (c *call) finishPrimary(s *attemptScope, hreq *http.Request, resp *http.Response, err error, elapsed time.Duration) (*http.Response, error) {
	ep := c.ep
	if err != nil {
		c.spent = !s.disarm()
		err = c.attemptFailed(ep, s.cause(), err)
		ep.End()
		return nil, err
	}
	ep.ObserveLatency(elapsed)
	c.logResponse(hreq, resp)
	c.abody = attemptBody{ReadCloser: resp.Body, call: c, ep: ep}
	resp.Body = &c.abody
	if c.obs != nil {
		c.obs.cur.answered(resp)
	}
	return resp, nil
}

// primaryLost ends an attempt A that did not win: B answered first (A
// answered later, or was cut), or A failed; it returns A's error then.
func (c *call) primaryLost(s *attemptScope, epA *endpoints.Endpoint, obsA *attemptObs, resp *http.Response, err error,
	bWon bool, elapsed time.Duration) error {
	var errA error
	switch {
	case err == nil: // B won meanwhile; A's answer still frees its connection
		if obsA != nil {
			obsA.answered(resp)
		}
		closeBody(resp.Body)
		epA.ObserveLatency(elapsed)
	case bWon: // cut because B answered first: slow, not dead
		epA.ObserveSlow(elapsed)
	default:
		errA = c.attemptFailed(epA, s.cause(), err)
	}
	if !s.disarm() || bWon {
		c.spent = true
	}
	epA.End()
	return errA
}

// hedgeResult waits for B when A lost: B's answer if it won, else A's error
// (B's is noted against its endpoint).
func (c *call) hedgeResult(h *hedge, errA error) (*http.Response, error) {
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

// reset prepares h for attempt A of c to epA in scope s.
func (h *hedge) reset(c *call, epA *endpoints.Endpoint, s *attemptScope) {
	h.aDone, h.launched, h.won, h.aWon, h.results = false, false, false, false, nil
	h.c, h.epA, h.scopeA, h.number = c, epA, s, c.tries+1
}

// arm starts the hedge timer.
func (h *hedge) arm(delay time.Duration) {
	if h.timer == nil {
		h.timer = time.AfterFunc(delay, h.fire)
		return
	}
	h.timer.Reset(delay)
}

// hedgeCopy is attempt B of a hedged read.
type hedgeCopy struct {
	ep         *endpoints.Endpoint
	ctx        context.Context
	cancel     context.CancelFunc
	stopCaller func() bool // disarms the caller's end cutting B
	stopClose  func() bool // disarms Close cutting B
	obs        *attemptObs // nil when the call is not observed
}

// end releases B's context and what watches it.
func (b *hedgeCopy) end() {
	b.stopCaller()
	b.stopClose()
	b.cancel()
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
	start := time.Now()
	resp, err := c.sendCopy(&b, h.number)
	elapsed := time.Since(start)

	h.mu.Lock()
	aWon := h.aWon
	if err == nil && !h.won {
		h.won = true
		h.mu.Unlock()
		t.primariesLost.Add(1)
		b.ep.ObserveLatency(elapsed)
		// The caller's end still cuts the body B won with (stopCaller stays armed).
		resp.Body = &attemptBody{ReadCloser: resp.Body, cancel: b.end, ep: b.ep}
		h.scopeA.cut() // free the caller
		if b.obs != nil {
			b.obs.answered(resp)
		}
		h.results <- attemptResult{ep: b.ep, resp: resp, obs: b.obs} // the caller tells how it ends
		return
	}
	h.mu.Unlock()
	h.lost(&b, resp, err, aWon, elapsed)
}

// sendCopy sends B, which belongs to attempt number of c. It runs on the
// hedge's goroutine and reads only what stays put during the call.
func (c *call) sendCopy(b *hedgeCopy, number int) (*http.Response, error) {
	hreq, err := c.newHTTPRequest(b.ctx, b.ep)
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
func (h *hedge) launch() (hedgeCopy, bool) {
	c := h.c
	t := c.t
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.aDone {
		return hedgeCopy{}, false
	}
	epB := t.set.PickHealthy(h.epA)
	if epB == nil || !t.hedges.take() || !t.track() {
		return hedgeCopy{}, false
	}
	b := hedgeCopy{ep: epB}
	// B outlives the caller's context once A has won: callers cancel as soon
	// as the call returns, and cutting B then would cost its connection.
	// Until A wins, the caller's end is B's end too. Close always ends it.
	d, opCut := c.attemptTimeout()
	b.ctx, b.cancel = context.WithTimeoutCause(context.WithoutCancel(c.ctx), d, c.attemptCause(opCut))
	cancelB := b.cancel
	b.stopCaller = context.AfterFunc(c.ctx, func() {
		h.mu.Lock()
		aWon := h.aWon
		h.mu.Unlock()
		if !aWon {
			cancelB()
		}
	})
	b.stopClose = context.AfterFunc(t.ctx, cancelB)
	h.launched, h.results = true, make(chan attemptResult, 1)
	if c.obs != nil {
		b.obs = c.obs.beginHedge(epB, h.number)
	}
	return b, true
}

// lost ends a B that did not win: it answered after A, ran out its own
// time after A won, or failed (then A's error decides what happens next).
func (h *hedge) lost(b *hedgeCopy, resp *http.Response, err error, aWon bool, elapsed time.Duration) {
	c := h.c
	t := c.t
	outcome := observe.Superseded
	switch {
	case err == nil: // A won; B's answer goes back to the pool
		if b.obs != nil {
			b.obs.answered(resp)
		}
		closeBody(resp.Body)
		b.ep.ObserveLatency(elapsed)
		t.hedges.wasted()
	case aWon: // A won and B never answered (or Close ended it): slow, not dead
		t.hedgesCut.Add(1)
		b.ep.ObserveSlow(elapsed)
		t.hedges.wasted()
		err = nil
	default:
		err = c.attemptFailed(b.ep, context.Cause(b.ctx), err)
		outcome = observe.Retried
		h.results <- attemptResult{ep: b.ep, err: err}
	}
	b.end()
	b.ep.End()
	if b.obs != nil {
		c.obs.end(b.obs, outcome, err)
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
// that when the whole cluster is slow, hedging cannot double its load. A
// hedge that lost (its primary answered first) costs more again: when the
// whole cluster is uniformly loaded, hedges mostly lose, and their share
// falls to about one in thirty reads.
type hedgeBudget struct{ credit atomic.Int64 }

const (
	hedgeEarn  = 1   // credit per read
	hedgeCost  = 10  // credit per hedge
	hedgeWaste = 20  // credit more per hedge that lost
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

func (b *hedgeBudget) wasted() { b.credit.Add(-hedgeWaste) }
