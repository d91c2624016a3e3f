package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/observe"
)

// call is the state of one Do across its attempts. Only the goroutine running
// Do touches it (hedge goroutines report through their own state).
//
// A call is also the context of its HTTP requests: it wraps the caller's
// context and answers Value(callKey{}) with itself, which is how
// retryablehttp's policies and the round tripper find it without another
// allocation per request.
type call struct {
	context.Context // the caller's

	t     *Transport
	req   *Request
	out   any
	ep    *endpoints.Endpoint
	tries int
	// opDeadline ends the call when its context has no deadline (see
	// bound); zero when the context or nothing bounds it.
	opDeadline time.Time

	resp    Response    // returned by Do on success
	body    capReader   // bounds the body being decoded
	hedge   hedge       // the first attempt's hedge state
	abody   attemptBody // the body of the current unhedged attempt
	result  *Response
	obs     *opObs                      // nil unless hooks watch operations
	failure error                       // error of the current attempt, named with request and endpoint
	errs    []EndpointError             // last error of each endpoint that failed
	last    attemptOutcome              // how the last attempt that ended came out
	judged  bool                        // last is set
	backoff *backoff.ExponentialBackOff // paces retries after the first; made on first use

	// connected is set when the current attempt of a write got a
	// connection (trace.GotConn); without one nothing was sent.
	connected atomic.Bool
	trace     httptrace.ClientTrace
}

type callKey struct{}

// Value returns the call itself for callKey{}.
func (c *call) Value(key any) any {
	if _, ok := key.(callKey); ok {
		return c
	}
	return c.Context.Value(key)
}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// Do sends req and, on a 2xx answer with a body, decodes the first JSON value
// into out (ignored when nil; a *[]byte receives the raw body instead). Non-2xx
// answers become errors (*Error for server JSON errors).
func (t *Transport) Do(ctx context.Context, req *Request, out any) (*Response, error) {
	if t.closed.Load() {
		return nil, ErrClosed
	}
	if err := t.check(req); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &RequestError{Op: req.Op, Key: req.Key, Err: err}
	}
	c := &call{Context: ctx, t: t, req: req, out: out}
	c.bound()
	if req.Class == Unsafe {
		c.trace.GotConn = func(httptrace.GotConnInfo) { c.connected.Store(true) }
	}
	c.ep = t.set.Pick(nil)
	hreq, err := t.newHTTPRequest(c, c.ep.URL())
	if err != nil {
		return nil, &RequestError{Op: req.Op, Key: req.Key, Endpoint: c.ep.URL(), Err: err}
	}
	hreq.SetResponseHandler(handleResponse)
	if t.obs != nil && t.obs.ops {
		c.obs = t.obs.startOp(ctx, req, hreq.ContentLength)
	}
	resp, err := t.rc.Do(hreq)
	if err == nil {
		// c.handle decoded and closed the body.
		_ = resp
		if c.obs != nil {
			c.obs.finish(c, nil)
		}
		return c.result, nil
	}
	if resp != nil {
		resp.Body.Close()
	}
	err = c.finalError(err)
	if c.obs != nil {
		c.obs.finish(c, err)
	}
	return nil, err
}

func (t *Transport) check(req *Request) error {
	if req == nil {
		return errors.New("deimos: nil request")
	}
	if !validMethod(req.Method) {
		return fmt.Errorf("deimos: %s %s: unsupported method %q", req.Op, clip(req.Key), clip(req.Method))
	}
	if !validPath(req.Path) {
		return fmt.Errorf("deimos: %s %s: invalid request path %q", req.Op, clip(req.Key), clip(req.Path))
	}
	if req.Class > LongPoll {
		return fmt.Errorf("deimos: %s %s: unknown request class %d", req.Op, clip(req.Key), req.Class)
	}
	return nil
}

// note remembers err as the last error of endpoint ep.
func (c *call) note(ep *endpoints.Endpoint, err error) {
	for i := range c.errs {
		if c.errs[i].Endpoint == ep.URL() {
			c.errs[i].Err = err
			return
		}
	}
	c.errs = append(c.errs, EndpointError{Endpoint: ep.URL(), Err: err})
}

// finalError is the error Do returns: the verdict on the last attempt,
// now that the call ended (the caller's context may have ended meanwhile,
// or the transport closed). err is retryablehttp's, for a call that ended
// before any attempt was judged.
func (c *call) finalError(err error) error {
	o := c.last
	if !c.judged {
		if c.t.closed.Load() {
			return ErrClosed
		}
		o = c.outcome(&RequestError{Op: c.req.Op, Key: c.req.Key, Endpoint: c.ep.URL(), Err: err})
	}
	o.ended = c.ended()
	o.last = o.last || c.t.closed.Load()
	o.tried = c.errs
	_, _, verr := verdict(c.req.Class, o)
	return verr
}

// checkRetry is retryablehttp's CheckRetry: it names the failed attempt's
// error, records it against the endpoint, and asks the verdict whether to
// try again on another endpoint.
func (t *Transport) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	c := callFrom(ctx)
	if c == nil || err == nil {
		// A response without error goes to the response handler, which
		// decodes and classifies it; its error comes back here.
		return false, nil
	}
	c.failure = c.attemptError(err)
	if c.blames(c.failure) {
		c.note(c.ep, c.failure)
	}
	c.last, c.judged = c.outcome(c.failure), true
	retry, _, _ := verdict(c.req.Class, c.last)
	if retry {
		t.observeRetry(c, c.failure)
	}
	return retry, nil
}

// observeRetry tells the hooks and the log that the failed attempt is tried
// again; the last attempt of a call is told by Do, with the call's outcome.
func (t *Transport) observeRetry(c *call, err error) {
	if c.obs != nil {
		c.obs.endCurrent(observe.Retried, err)
	}
	if t.obs != nil {
		t.obs.retrying(c, err)
	}
}

// attemptError names a transport error with the request and endpoint. Errors from the response handler arrive
// already classified.
func (c *call) attemptError(err error) error {
	var re *ResponseError
	var se *Error
	var qe *RequestError
	if errors.As(err, &re) || errors.As(err, &se) || errors.As(err, &qe) {
		return err
	}
	return &RequestError{Op: c.req.Op, Key: c.req.Key, Endpoint: c.ep.URL(), Err: unwrapURLError(err)}
}

// prepareRetry is retryablehttp's PrepareRetry: after the call's pause, the
// next attempt goes to another endpoint.
func (t *Transport) prepareRetry(req *http.Request) error {
	c := callFrom(req.Context())
	if c == nil {
		return nil
	}
	if t.closed.Load() {
		return ErrClosed
	}
	if err := c.pause(); err != nil {
		return err
	}
	if err := c.ended(); err != nil {
		return err // the operation timeout elapsed during the pause
	}
	c.tries++
	c.ep = t.set.Pick(c.ep)
	c.failure = nil
	u := *req.URL
	u.Scheme, u.Host = c.ep.Scheme(), c.ep.Host()
	req.URL = &u
	req.Host = u.Host
	return nil
}
