package deimostest

import (
	"sort"
	"strings"
	"time"
)

// logged is one committed event with what the server keeps beside it: when it was
// committed (a lagging node applies it lag later), the removed subtree of a directory
// delete or expiry (for the crash-hazard detector), and the header index cell of the
// write-index race.
type logged struct {
	ev   *Event
	at   time.Time
	gone *entry    // the detached directory, frozen; nil unless a directory went away
	race *raceCell // nil unless WithWriteIndexRace and the event is a client write
}

// history is the committed event log, in index order. Every node applies a prefix of it
// (replica.pos events): that prefix is the node's history, and the last 1000 indexes of it
// are what the node's watches are answered from (docs/protocol.md §12.5). Guarded by
// store.mu.
type history struct {
	all []logged
}

func (h *history) add(l logged) { h.all = append(h.all, l) }

// oldestRetained is the oldest index a watch may still ask for when a node has applied up
// to cur: with 1000 events retained, cur-999 once cur reaches 1000, else 0 (nothing is
// outdated).
func oldestRetained(cur uint64) uint64 {
	if cur < historySize {
		return 0
	}
	return cur - historySize + 1
}

// scan returns the position of the first of the first n logged events with index >= since
// that matches the watch, or -1. The caller has checked since against oldestRetained, so
// every event it can reach is still in the node's 1000-event window. Hidden keys are not
// filtered: the server's history scan leaks them (docs/protocol.md §8.3).
func (h *history) scan(key string, recursive bool, since uint64, n int) int {
	i := sort.Search(n, func(i int) bool { return h.all[i].ev.index() >= since })
	for ; i < n; i++ {
		if keyMatches(key, h.all[i].ev.Node.Key, recursive) {
			return i
		}
	}
	return -1
}

// keyMatches reports whether an event on evKey concerns a watch on key.
func keyMatches(key, evKey string, recursive bool) bool {
	if evKey == key {
		return true
	}
	return recursive && strings.HasPrefix(evKey, withSlash(key))
}

// withSlash returns key with exactly one trailing slash.
func withSlash(key string) string {
	if key == "/" {
		return key
	}
	return key + "/"
}

// under returns the logged events on prefix or below it, in index order.
func (h *history) under(prefix string) []Event {
	prefix = cleanKey(prefix)
	var out []Event
	for _, l := range h.all {
		if keyMatches(prefix, l.ev.Node.Key, true) {
			out = append(out, l.ev.clone())
		}
	}
	return out
}
