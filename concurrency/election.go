package concurrency

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// Election is leader election on a queue of in-order keys under prefix: the
// candidate whose entry is first is the leader. A candidate's value (an
// address, a name) is stored in its entry and can be changed by the leader
// with Proclaim. Everyone can read the leader with Leader and follow every
// change of leadership with Observe.
type Election struct {
	s      *Session
	prefix string
	owner  string
	err    error // invalid prefix

	mu     sync.Mutex
	t      *ticket // our candidacy while campaigning or leading
	leader bool
}

// Leadership is one state of an election, as delivered by Observe.
type Leadership struct {
	// Leader is the leading entry (its Value is the leader's value), nil
	// when nobody campaigns.
	Leader *Entry
	// Index is the store index from which this state holds.
	Index uint64
}

// NewElection returns an election on prefix (a directory of candidacies;
// never deleted) for session s. Option: WithOwner.
func NewElection(s *Session, prefix string, opts ...MutexOption) *Election {
	var cfg mutexConfig
	for _, o := range opts {
		o.applyMutex(&cfg)
	}
	clean, err := cleanPrefix(prefix)
	return &Election{s: s, prefix: clean, owner: cfg.owner, err: err}
}

// Campaign enters the election with value and blocks until this candidate
// is the leader or ctx ends (the candidacy is then withdrawn). Campaign by
// the current leader proclaims value instead.
func (e *Election) Campaign(ctx context.Context, value string) error {
	if e.err != nil {
		return e.err
	}
	if e.IsLeader() {
		return e.Proclaim(ctx, value)
	}
	e.withdraw()
	t, err := enqueue(ctx, e.s, e.prefix, envelope{Owner: e.owner, Value: value})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.t = t
	e.mu.Unlock()
	if _, err := t.wait(ctx, 1); err != nil {
		t.abandon()
		e.mu.Lock()
		e.t = nil
		e.mu.Unlock()
		return err
	}
	e.mu.Lock()
	e.leader = true
	e.mu.Unlock()
	return nil
}

// Proclaim changes the leader's value without giving up leadership (a
// compare-and-swap on its entry). Only the leader may proclaim: others get
// ErrNotLeader.
func (e *Election) Proclaim(ctx context.Context, value string) error {
	e.mu.Lock()
	t, leader := e.t, e.leader
	e.mu.Unlock()
	if !leader || !e.s.alive(t.key) {
		return ErrNotLeader
	}
	nv := envelope{Token: t.token, Owner: e.owner, Value: value}.encode()
	if err := e.s.update(ctx, t.key, nv); err != nil {
		return fmt.Errorf("election: proclaiming on %s: %w", e.prefix, err)
	}
	e.mu.Lock()
	t.value = nv
	e.mu.Unlock()
	return nil
}

// Resign gives up leadership (or a pending candidacy) by deleting this
// candidate's entry; the next candidate becomes leader. It fails with
// ErrNotLeader when this candidate has no entry.
func (e *Election) Resign(ctx context.Context) error {
	e.mu.Lock()
	t := e.t
	e.t, e.leader = nil, false
	e.mu.Unlock()
	if t == nil {
		return ErrNotLeader
	}
	if err := t.remove(ctx); err != nil {
		return fmt.Errorf("election: resigning from %s: %w", e.prefix, err)
	}
	return nil
}

// Leader returns the current leader's entry (Value is its value), or
// ErrNoLeader when nobody campaigns.
func (e *Election) Leader(ctx context.Context) (*Entry, error) {
	if e.err != nil {
		return nil, e.err
	}
	return head(ctx, e.s.kv, e.prefix, ErrNoLeader)
}

// IsLeader reports whether this candidate leads and its entry is alive.
func (e *Election) IsLeader() bool {
	e.mu.Lock()
	t, leader := e.t, e.leader
	e.mu.Unlock()
	return leader && e.s.alive(t.key)
}

// Key returns this candidate's entry key, "" when not campaigning.
func (e *Election) Key() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.t == nil {
		return ""
	}
	return e.t.key
}

// Observe follows the election; see the package function Observe.
func (e *Election) Observe(ctx context.Context) <-chan Leadership {
	return Observe(ctx, e.s.kv, e.prefix)
}

// withdraw removes a candidacy left from an earlier lost leadership.
func (e *Election) withdraw() {
	e.mu.Lock()
	t := e.t
	e.t, e.leader = nil, false
	e.mu.Unlock()
	if t != nil {
		t.abandon()
	}
}

// Observe delivers every change of leadership of the election at prefix, in
// order, starting with the current state: each entry that was ever first in
// the queue, each value it proclaimed, and a Leadership with a nil Leader
// whenever the queue became empty. It reads the queue once, then replays a
// recursive watch of the election directory over it, event by event, so no
// leader is skipped however briefly it led. The channel is closed when ctx
// ends. A consumer slower than the server's 1000-event history may miss
// states: the observer then re-reads the queue and goes on from there.
func Observe(ctx context.Context, c Client, prefix string) <-chan Leadership {
	out := make(chan Leadership)
	clean, err := cleanPrefix(prefix)
	if err != nil {
		close(out)
		return out
	}
	o := &observer{kv: c.KV(), dir: clean, out: out}
	go o.run(ctx)
	return out
}

type observer struct {
	kv    *kv.KV
	dir   string
	out   chan Leadership
	queue []*kv.Node // in createdIndex order
	last  *Entry     // the state last delivered
	sent  bool
}

func (o *observer) run(ctx context.Context) {
	defer close(o.out)
	for attempt := 0; ctx.Err() == nil; {
		nodes, index, err := listQueue(ctx, o.kv, o.dir)
		if err != nil {
			attempt++
			if !wait.Sleep(ctx, retryDelay(attempt, 2*time.Second)) {
				return
			}
			continue
		}
		attempt = 0
		o.queue = nodes
		if !o.emit(ctx, index) {
			return
		}
		stream, err := watch.Watch(ctx, o.kv, o.dir, watch.WithRecursive(), watch.WithAfterIndex(index))
		if err != nil {
			continue
		}
		for ev := range stream.Events() {
			o.apply(ev)
			if !o.emit(ctx, ev.Index()) {
				stream.Close()
				return
			}
		}
		stream.Close() // ended by ctx, or history cleared: re-read
	}
}

// apply replays one event of the election directory on the queue.
func (o *observer) apply(ev watch.Event) {
	n := ev.Node
	if n == nil {
		return
	}
	if n.Key == o.dir {
		if ev.IsDelete() {
			o.queue = nil
		}
		return
	}
	if !isChild(o.dir, n.Key) || ev.Dir() {
		return
	}
	i := slices.IndexFunc(o.queue, func(q *kv.Node) bool { return q.Key == n.Key })
	switch {
	case ev.IsDelete():
		if i >= 0 {
			o.queue = slices.Delete(o.queue, i, i+1)
		}
	case ev.Action == kv.ActionUpdate || ev.Action == kv.ActionCompareAndSwap:
		if i >= 0 {
			o.queue[i] = n
		}
	default: // create or set: a new node, possibly replacing one
		if i >= 0 {
			o.queue = slices.Delete(o.queue, i, i+1)
		}
		o.queue = append(o.queue, n)
		kv.SortByCreation(o.queue)
	}
}

// emit delivers the head of the queue if it differs from the last state
// delivered (another entry, or the same with another value).
func (o *observer) emit(ctx context.Context, index uint64) bool {
	var cur *Entry
	if len(o.queue) > 0 {
		cur = entryOf(o.queue[0])
	}
	if o.sent && sameLeadership(o.last, cur) {
		return true
	}
	select {
	case o.out <- Leadership{Leader: cur, Index: index}:
		o.last, o.sent = cur, true
		return true
	case <-ctx.Done():
		return false
	}
}

func sameLeadership(a, b *Entry) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Key == b.Key && a.Value == b.Value && a.Owner == b.Owner
}

// cleanPrefix validates a queue directory.
func cleanPrefix(prefix string) (string, error) {
	clean, err := kv.CleanKey(prefix)
	if err == nil && clean == "/" {
		err = fmt.Errorf("%w: a queue cannot live at the root", kv.ErrInvalidKey)
	}
	return clean, err
}
