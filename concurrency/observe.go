package concurrency

import (
	"context"
	"slices"

	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

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
	b := newBackoff(pollRetryMin, pollRetryMax)
	for ctx.Err() == nil {
		nodes, index, err := listQueue(ctx, o.kv, o.dir)
		if err != nil {
			if !pause(ctx, b) {
				return
			}
			continue
		}
		b.Reset()
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

// apply replays one event of the election directory on the queue. An entry
// marked leaving (see retire) leaves the queue at once.
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
	case ev.IsDelete(), leaving(n):
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
