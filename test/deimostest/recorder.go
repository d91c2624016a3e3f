package deimostest

import (
	"slices"
	"sync"
	"time"
)

// Recorder is a Hook that records when nodes receive the requests a
// predicate picks, for tests that check how often or how spread out a
// client sends something (say, how many caches listed at once). Install
// its Hook on one node or several; it never injects a fault.
type Recorder struct {
	match func(Request) bool
	mu    sync.Mutex
	at    []time.Time
}

// NewRecorder returns a Recorder of the requests for which match is true.
func NewRecorder(match func(Request) bool) *Recorder {
	return &Recorder{match: match}
}

// Listings picks the listings of key: recursive reads that are not watches.
func Listings(key string) func(Request) bool {
	path := "/keys" + key
	return func(r Request) bool {
		return r.Method == "GET" && r.Path == path &&
			r.Query.Get("recursive") == "true" && r.Query.Get("wait") == ""
	}
}

// Hook returns the hook that records; it is safe on several nodes at once.
func (r *Recorder) Hook() Hook {
	return func(req Request) Fault {
		if r.match(req) {
			r.mu.Lock()
			r.at = append(r.at, time.Now())
			r.mu.Unlock()
		}
		return FaultNone
	}
}

// Times returns when the recorded requests arrived, earliest first.
func (r *Recorder) Times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.at)
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}
