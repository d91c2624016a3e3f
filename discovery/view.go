package discovery

import (
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// view is a resolver's picture of its service directory: every instance key
// the cache holds, decoded once per new value, with what the resolver knows
// of its expiry. Only the resolver's goroutine touches it.
type view struct {
	layout Layout
	grace  time.Duration
	logger *slog.Logger

	entries map[string]*entry
	index   uint64 // the store index of the last change folded in
}

// entry is one instance key.
type entry struct {
	inst       Instance
	value      string
	created    uint64
	modified   uint64
	expiration *time.Time
	// expired: the server reported the key expired (ttl <= 0) or a check
	// read confirmed it; the instance is hidden until the key changes.
	expired bool
	// checkAt is when (on the resolver's clock) to confirm the expiry of a
	// key nobody refreshed; zero for keys without a TTL.
	checkAt time.Time
}

func newView(layout Layout, grace time.Duration, logger *slog.Logger) *view {
	return &view{layout: layout, grace: grace, logger: logger, entries: map[string]*entry{}}
}

// load replaces the view with a listing of the directory.
func (v *view) load(nodes []*kv.Node, index uint64) {
	old := v.entries
	v.entries = make(map[string]*entry, len(nodes))
	for _, n := range nodes {
		if n.Dir {
			continue
		}
		if e, ok := old[n.Key]; ok && e.modified == n.ModifiedIndex {
			v.entries[n.Key] = e // unchanged: keep what checks learned
			continue
		}
		if e := v.decode(n); e != nil {
			v.entries[n.Key] = e
		}
	}
	v.index = max(v.index, index)
}

// apply folds one change of the cache in and reports whether the visible
// instances may have changed. A refresh that only moves the key's TTL (same
// value, same createdIndex) is not a change: every heartbeat is an update
// event on this server (docs/protocol.md §11.2), and consumers must not wake
// for them.
func (v *view) apply(ch watch.Change) bool {
	v.index = max(v.index, ch.Index)
	e, had := v.entries[ch.Key]
	if ch.Kind == watch.Delete {
		// A listing taken after the cache applied this change already holds
		// what replaced the key; keep it.
		if !had || (ch.Prev != nil && e.modified > ch.Prev.ModifiedIndex) {
			return false
		}
		delete(v.entries, ch.Key)
		return !e.expired
	}
	n := ch.Node
	if n == nil || n.Dir || (had && n.ModifiedIndex <= e.modified) {
		return false
	}
	if had && n.Value == e.value && n.CreatedIndex == e.created {
		wasHidden := e.expired
		v.refresh(e, n)
		return wasHidden != e.expired
	}
	ne := v.decode(n)
	if ne == nil {
		delete(v.entries, ch.Key)
		return had && !e.expired
	}
	v.entries[ch.Key] = ne
	return !had || e.expired != ne.expired || !e.inst.Equal(ne.inst)
}

// decode builds the entry of a node, or nil (logged) for a key or value the
// layout cannot read.
func (v *view) decode(n *kv.Node) *entry {
	inst, err := v.layout.Decode(n.Key, n.Value)
	if err != nil {
		if v.logger != nil {
			v.logger.Warn("discovery: skipping an instance key", "key", n.Key, "index", n.ModifiedIndex, "error", err)
		}
		return nil
	}
	e := &entry{inst: inst, value: n.Value, created: n.CreatedIndex}
	v.refresh(e, n)
	return e
}

// refresh records the node's index and expiry. A key the server reported
// with ttl <= 0 has expired and waits only for the late reaper
// (docs/protocol.md §11.3): it is hidden at once.
func (v *view) refresh(e *entry, n *kv.Node) {
	e.modified = n.ModifiedIndex
	e.expiration = n.Expiration
	e.expired = n.Expiration != nil && n.TTL <= 0
	e.checkAt = time.Time{}
	if n.Expiration != nil && !e.expired {
		e.checkAt = n.Expiration.Add(v.grace)
	}
}

// nextCheck returns the earliest time an expiry must be confirmed.
func (v *view) nextCheck() (time.Time, bool) {
	var next time.Time
	for _, e := range v.entries {
		if e.expired || e.checkAt.IsZero() {
			continue
		}
		if next.IsZero() || e.checkAt.Before(next) {
			next = e.checkAt
		}
	}
	return next, !next.IsZero()
}

// confirm applies a read of the directory taken at index to the keys whose
// expiry was due at now: a key that is gone, or still there unchanged with
// ttl <= 0, has expired; a key refreshed since (its event is on the way) or
// still alive by the server's clock is checked again later. It reports
// whether instances were hidden.
func (v *view) confirm(read map[string]*kv.Node, index uint64, now time.Time) bool {
	changed := false
	for key, e := range v.entries {
		if e.expired || e.checkAt.IsZero() || e.checkAt.After(now) {
			continue
		}
		n, ok := read[key]
		switch {
		case e.modified > index: // changed after the read
			e.checkAt = now.Add(v.grace)
		case !ok || (n.ModifiedIndex == e.modified && n.Expiration != nil && n.TTL <= 0):
			e.expired, changed = true, true
		default:
			e.checkAt = now.Add(time.Duration(max(n.TTL, 1))*time.Second + v.grace)
		}
	}
	return changed
}

// instances returns the visible instances sorted by ID.
func (v *view) instances() []Instance {
	out := make([]Instance, 0, len(v.entries))
	for _, e := range v.entries {
		if !e.expired {
			out = append(out, e.inst)
		}
	}
	slices.SortFunc(out, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	return out
}
