package transport

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/observe"
)

// opObs is the observation of one Do: the hooks' contexts and the attempt
// whose outcome is still to be told. It exists only when some hook watches
// operations or attempts. Like the call, it belongs to the goroutine running
// Do, except for what hedges touch: the hooks' contexts (written before any
// attempt) and the atomic counters.
type opObs struct {
	o     *observer
	op    observe.Operation
	start time.Time
	ctxs  []context.Context // what each hook's OperationStart returned
	sent  int64             // request body size

	attempts, hedges atomic.Int32

	// cur is the attempt whose answer or error goes on to the retry
	// decision: the primary one, or the hedge that won. Nil once told.
	cur    *attemptObs
	first  attemptObs // reused by the attempts of the Do goroutine
	status int        // HTTP status of the last attempt told from here

	inline [2]context.Context // backs ctxs for up to two hooks
}

// attemptObs is the observation of one attempt.
type attemptObs struct {
	a      observe.Attempt
	start  time.Time
	ctxs   []context.Context // what each hook's AttemptStart returned
	status int
	body   countingBody // wraps the answer's body
	inline [2]context.Context
}

// countingBody counts what is read of an answer's body. It lives in the
// attempt's observation, so counting costs no allocation, and only observed
// calls have one.
type countingBody struct {
	io.ReadCloser
	n int64 // read by the goroutine that reads the body
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// startOp begins observing a call; sent is the request body size.
func (o *observer) startOp(ctx context.Context, req *Request, sent int64) *opObs {
	p := &opObs{
		o:     o,
		op:    observe.Operation{Name: req.Op, Method: req.Method, Key: req.Key, Kind: kindOf(req.Class)},
		start: time.Now(),
		sent:  sent,
	}
	p.ctxs = contexts(p.inline[:0], len(o.hooks))
	for i, h := range o.hooks {
		if h.OperationStart != nil {
			ctx = h.OperationStart(ctx, p.op)
		}
		p.ctxs[i] = ctx
	}
	return p
}

// contexts returns a slice of n contexts, in buf when it has room.
func contexts(buf []context.Context, n int) []context.Context {
	if n <= cap(buf) {
		return buf[:n]
	}
	return make([]context.Context, n)
}

// beginAttempt starts observing the next attempt of the Do goroutine, which
// becomes the current one.
func (p *opObs) beginAttempt(ep *endpoints.Endpoint, number int) *attemptObs {
	a := &p.first
	*a = attemptObs{}
	p.begin(a, ep, number, false)
	p.cur = a
	return a
}

// beginCopy starts observing a copy of a hedged read sent off the Do
// goroutine: the hedge, or a detached primary (hedged false). It is not the
// current attempt: a hedge becomes it when it wins (hedgeWon), a detached
// primary when it wins or fails; a copy that lost tells its own end.
func (p *opObs) beginCopy(ep *endpoints.Endpoint, number int, hedged bool) *attemptObs {
	a := new(attemptObs)
	if hedged {
		p.hedges.Add(1)
	}
	p.begin(a, ep, number, hedged)
	return a
}

func (p *opObs) begin(a *attemptObs, ep *endpoints.Endpoint, number int, hedged bool) {
	p.attempts.Add(1)
	a.a = observe.Attempt{Operation: p.op, Endpoint: ep.URL(), Number: number, Hedged: hedged}
	a.ctxs = contexts(a.inline[:0], len(p.ctxs))
	for i, h := range p.o.hooks {
		ctx := p.ctxs[i]
		if h.AttemptStart != nil {
			ctx = h.AttemptStart(ctx, a.a)
		}
		a.ctxs[i] = ctx
	}
	a.start = time.Now()
}

// answered records the status of an attempt's answer and counts its body.
func (a *attemptObs) answered(resp *http.Response) {
	a.status = resp.StatusCode
	a.body = countingBody{ReadCloser: resp.Body}
	resp.Body = &a.body
}

// end tells the hooks how attempt a ended.
func (p *opObs) end(a *attemptObs, out observe.Outcome, err error) {
	r := observe.AttemptResult{
		Outcome:    out,
		StatusCode: a.status,
		Duration:   time.Since(a.start),
		BytesSent:  p.sent,
	}
	if out != observe.OK && out != observe.Superseded {
		r.Err = err
	}
	r.BytesReceived = a.body.n
	for i, h := range p.o.hooks {
		if h.AttemptEnd != nil {
			h.AttemptEnd(a.ctxs[i], a.a, r)
		}
	}
}

// hedgeWon makes the winning copy b the current attempt and tells how the
// current one (an inline primary, or a detached one that failed) ended: it
// failed (errA), or it was merely slower. A detached primary still running
// is not current: it tells its own end.
func (p *opObs) hedgeWon(b *attemptObs, errA error) {
	if errA != nil {
		p.endCurrent(observe.Retried, errA)
	} else {
		p.endCurrent(observe.Superseded, nil)
	}
	p.cur = b
}

// endCurrent tells how the current attempt ended, if it is not told yet.
func (p *opObs) endCurrent(out observe.Outcome, err error) {
	a := p.cur
	if a == nil {
		return
	}
	p.cur = nil
	p.status = a.status
	p.end(a, out, err)
}

// finish tells how the call ended: its last attempt takes the call's
// outcome, then the operation ends.
func (p *opObs) finish(c *call, err error) {
	out := outcomeOf(err, c.ctx.Err() != nil)
	attemptErr := c.failure
	if attemptErr == nil {
		attemptErr = err
	}
	p.endCurrent(out, attemptErr)
	r := observe.Result{
		Outcome:    out,
		Err:        err,
		Endpoint:   c.ep.URL(),
		StatusCode: p.status,
		Attempts:   int(p.attempts.Load()),
		Hedges:     int(p.hedges.Load()),
		Duration:   time.Since(p.start),
	}
	for i, h := range p.o.hooks {
		if h.OperationEnd != nil {
			h.OperationEnd(p.ctxs[i], p.op, r)
		}
	}
}
