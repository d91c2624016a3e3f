package robustness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/internal/wait"
)

// hold is one interval during which a contender believed it held a permit (of a
// semaphore) or the leadership (of an election).
type hold struct {
	Holder int
	Key    string // the holder's queue entry
	Enter  int64  // ns since the run started, stamped once the grant returned
	Exit   int64  // stamped before the holder checked it still held
	Held   bool   // the holder still held (entry alive, session not lost) at Exit
}

func (h hold) String() string {
	return fmt.Sprintf("holder %d entry %s [%s..%s] held-at-exit=%v",
		h.Holder, h.Key, time.Duration(h.Enter), time.Duration(h.Exit), h.Held)
}

// checkCapacity checks that at no instant more than capacity holds whose holder
// still held at exit were open. A holder that found its session lost may have
// overlapped someone legitimately (it was told so), so it does not count; Exit is
// stamped before the check, so a counted hold was real over its whole interval.
// Intervals that only touch do not overlap.
func checkCapacity(check string, holds []hold, capacity int) []violation {
	type edge struct {
		at    int64
		enter bool
		h     hold
	}
	var edges []edge
	for _, h := range holds {
		if h.Held {
			edges = append(edges, edge{h.Enter, true, h}, edge{h.Exit, false, h})
		}
	}
	sort.SliceStable(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return !edges[i].enter && edges[j].enter // leave before enter at one instant
	})
	var vs []violation
	open := map[hold]bool{}
	for _, e := range edges {
		if !e.enter {
			delete(open, e.h)
			continue
		}
		open[e.h] = true
		if len(open) > capacity {
			ev := make([]string, 0, len(open))
			for h := range open {
				ev = append(ev, h.String())
			}
			sort.Strings(ev)
			vs = append(vs, violation{Check: check,
				Detail:   fmt.Sprintf("%d holders at %s, at most %d allowed", len(open), time.Duration(e.at), capacity),
				Evidence: ev})
			if len(vs) > 10 {
				break
			}
		}
	}
	return vs
}

// semStats are the figures of the semaphore traffic.
type semStats struct {
	Attempts, Grants, Lost, SessionsLost int
}

// semHolder contends for one semaphore in a loop, holding a permit for a short while
// each time it gets one, and replaces its session when the session is lost.
type semHolder struct {
	id      int
	client  concurrency.Client
	prefix  string
	permits int
	ttl     time.Duration
	rng     *rand.Rand
	rec     *recorder

	mu    sync.Mutex
	holds []hold
	stats semStats
}

func (h *semHolder) run(ctx context.Context) {
	contend(ctx, h.client, h.ttl, h.rng, 20*time.Millisecond,
		func() { h.count(func(st *semStats) { st.SessionsLost++ }) }, h.once)
}

func (h *semHolder) count(f func(*semStats)) {
	h.mu.Lock()
	f(&h.stats)
	h.mu.Unlock()
}

// once takes a permit, holds it for a few milliseconds and gives it back.
func (h *semHolder) once(ctx context.Context, s *concurrency.Session) {
	m := concurrency.NewSemaphore(s, h.prefix, h.permits, concurrency.WithOwner(fmt.Sprintf("sem-%d", h.id)))
	acqCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	h.count(func(st *semStats) { st.Attempts++ })
	if err := m.Acquire(acqCtx); err != nil {
		return
	}
	h.count(func(st *semStats) { st.Grants++ })
	hd := hold{Holder: h.id, Key: m.Key(), Enter: h.rec.now()}
	wait.Sleep(context.Background(), time.Duration(2+h.rng.IntN(25))*time.Millisecond)
	hd.Exit = h.rec.now()
	hd.Held = m.Held() && !isDone(s.Done())
	h.mu.Lock()
	h.holds = append(h.holds, hd)
	if !hd.Held {
		h.stats.Lost++
	}
	h.mu.Unlock()
	relCtx, cancelRel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelRel()
	_ = m.Release(relCtx) // on failure the entry expires with the session's TTL
}

func (h *semHolder) result() ([]hold, semStats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hold(nil), h.holds...), h.stats
}
