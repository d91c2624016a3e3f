package transport

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
)

// hedge is the shared state of a hedged read: attempt A goes to the picked
// endpoint and, if it has not answered within the hedge delay, the hedge's
// timer sends attempt B to another healthy endpoint. The first response
// wins.
//
// A losing copy is never cut if it can be helped: cancelling an HTTP/1.1
// request in flight kills its connection, so a loser runs on to its answer,
// which is drained back into the pool, or to its own attempt timeout (a
// hung node, whose connection is lost anyway). Where A runs decides whether
// it can be spared:
//
//   - Inline, when a hedge is unlikely (A's endpoint recently answered
//     within the hedge delay, or the budget allows no hedge): A runs on the
//     caller's goroutine, in the call's attempt scope, so the common case
//     costs no goroutine, context or allocation of its own. If B wins
//     anyway, A must be cut to free the caller, which costs its connection.
//   - Detached, when a hedge is likely (A's endpoint's own recent high
//     percentile exceeds the hedge delay): A runs off the caller's goroutine
//     like B, in a context of its own (see hedge.detach), and the caller
//     waits for the first answer (hedgeResult). A losing A then runs on and
//     is drained, as a losing B is. This costs a goroutine and a context,
//     spent only where a hedge would otherwise cost a connection.
type hedge struct {
	mu       sync.Mutex
	aDone    bool // A returned; B may no longer start
	aFailed  bool // a detached A failed before B won: its failure is sent
	launched bool // B started; it reports on results unless A won
	won      bool // a response was claimed
	aWon     bool
	results  chan attemptResult // made when B starts, or A detaches; each copy sends at most once

	// Set before the timer is armed, read by its goroutine.
	timer  *time.Timer // fires launch; made once, re-armed by each attempt
	c      *call
	epA    *endpoints.Endpoint
	scopeA *attemptScope // an inline A's scope, cut when B wins; nil when A is detached
	number int           // the attempt's number, for hooks and logs
}

type attemptResult struct {
	ep      *endpoints.Endpoint
	resp    *http.Response
	err     error
	obs     *attemptObs // the copy's observation: when it won, or a detached A's failure
	primary bool        // from a detached A
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
// another healthy endpoint. A runs on the caller's goroutine unless a hedge
// is likely (see hedge).
func (c *call) sendHedged() (*http.Response, error) {
	t, epA := c.t, c.ep
	delay := t.hedgeDelay(epA)
	t.hedges.earn()
	h := &c.hedge
	if c.dirty {
		// An earlier attempt's hedge fired: its B may still use c.hedge.
		h = new(hedge)
	}
	if epA.RecentHigh() > delay && t.hedges.affordable() && t.track() {
		return c.sendDetached(h, delay)
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
	return c.hedgeResult(h, errA, false)
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

// hedgeResult waits for what the copies still out report: the first answer
// wins; once every copy failed, A's error is the attempt's (B's is noted
// against its endpoint). aPending says A is detached and has not reported;
// otherwise A already lost (errA is its error, if it failed) and B is out.
func (c *call) hedgeResult(h *hedge, errA error, aPending bool) (*http.Response, error) {
	bFailed := false
	for {
		r := <-h.results
		switch {
		case r.err == nil:
			if aPending && !r.primary && h.primaryFailed() {
				errA = c.primaryFailure(<-h.results) // sent before B won: it is next
			}
			c.ep = r.ep
			if c.obs != nil {
				c.obs.hedgeWon(r.obs, errA)
			}
			return r.resp, nil
		case r.primary:
			errA, aPending = c.primaryFailure(r), false
			if bFailed || !h.hedgeLaunched() {
				return nil, errA
			}
		default:
			if c.blames(r.err) {
				c.note(r.ep, &RequestError{Op: c.req.Op, Key: c.req.Key, Endpoint: r.ep.URL(), Err: unwrapURLError(r.err)})
			}
			bFailed = true
			if !aPending {
				return nil, errA
			}
		}
	}
}

// primaryFailure takes the failure of a detached A: its observation becomes
// the current one, which the retry decision or the call's end tells.
func (c *call) primaryFailure(r attemptResult) error {
	if c.obs != nil {
		c.obs.cur = r.obs
	}
	return r.err
}

// primaryFailed reports whether a detached A failed before B won.
func (h *hedge) primaryFailed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.aFailed
}

// hedgeLaunched reports whether B went out; final once A returned.
func (h *hedge) hedgeLaunched() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.launched
}

// reset prepares h for attempt A of c to epA in scope s.
func (h *hedge) reset(c *call, epA *endpoints.Endpoint, s *attemptScope) {
	h.aDone, h.aFailed, h.launched, h.won, h.aWon, h.results = false, false, false, false, false, nil
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

// affordable reports whether take would now succeed.
func (b *hedgeBudget) affordable() bool { return b.credit.Load() >= hedgeCost }

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
