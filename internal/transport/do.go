package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/observe"
)

// call is the state of one Do across its attempts. It belongs to the
// goroutine running Do; a hedge's goroutine shares only its hedge state,
// under hedge.mu (hedge.go).
//
// Calls are pooled: the steady state of a request allocates nothing here.
// A call goes back to the pool only when nothing can touch it any more (see
// recycle): a call that sent a hedge, or whose attempt timer fired, is left
// to the garbage collector.
type call struct {
	t     *Transport
	ctx   context.Context // the caller's
	req   *Request
	out   any
	form  string // the encoded parameters: PUT and POST body
	query string // the encoded parameters: GET and DELETE query
	ep    *endpoints.Endpoint
	tries int
	// opDeadline ends the call when its context has no deadline (see
	// bound); zero when the context or nothing bounds it.
	opDeadline time.Time

	scope   *attemptScope // the context attempts run in (scope.go); nil until the first
	spent   bool          // scope ended (its timer fired, or a hedge cut it): not reusable
	dirty   bool          // a goroutine other than Do's may still touch the call
	hedge   hedge         // the hedge state of the first hedged attempt (hedge.go)
	abody   attemptBody   // the body of the current unhedged attempt
	body    capReader     // bounds the body being decoded
	resp    Response      // filled by handle on success
	obs     *opObs        // nil unless hooks watch operations
	failure error         // error of the current attempt, named with request and endpoint
	errs    []EndpointError
	last    attemptOutcome              // how the last attempt came out
	backoff *backoff.ExponentialBackOff // paces retries after the first; made on first use
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
	c := t.newCall(ctx, req, out)
	resp, err := c.run()
	t.recycle(c)
	return resp, err
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

// run makes attempts until the verdict ends the call.
func (c *call) run() (*Response, error) {
	t := c.t
	if c.req.Endpoint != "" {
		c.ep = t.set.Healthy(c.req.Endpoint)
	}
	if c.ep == nil {
		c.ep = t.set.Pick(nil)
	}
	if t.obs != nil && t.obs.ops {
		c.obs = t.obs.startOp(c.ctx, c.req, int64(len(c.form)))
	}
	for {
		err := c.attempt()
		if err == nil {
			resp := new(Response)
			*resp = c.resp
			c.finish(nil)
			return resp, nil
		}
		retry, err := c.judge(err)
		if !retry {
			c.finish(err)
			return nil, err
		}
		t.observeRetry(c, c.failure)
		if err := c.prepareRetry(); err != nil {
			err = c.finalError()
			c.finish(err)
			return nil, err
		}
	}
}

// attempt sends one attempt to c.ep and decodes its answer.
func (c *call) attempt() error {
	resp, err := c.send()
	if err != nil {
		return err
	}
	return c.handle(resp)
}

// judge names the failed attempt's error, records it against the endpoint
// and asks the verdict whether to try again; without a retry, the error is
// the call's.
func (c *call) judge(err error) (retry bool, _ error) {
	c.failure = c.attemptError(err)
	if c.blames(c.failure) {
		c.note(c.ep, c.failure)
	}
	c.last = c.outcome(c.failure)
	retry, _, err = c.t.policy.judge(c.req.Class, c.last)
	return retry, err
}

// prepareRetry pauses and moves the call to its next endpoint; it returns
// why the call may not go on instead, if it may not.
func (c *call) prepareRetry() error {
	if c.t.closed.Load() {
		return ErrClosed
	}
	if err := c.pause(); err != nil {
		return err
	}
	if err := c.ended(); err != nil {
		return err // the operation timeout elapsed during the pause
	}
	c.tries++
	c.ep = c.t.policy.next(c.t.set, c.ep)
	c.failure = nil
	return nil
}

// finalError is the verdict on the last attempt once the call may not go on
// after a retry was decided: the caller's context ended or the transport
// closed meanwhile.
func (c *call) finalError() error {
	o := c.last
	o.ended = c.ended()
	o.last = o.last || c.t.closed.Load()
	o.tried = c.errs
	_, _, err := c.t.policy.judge(c.req.Class, o)
	return err
}

// finish tells the hooks how the call ended.
func (c *call) finish(err error) {
	if c.obs != nil {
		c.obs.finish(c, err)
	}
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

// attemptError names a transport error with the request and endpoint.
// Errors from the decoder arrive already named.
func (c *call) attemptError(err error) error {
	var re *ResponseError
	var se *Error
	var qe *RequestError
	if errors.As(err, &re) || errors.As(err, &se) || errors.As(err, &qe) {
		return err
	}
	return &RequestError{Op: c.req.Op, Key: c.req.Key, Endpoint: c.ep.URL(), Err: unwrapURLError(err)}
}

// observeRetry tells the hooks and the log that the failed attempt is tried
// again; the last attempt of a call is told by finish, with the call's
// outcome.
func (t *Transport) observeRetry(c *call, err error) {
	if c.obs != nil {
		c.obs.endCurrent(observe.Retried, err)
	}
	if t.obs != nil {
		t.obs.retrying(c, err)
	}
}

// newCall takes a call from the pool, or makes one, for req.
func (t *Transport) newCall(ctx context.Context, req *Request, out any) *call {
	c, _ := t.calls.Get().(*call)
	if c == nil {
		c = &call{t: t}
	}
	if c.scope != nil && c.scope.caller != ctx {
		c.scope = nil // made for another caller's context, whose values it carries
	}
	if c.scope == nil {
		c.scope = takeHeld(ctx) // nil unless ctx shares its scope (WithScopeReuse)
	}
	c.ctx, c.req, c.out = ctx, req, out
	switch {
	case len(req.Params) > 0 && hasBody(req.Method):
		c.form = req.Params.Encode()
	case len(req.Params) > 0:
		c.query = req.Params.Encode()
	case !hasBody(req.Method):
		c.query = req.Query
	}
	c.bound()
	return c
}

// recycle puts c back into the pool when nothing can still touch it. Its
// attempt scope stays with it only when it may serve another call: its
// context never ends and it was not cut. A scope that was not cut and whose
// context shares its scope (WithScopeReuse) goes back to that context's
// holder. Any other scope is released, so a caller's context that may end
// does not keep it registered; a hedge still running may cut it again, to no
// effect.
func (t *Transport) recycle(c *call) {
	s := c.scope
	if s != nil && (c.dirty || c.spent || !s.shared) {
		if c.dirty || c.spent || !s.park() {
			s.release()
		}
		s = nil
	}
	if c.dirty {
		return
	}
	// errs is not reused: a returned ClusterError may hold it.
	*c = call{t: t, scope: s, hedge: hedge{timer: c.hedge.timer}}
	t.calls.Put(c)
}
