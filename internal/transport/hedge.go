package transport

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
)

// hedge is the shared state of a hedged attempt: the primary attempt A runs on
// the caller's goroutine; if it has not answered within the hedge delay, a
// second attempt B goes to another healthy endpoint. The first response wins
// and the other attempt is cancelled.
type hedge struct {
	mu       sync.Mutex
	aDone    bool // A returned; no hedge may start any more
	launched bool
	winner   int // 0 none yet, 1 A, 2 B
	cancelA  context.CancelFunc
	cancelB  context.CancelFunc

	// Written by B before done is closed.
	epB   *endpoints.Endpoint
	respB *http.Response
	errB  error
	done  chan struct{}
}

const (
	winnerNone = iota
	winnerA
	winnerB
)

// hedged sends a safe read to c.ep and, after that endpoint's hedge delay,
// also to another healthy endpoint.
func (a *attemptTripper) hedged(c *call, req *http.Request) (*http.Response, error) {
	t := a.t
	epA := c.ep
	parent := req.Context()
	delay := epA.HedgeDelay(t.tune.hedgeFloor, t.tune.hedgeCap, t.tune.hedgeDefault)

	actx, cancelA := context.WithTimeoutCause(parent, t.cfg.RequestTimeout, errAttemptTimeout)
	h := &hedge{cancelA: cancelA}
	timer := time.AfterFunc(delay, func() { a.runHedge(h, req, epA) })

	epA.Begin()
	start := time.Now()
	resp, err := a.next.RoundTrip(req.WithContext(actx))
	elapsed := time.Since(start)
	timer.Stop()

	h.mu.Lock()
	h.aDone = true
	if !h.launched {
		h.mu.Unlock()
		return a.finishPrimary(epA, actx, parent, cancelA, resp, err, elapsed)
	}
	if err == nil && h.winner == winnerNone {
		h.winner = winnerA
		cancelB := h.cancelB
		h.mu.Unlock()
		cancelB()
		epA.ObserveLatency(elapsed)
		resp.Body = newAttemptBody(resp.Body, cancelA, epA)
		return resp, nil
	}
	bWon := h.winner == winnerB
	h.mu.Unlock()
	var errA error
	switch {
	case err == nil: // B won the race, A answered too late
		resp.Body.Close()
		epA.ObserveLatency(elapsed)
	case bWon: // A was cancelled because B answered first
		epA.ObserveSlow(elapsed)
	default:
		errA = a.attemptFailed(epA, actx, parent, err)
	}
	cancelA()
	epA.End()

	<-h.done
	if h.winner == winnerB {
		c.ep = h.epB
		return h.respB, nil
	}
	if h.errB != nil && parent.Err() == nil {
		c.note(h.epB, &RequestError{Op: c.req.Op, Key: c.req.Key, Endpoint: h.epB.URL(), Err: unwrapURLError(h.errB)})
	}
	return nil, errA
}

// finishPrimary completes an attempt that was never hedged, like single.
func (a *attemptTripper) finishPrimary(ep *endpoints.Endpoint, actx, parent context.Context, cancel context.CancelFunc,
	resp *http.Response, err error, elapsed time.Duration) (*http.Response, error) {
	if err != nil {
		err = a.attemptFailed(ep, actx, parent, err)
		cancel()
		ep.End()
		return nil, err
	}
	ep.ObserveLatency(elapsed)
	resp.Body = newAttemptBody(resp.Body, cancel, ep)
	return resp, nil
}

// runHedge runs on the hedge timer's goroutine: it sends attempt B unless A
// has already returned or no other healthy endpoint exists.
func (a *attemptTripper) runHedge(h *hedge, req *http.Request, epA *endpoints.Endpoint) {
	t := a.t
	h.mu.Lock()
	if h.aDone {
		h.mu.Unlock()
		return
	}
	epB := t.set.PickHealthy(epA)
	if epB == nil || !t.track() {
		h.mu.Unlock()
		return
	}
	defer t.untrack()
	parent := req.Context()
	bctx, cancelB := context.WithTimeoutCause(parent, t.cfg.RequestTimeout, errAttemptTimeout)
	h.launched, h.epB, h.cancelB, h.done = true, epB, cancelB, make(chan struct{})
	h.mu.Unlock()
	defer close(h.done)

	reqB := req.Clone(bctx)
	u := *req.URL
	u.Scheme, u.Host = epB.Scheme(), epB.Host()
	reqB.URL, reqB.Host = &u, u.Host
	if t.cfg.Logger != nil {
		t.cfg.Logger.Debug("deimos hedged read", "endpoint", epB.URL(), "slow", epA.URL(), "path", req.URL.Path)
	}

	epB.Begin()
	start := time.Now()
	resp, err := a.next.RoundTrip(reqB)
	elapsed := time.Since(start)

	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil && h.winner == winnerNone:
		h.winner = winnerB
		epB.ObserveLatency(elapsed)
		h.respB = resp
		resp.Body = newAttemptBody(resp.Body, cancelB, epB)
		h.cancelA()
		return
	case err == nil: // A won meanwhile
		resp.Body.Close()
		epB.ObserveLatency(elapsed)
	case h.winner == winnerA: // cancelled because A answered
		epB.ObserveSlow(elapsed)
	default:
		h.errB = a.attemptFailed(epB, bctx, parent, err)
	}
	cancelB()
	epB.End()
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
