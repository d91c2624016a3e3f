package transport

import (
	"context"
	"net/http/httptrace"
	"reflect"
	"sync/atomic"
	"time"
)

// attemptScope is the context a call's attempts run in: the caller's
// context with an end of its own, which a timer brings at the attempt's
// timeout.
//
// A fresh context with a deadline per attempt costs net/http's request
// context a registration with it, and the deadline a timer: five or six
// allocations per request, a tenth of everything a GET allocates. So a scope
// is made once and reused for as long as nothing ended it: net/http's
// per-request context registers with its cancel context (whose table of
// children is then already there), and the timer is re-armed. A scope may
// even serve later calls, if their context is the same one and never ends
// (context.Background(), a process-wide context): the values net/http reads
// from it, even from a dial that outlives its request, are then the same.
// A scope whose timer fired, or that a winning hedge cut, is spent and
// replaced.
//
// A context that may end can still share its scope between calls when it
// was made by WithScopeReuse: a loop that calls again and again with one
// context (a watch polls once per event) then pays for one scope, not one
// per call. The scope waits between calls in the context's holder, not in
// the pooled call, so it is never left registered with a context the pool
// forgot; it ends with that context.
type attemptScope struct {
	caller context.Context // the context the scope is made on
	shared bool            // caller never ends and is safe to compare: the scope may serve later calls
	holder *scopeHolder    // caller was made by WithScopeReuse: the scope waits there between calls
	ctx    context.Context // a cancel context on caller; attempts' requests carry it
	cancel context.CancelCauseFunc
	timer  *time.Timer // armed for each attempt; ends ctx with the attempt's cause
	opErr  error       // the transport's operation timeout, the cause of a cut by the operation's bound
	opCut  atomic.Bool // the armed timeout is what was left of the operation's bound

	// traced is ctx with a client trace recording whether an attempt got a
	// connection; writes use it, to tell a request that never left.
	traced    context.Context
	connected atomic.Bool
}

func (t *Transport) newScope(caller context.Context) *attemptScope {
	s := &attemptScope{caller: caller, shared: shareable(caller), holder: holderOf(caller)}
	if t.opTimeout != nil {
		s.opErr = t.opTimeout
	}
	s.ctx, s.cancel = context.WithCancelCause(caller)
	s.timer = time.AfterFunc(time.Hour, s.expire)
	s.timer.Stop()
	return s
}

// shareable reports whether a scope made on ctx may serve later calls with
// the same context: ctx never ends, and comparing it cannot panic (a pointer,
// or the Background and TODO values).
func shareable(ctx context.Context) bool {
	if ctx.Done() != nil {
		return false
	}
	return ctx == context.Background() || ctx == context.TODO() || reflect.TypeOf(ctx).Kind() == reflect.Pointer
}

// expire is the timer's: the attempt ran out of time.
func (s *attemptScope) expire() {
	if s.opCut.Load() {
		s.cancel(s.opErr)
		return
	}
	s.cancel(errAttemptTimeout)
}

// requestContext is the context of an attempt's request; write is true for
// writes, whose attempts record whether they got a connection.
func (s *attemptScope) requestContext(write bool) context.Context {
	if !write {
		return s.ctx
	}
	if s.traced == nil {
		s.traced = httptrace.WithClientTrace(s.ctx, &httptrace.ClientTrace{
			GotConn: func(httptrace.GotConnInfo) { s.connected.Store(true) },
		})
	}
	s.connected.Store(false)
	return s.traced
}

// arm starts the attempt's timer: d from now, with opCut saying that d is
// what is left of the operation's bound.
func (s *attemptScope) arm(d time.Duration, opCut bool) {
	s.opCut.Store(opCut)
	s.timer.Reset(d)
}

// disarm stops the timer; it reports false when the timer already fired,
// which spends the scope.
func (s *attemptScope) disarm() bool { return s.timer.Stop() }

// cause is why the scope's context ended, nil while it has not.
func (s *attemptScope) cause() error { return context.Cause(s.ctx) }

// cut ends the scope's context (a hedge answered first); the scope is spent.
func (s *attemptScope) cut() { s.cancel(context.Canceled) }

// release ends a scope that serves no more calls, so that a caller's
// context that may end forgets it.
func (s *attemptScope) release() {
	s.timer.Stop()
	s.cancel(context.Canceled)
}

// scopeHolderKey is the context key of a scopeHolder.
type scopeHolderKey struct{}

// scopeHolder keeps the idle attempt scope of the context it was made for.
type scopeHolder struct {
	ctx  context.Context // the context made by WithScopeReuse; a pointer, so comparing it never panics
	idle atomic.Pointer[attemptScope]
}

// WithScopeReuse returns a context derived from ctx whose calls may share
// one attempt scope, for a loop that makes call after call with that same
// context (a watch's polls, a keepalive's refreshes). The scope ends with
// the context. Calls with contexts derived from it do not share.
func WithScopeReuse(ctx context.Context) context.Context {
	h := new(scopeHolder)
	h.ctx = context.WithValue(ctx, scopeHolderKey{}, h)
	return h.ctx
}

// holderOf returns the holder of ctx when ctx is the very context
// WithScopeReuse made, else nil.
func holderOf(ctx context.Context) *scopeHolder {
	h, _ := ctx.Value(scopeHolderKey{}).(*scopeHolder)
	if h == nil || h.ctx != ctx {
		return nil
	}
	return h
}

// takeHeld returns the idle scope held for ctx, if it has one that has not
// ended.
func takeHeld(ctx context.Context) *attemptScope {
	h := holderOf(ctx)
	if h == nil {
		return nil
	}
	s := h.idle.Swap(nil)
	if s != nil && s.cause() != nil {
		s.release()
		return nil
	}
	return s
}

// park hands a scope that served a call, and was not spent, back to its
// context's holder; it reports false when the scope has no holder or the
// holder already keeps another.
func (s *attemptScope) park() bool {
	return s.holder != nil && s.holder.idle.CompareAndSwap(nil, s)
}
