package transport

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
)

// hedge is the shared state of a hedged read. The primary attempt goes to
// the chosen endpoint; if it has not answered within that endpoint's hedge
// delay, a second attempt goes to another healthy endpoint. The first
// response wins. The loser is not cut at once: cancelling an HTTP/1.1 request
// in flight kills its connection, so a loser that answers within a grace
// period is drained and its connection goes back to the pool; only a loser
// that stays silent (a hung node) is cancelled.
type hedge struct {
	a       *attemptTripper
	mu      sync.Mutex
	won     bool // a response was claimed; later ones are losers
	results chan attemptResult
}

type attemptResult struct {
	ep   *endpoints.Endpoint
	resp *http.Response
	err  error
}

// hedged sends a safe read to c.ep and, after that endpoint's hedge delay,
// also to another healthy endpoint.
func (a *attemptTripper) hedged(c *call, req *http.Request) (*http.Response, error) {
	t := a.t
	epA := c.ep
	delay := epA.HedgeDelay(t.tune.hedgeFloor, t.tune.hedgeCap, t.tune.hedgeDefault)
	t.hedges.earn()
	h := &c.hedge
	if c.tries > 0 {
		// Losers of an earlier attempt may still report to c.hedge.
		h = new(hedge)
	}
	h.a, h.results = a, make(chan attemptResult, 2)

	cancelA := h.launch(req, epA)
	timer := getTimer(delay)
	var r attemptResult
	select {
	case r = <-h.results:
		putTimer(timer)
		return a.settle(c, r)
	case <-timer.C:
		putTimer(timer)
	}

	// No answer within the delay: hedge, when another healthy endpoint exists
	// and the budget allows.
	h.mu.Lock()
	won := h.won
	h.mu.Unlock()
	var epB *endpoints.Endpoint
	if !won {
		epB = t.set.PickHealthy(epA)
	}
	if epB == nil || !t.hedges.take() {
		return a.settle(c, <-h.results)
	}
	if t.cfg.Logger != nil {
		t.cfg.Logger.Debug("deimos hedged read", "slow", epA.URL(), "endpoint", epB.URL(), "path", req.URL.Path)
	}
	u := *req.URL
	u.Scheme, u.Host = epB.Scheme(), epB.Host()
	reqB := req.Clone(req.Context())
	reqB.URL, reqB.Host = &u, u.Host
	cancelB := h.launch(reqB, epB)

	var first error
	for pending := 2; pending > 0; pending-- {
		r = <-h.results
		if r.err == nil {
			// Give the loser a grace period to answer (its connection is then
			// reused), then cut it.
			loser := cancelB
			if r.ep == epB {
				loser = cancelA
			}
			time.AfterFunc(t.loserGrace(delay), loser)
			c.ep = r.ep
			return r.resp, nil
		}
		if r.ep == epA {
			first = r.err
		} else if req.Context().Err() == nil {
			c.note(epB, &RequestError{Op: c.req.Op, Key: c.req.Key, Endpoint: epB.URL(), Err: unwrapURLError(r.err)})
		}
	}
	return nil, first
}

// loserGrace is how long a losing hedge attempt may still answer.
func (t *Transport) loserGrace(delay time.Duration) time.Duration {
	return min(max(4*delay, 100*time.Millisecond), t.cfg.RequestTimeout)
}

// settle returns the only attempt's result to retryablehttp.
func (a *attemptTripper) settle(c *call, r attemptResult) (*http.Response, error) {
	c.ep = r.ep
	return r.resp, r.err
}

// attempt is one in-flight read of a hedge, run on its own goroutine.
type attempt struct {
	h      *hedge
	ep     *endpoints.Endpoint
	req    *http.Request
	actx   context.Context
	cancel context.CancelFunc
	body   attemptBody
}

// launch starts one attempt of the read on ep in its own goroutine and
// returns its cancel function. The attempt reports to h.results unless it
// lost: a losing response is drained and closed right there.
func (h *hedge) launch(req *http.Request, ep *endpoints.Endpoint) context.CancelFunc {
	at := &attempt{h: h, ep: ep}
	at.actx, at.cancel = context.WithTimeoutCause(req.Context(), h.a.t.cfg.RequestTimeout, errAttemptTimeout)
	at.req = req.WithContext(at.actx)
	// Close waits for tracked attempts; one started while closing runs
	// untracked, bounded by its timeout anyway.
	tracked := h.a.t.track()
	ep.Begin()
	go at.run(tracked)
	return at.cancel
}

func (at *attempt) run(tracked bool) {
	h, a, ep := at.h, at.h.a, at.ep
	if tracked {
		defer a.t.untrack()
	}
	start := time.Now()
	resp, err := a.next.RoundTrip(at.req)
	elapsed := time.Since(start)
	h.mu.Lock()
	lost := h.won
	if err == nil && !lost {
		h.won = true
	}
	h.mu.Unlock()
	switch {
	case err == nil && !lost:
		ep.ObserveLatency(elapsed)
		at.body = attemptBody{ReadCloser: resp.Body, cancel: at.cancel, ep: ep}
		resp.Body = &at.body
		h.results <- attemptResult{ep: ep, resp: resp}
		return
	case err == nil: // answered, but too late: keep the connection
		closeBody(resp.Body)
		ep.ObserveLatency(elapsed)
	case lost: // cut after the grace period: slow, not dead
		ep.ObserveSlow(elapsed)
	default:
		err = a.attemptFailed(ep, at.actx, at.req.Context(), err)
		h.results <- attemptResult{ep: ep, err: err}
	}
	at.cancel()
	ep.End()
}

var timers sync.Pool

// getTimer returns a stopped-and-drained or new timer set to d.
func getTimer(d time.Duration) *time.Timer {
	if t, ok := timers.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

// putTimer stops t and keeps it for reuse. Since Go 1.23 a stopped timer's
// channel holds no stale value, so Reset after Stop is safe.
func putTimer(t *time.Timer) {
	t.Stop()
	timers.Put(t)
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
