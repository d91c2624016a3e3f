package config

import (
	"context"
	"log/slog"
	"time"
)

// compute is the Value's one writer of its value: it re-reads the keys from
// the caches whenever a follower reports a change of one of them, or when a
// key's expiration passes, and publishes what changed. Reading the caches'
// current content (rather than replaying their changes) makes every
// computation see a newer state than the one before, so values are
// published in index order; a burst may be folded into its last value.
func (v *Value[T]) compute(ctx context.Context) {
	expiry := time.NewTimer(time.Hour)
	expiry.Stop()
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-v.wake:
		case <-expiry.C:
		}
		if next := v.recompute(time.Now()); !next.IsZero() {
			expiry.Reset(time.Until(next))
		}
	}
}

// recompute reads and, when their bytes changed, decodes the keys. It
// returns the earliest expiration among them (zero for none).
func (v *Value[T]) recompute(now time.Time) time.Time {
	var index uint64
	for _, f := range v.dirs {
		c := f.cache.Load()
		if c == nil {
			return time.Time{} // until every directory is listed, keep the default
		}
		index = max(index, c.Index()) // before the reads: they reflect at least this
	}
	layers, next := v.read(now)
	switch {
	case v.seen != nil && sameContent(layers, v.seen):
		v.refreshed(layers, index)
	default:
		v.seen, v.rejected = layers, false
		val, bad := v.dec.value(layers)
		if bad != nil {
			v.rejected = true
			v.reject(bad, layers)
		} else {
			v.accept(val, layers, index, now)
		}
	}
	v.markReady()
	return next
}

// read returns what the caches hold for the keys, treating keys whose
// expiration has passed as gone: the server reaps them seconds late
// (docs/protocol.md §11.3), and a value set to expire should not outlive
// its TTL here.
func (v *Value[T]) read(now time.Time) ([]layer, time.Time) {
	out := make([]layer, len(v.keys))
	var next time.Time
	for i, k := range v.keys {
		c := v.dirOf[k].cache.Load()
		out[i].key, out[i].seenAt = k, c.Index()
		n, ok := c.Get(k)
		if !ok {
			continue
		}
		out[i].exists, out[i].index = true, n.ModifiedIndex
		switch {
		case n.Dir:
			out[i].dir = true
		case n.Expired(now):
		default:
			out[i].present, out[i].value = true, n.Value
			if n.Expiration != nil && (next.IsZero() || n.Expiration.Before(next)) {
				next = *n.Expiration
			}
		}
	}
	return out, next
}

// refreshed handles a computation that found the same bytes: a TTL refresh,
// a rewrite with the same value, or a sibling's change. Only the indexes of
// an accepted value move.
func (v *Value[T]) refreshed(layers []layer, index uint64) {
	if sameIndexes(layers, v.seen) {
		return
	}
	v.seen = layers
	rejected := v.rejected
	v.publish(func(st *state[T]) {
		st.layers = layers
		if !rejected {
			st.snap.Index, st.snap.ModifiedIndex = index, newestIndex(layers)
		}
	})
}

// accept publishes a good value; the notifier is woken only when it differs
// from the one served.
func (v *Value[T]) accept(val T, layers []layer, index uint64, now time.Time) {
	p := v.dec.print(val)
	changed := false
	v.publish(func(st *state[T]) {
		v.invalid = nil
		st.layers = layers
		st.snap.Index, st.snap.ModifiedIndex = index, newestIndex(layers)
		st.snap.Missing = st.snap.ModifiedIndex == 0
		if !same(st.snap.Value, val, st.print, p) {
			changed = true
			st.snap.Value, st.print, st.snap.Since = val, p, now
			st.seq++
		}
	})
	if changed {
		v.logAt(slog.LevelInfo, "config: value changed", "index", index)
	}
}

// reject keeps the served value and reports why the stored one was refused.
func (v *Value[T]) reject(bad *InvalidValueError, layers []layer) {
	v.publish(func(st *state[T]) {
		v.invalid = bad
		st.layers = layers
	})
	v.logAt(slog.LevelWarn, "config: rejected a stored value, keeping the last good one",
		"key", bad.Key, "index", bad.Index, "err", bad.Err)
	v.notes.reportInvalid(bad)
}

func (v *Value[T]) markReady() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.ready {
		v.ready = true
		close(v.loaded)
	}
}

// poke wakes compute; a wake already pending covers this one.
func (v *Value[T]) poke() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// sameIndexes reports whether two readings saw the same nodes; the indexes
// the caches had reached may differ.
func sameIndexes(a, b []layer) bool {
	for i := range a {
		if a[i].index != b[i].index || a[i].exists != b[i].exists {
			return false
		}
	}
	return true
}

// newestIndex is the highest modifiedIndex among the present layers.
func newestIndex(layers []layer) uint64 {
	var idx uint64
	for _, l := range layers {
		if l.present {
			idx = max(idx, l.index)
		}
	}
	return idx
}
