package transport

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
)

// attemptTripper sits between retryablehttp and the real round tripper. Each
// RoundTrip is one attempt of a call: it gets its own timeout, it is hedged
// when the call is a safe read, and its latency and failure feed the
// endpoint's health score.
type attemptTripper struct {
	t    *Transport
	next http.RoundTripper
}

// errAttemptTimeout is the cancellation cause of an attempt's own deadline.
var errAttemptTimeout = ErrAttemptTimeout

func (a *attemptTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	c := callFrom(req.Context())
	if c == nil {
		return a.next.RoundTrip(req)
	}
	if c.req.Class == Safe && !a.t.cfg.DisableHedging && a.t.set.Len() > 1 {
		return a.hedged(c, req)
	}
	return a.single(c, req)
}

// single sends one attempt to c.ep.
func (a *attemptTripper) single(c *call, req *http.Request) (*http.Response, error) {
	ep := c.ep
	parent := req.Context()
	var actx context.Context
	var cancel context.CancelFunc
	var headerTimer *time.Timer
	var cancelCause context.CancelCauseFunc
	if c.req.Class == LongPoll {
		// Only the wait for the headers is bounded; the event may take minutes.
		actx, cancelCause = context.WithCancelCause(parent)
		cancel = func() { cancelCause(context.Canceled) }
		headerTimer = time.AfterFunc(a.t.cfg.RequestTimeout, func() { cancelCause(errAttemptTimeout) })
	} else {
		timeout, cause := c.attemptTimeout()
		actx, cancel = context.WithTimeoutCause(parent, timeout, cause)
	}
	if c.req.Class == Unsafe {
		// Whether this attempt got a connection tells a write that never
		// left (a dial or handshake cut by the attempt timeout) from one
		// that may have reached the server.
		c.connected.Store(false)
		actx = httptrace.WithClientTrace(actx, &c.trace)
	}
	var obs *attemptObs
	if c.obs != nil {
		obs = c.obs.beginAttempt(ep, c.tries+1)
	}
	ep.Begin()
	start := time.Now()
	resp, err := a.next.RoundTrip(req.WithContext(actx))
	elapsed := time.Since(start)
	if headerTimer != nil {
		headerTimer.Stop()
	}
	if err != nil {
		err = a.attemptFailed(ep, actx, parent, err)
		cancel()
		ep.End()
		return nil, err
	}
	if c.req.Class == LongPoll {
		a.t.guardLongPoll(actx, cancelCause, ep)
	} else {
		ep.ObserveLatency(elapsed)
	}
	// Attempts of an unhedged call are sequential and each body is closed
	// before the next attempt, so the call's own attemptBody can be reused.
	c.abody = attemptBody{ReadCloser: resp.Body, cancel: cancel, ep: ep}
	resp.Body = &c.abody
	if obs != nil {
		obs.answered(resp)
	}
	return resp, nil
}

// attemptFailed names the error of an attempt that got no response and
// records it against ep, unless the caller's context ended (not ep's fault).
func (a *attemptTripper) attemptFailed(ep *endpoints.Endpoint, actx, parent context.Context, err error) error {
	if parent.Err() != nil {
		return err
	}
	switch cause := context.Cause(actx); cause {
	case errAttemptTimeout:
		err = fmt.Errorf("%w (%s)", ErrAttemptTimeout, a.t.cfg.RequestTimeout)
	case a.t.opTimeout:
		return cause // the call's own bound, not the endpoint's fault
	}
	a.t.set.Failure(ep, err, true)
	return err
}

// attemptBody ends the attempt (its context and its in-flight mark) when the
// body is closed, so the attempt timeout also bounds reading the body.
type attemptBody struct {
	io.ReadCloser
	cancel context.CancelFunc
	ep     *endpoints.Endpoint
	ended  atomic.Bool
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	if !b.ended.Swap(true) {
		b.cancel()
		b.ep.End()
	}
	return err
}
