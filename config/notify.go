package config

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
)

// notifier holds the callbacks and the Changes channel. One goroutine
// (Value.notify) calls them, so callbacks run one at a time, in the order
// values were published, and a slow callback delays only later callbacks,
// never Load.
type notifier[T any] struct {
	kickCh chan struct{} // buffered 1
	from   *state[T]     // the state Watch returned with; set before Value.started closes

	mu      sync.Mutex
	nextID  uint64
	subs    []subscriber[T]
	changes chan T
	closed  bool
	invalid *InvalidValueError // reported, not yet handed to the hook
}

type subscriber[T any] struct {
	id uint64
	fn func(old, new T)
}

func (n *notifier[T]) init() { n.kickCh = make(chan struct{}, 1) }

func (n *notifier[T]) kick() {
	select {
	case n.kickCh <- struct{}{}:
	default:
	}
}

func (n *notifier[T]) reportInvalid(bad *InvalidValueError) {
	n.mu.Lock()
	n.invalid = bad
	n.mu.Unlock()
	n.kick()
}

// OnChange registers fn to be called with the previous and the new value
// each time the value really changes: a rewrite with the same bytes, a TTL
// refresh or an event on another key is no change, and neither is a new
// encoding of an equal value. Calls are made one at a time from one
// goroutine, in index order; when changes come faster than callbacks return,
// intermediate values may be skipped, but the last one is always delivered,
// and old is always the new value of the delivery before (the value Watch
// returned with, for the first). A callback that panics
// is recovered (and logged with WithLogger) and stays registered.
//
// A change made before fn is registered may not reach it; register
// first, then Load, to miss nothing. The returned function unregisters fn; a
// call already under way finishes.
func (v *Value[T]) OnChange(fn func(old, new T)) (unregister func()) {
	if fn == nil {
		return func() {}
	}
	n := &v.notes
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextID++
	id := n.nextID
	n.subs = append(n.subs, subscriber[T]{id: id, fn: fn})
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		for i, s := range n.subs {
			if s.id == id {
				n.subs = append(n.subs[:i:i], n.subs[i+1:]...)
				return
			}
		}
	}
}

// Changes returns a channel that holds the latest new value after each
// change (older undelivered ones are dropped), for select loops. Every call
// returns the same channel; it is closed when the Value stops.
func (v *Value[T]) Changes() <-chan T {
	n := &v.notes
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.changes == nil {
		n.changes = make(chan T, 1)
		if n.closed {
			close(n.changes)
		}
	}
	return n.changes
}

// notify delivers published changes and rejected values, starting from the
// value Watch returned with.
func (v *Value[T]) notify(ctx context.Context) {
	defer v.notes.close()
	select {
	case <-v.started:
	case <-ctx.Done():
		return
	}
	last := v.notes.from
	for {
		select {
		case <-ctx.Done():
			return
		case <-v.notes.kickCh:
		}
		if bad := v.notes.takeInvalid(); bad != nil && v.s.onInvalid != nil {
			v.call(func() { v.s.onInvalid(bad) })
		}
		st := v.cur.Load()
		if st.seq == last.seq || same(last.snap.Value, st.snap.Value, last.print, st.print) {
			last = st
			continue
		}
		for _, s := range v.notes.subscribers() {
			v.call(func() { s.fn(last.snap.Value, st.snap.Value) })
		}
		v.notes.send(st.snap.Value)
		last = st
	}
}

// call runs a callback, recovering a panic so that one faulty callback cannot
// stop the delivery of configuration to the others.
func (v *Value[T]) call(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			v.logAt(slog.LevelError, "config: a callback panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

func (n *notifier[T]) takeInvalid() *InvalidValueError {
	n.mu.Lock()
	defer n.mu.Unlock()
	bad := n.invalid
	n.invalid = nil
	return bad
}

func (n *notifier[T]) subscribers() []subscriber[T] {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]subscriber[T](nil), n.subs...)
}

// send replaces the value waiting in the Changes channel, if there is one.
func (n *notifier[T]) send(val T) {
	n.mu.Lock()
	ch := n.changes
	n.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	default:
	}
	ch <- val
}

func (n *notifier[T]) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	if n.changes != nil {
		close(n.changes)
	}
}
