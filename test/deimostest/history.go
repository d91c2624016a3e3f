package deimostest

import (
	"sort"
	"strings"
)

// history keeps the last size events (the ring watches are answered from) and the full
// event log (for Cluster.History). Guarded by store.mu.
type history struct {
	ring  []*Event
	start int // position of the oldest event in ring
	count int
	all   []*Event
}

func newHistory(size int) history { return history{ring: make([]*Event, size)} }

func (h *history) add(ev *Event) {
	h.all = append(h.all, ev)
	if h.count < len(h.ring) {
		h.ring[(h.start+h.count)%len(h.ring)] = ev
		h.count++
		return
	}
	h.ring[h.start] = ev
	h.start = (h.start + 1) % len(h.ring)
}

func (h *history) at(i int) *Event { return h.ring[(h.start+i)%len(h.ring)] }

// oldest is the oldest index a watch may still ask for when the store is at index cur:
// with 1000 events retained, cur-999 once cur reaches 1000, else 0 (nothing is outdated).
func oldestRetained(cur uint64) uint64 {
	if cur < historySize {
		return 0
	}
	return cur - historySize + 1
}

// scan returns the first retained event with index >= since that matches the watch.
// Hidden keys are not filtered: the server's history scan leaks them (PROTOCOL.md §8.3).
func (h *history) scan(key string, recursive bool, since uint64) *Event {
	i := sort.Search(h.count, func(i int) bool { return h.at(i).index() >= since })
	for ; i < h.count; i++ {
		if ev := h.at(i); keyMatches(key, ev.Node.Key, recursive) {
			return ev
		}
	}
	return nil
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
	for _, ev := range h.all {
		if keyMatches(prefix, ev.Node.Key, true) {
			out = append(out, ev.clone())
		}
	}
	return out
}
