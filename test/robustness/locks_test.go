package robustness

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/internal/wait"
)

// section is one critical section run under the lock.
type section struct {
	Locker   int
	Token    uint64 // fencing token the holder presented
	Enter    int64  // ns since the run started
	Exit     int64
	Owned    bool // the holder still owned the lock (Held, not Lost) when it left
	Accepted bool // the protected resource accepted the token
}

func (s section) String() string {
	return fmt.Sprintf("locker %d token %d [%s..%s] owned-at-exit=%v accepted=%v",
		s.Locker, s.Token, time.Duration(s.Enter), time.Duration(s.Exit), s.Owned, s.Accepted)
}

// resource is what the lock protects: it accepts a fencing token only if it is
// larger than every token it accepted before, like a storage service that fences
// stale holders.
type resource struct {
	mu       sync.Mutex
	last     uint64
	rejected int
}

func (r *resource) use(token uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if token <= r.last {
		r.rejected++
		return false
	}
	r.last = token
	return true
}

// lockStats are the figures of the lock traffic.
type lockStats struct {
	Attempts, Grants, Lost, Rejected, SessionsLost int
}

// locker contends for one mutex in a loop, running a short critical section each
// time it holds it, and replaces its session when the session is lost.
type locker struct {
	id     int
	client concurrency.Client
	prefix string
	ttl    time.Duration
	rng    *rand.Rand
	rec    *recorder
	res    *resource

	mu       sync.Mutex
	sections []section
	stats    lockStats
}

func (l *locker) run(ctx context.Context) {
	contend(ctx, l.client, l.ttl, l.rng, 20*time.Millisecond,
		func() { l.count(func(st *lockStats) { st.SessionsLost++ }) }, l.once)
}

// contend runs once in rounds until ctx ends, each with a live session:
// a lost session is closed, reported to lost and replaced. Rounds are apart
// by a random pause of up to maxPause.
func contend(ctx context.Context, client concurrency.Client, ttl time.Duration, rng *rand.Rand, maxPause time.Duration,
	lost func(), once func(context.Context, *concurrency.Session)) {
	var s *concurrency.Session
	defer func() {
		if s != nil {
			_ = s.Close()
		}
	}()
	for ctx.Err() == nil {
		if s == nil || isDone(s.Done()) {
			if s != nil {
				_ = s.Close()
				lost()
			}
			var err error
			if s, err = concurrency.NewSession(client, concurrency.WithTTL(ttl)); err != nil {
				return
			}
		}
		once(ctx, s)
		wait.Sleep(ctx, time.Duration(rng.Int64N(int64(maxPause))))
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (l *locker) count(f func(*lockStats)) {
	l.mu.Lock()
	f(&l.stats)
	l.mu.Unlock()
}

// once takes the lock, runs a critical section and releases it.
func (l *locker) once(ctx context.Context, s *concurrency.Session) {
	m := concurrency.NewMutex(s, l.prefix, concurrency.WithOwner(fmt.Sprintf("locker-%d", l.id)))
	lockCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	l.count(func(st *lockStats) { st.Attempts++ })
	if err := m.Lock(lockCtx); err != nil {
		return
	}
	l.count(func(st *lockStats) { st.Grants++ })
	sec := section{Locker: l.id, Token: m.FencingToken()}
	lost := m.Lost()
	if m.Held() {
		sec.Enter = l.rec.now()
		sec.Accepted = l.res.use(sec.Token)
		wait.Sleep(context.Background(), time.Duration(2+l.rng.IntN(15))*time.Millisecond)
		sec.Owned = m.Held() && !isDone(lost)
		sec.Exit = l.rec.now()
		l.mu.Lock()
		l.sections = append(l.sections, sec)
		l.mu.Unlock()
	}
	if !sec.Owned {
		l.count(func(st *lockStats) { st.Lost++ })
	}
	unlockCtx, cancelUnlock := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelUnlock()
	if err := m.Unlock(unlockCtx); err != nil && !errors.Is(err, concurrency.ErrLockLost) {
		_ = err // the entry expires with the session's TTL
	}
}

func (l *locker) result() ([]section, lockStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]section(nil), l.sections...), l.stats
}

// checkLocks checks the critical sections: no two sections whose holders still owned
// the lock when they left overlap in time, fencing tokens are unique, and the tokens
// of those sections strictly increase in the order they were entered (so the
// resource never had to reject a holder that thought it owned the lock).
func checkLocks(secs []section) []violation {
	var vs []violation
	var owned []section
	byToken := map[uint64]section{}
	for _, s := range secs {
		if prev, dup := byToken[s.Token]; dup {
			vs = append(vs, violation{Check: "lock", Detail: "two grants with one fencing token", Evidence: []string{prev.String(), s.String()}})
		}
		byToken[s.Token] = s
		if s.Owned {
			owned = append(owned, s)
		}
	}
	sort.Slice(owned, func(i, j int) bool { return owned[i].Enter < owned[j].Enter })
	// Sections sorted by entry overlap iff one enters before the latest exit so far.
	var latest section
	for i, s := range owned {
		if i > 0 && s.Enter < latest.Exit {
			vs = append(vs, violation{Check: "lock", Detail: "critical sections overlap", Evidence: []string{latest.String(), s.String()}})
		}
		if i > 0 && s.Token <= owned[i-1].Token {
			vs = append(vs, violation{Check: "lock", Detail: "fencing token did not increase", Evidence: []string{owned[i-1].String(), s.String()}})
		}
		if !s.Accepted {
			vs = append(vs, violation{Check: "lock", Detail: "the resource rejected the token of an owner", Evidence: []string{s.String()}})
		}
		if s.Exit > latest.Exit {
			latest = s
		}
		if len(vs) > 10 {
			break
		}
	}
	return vs
}
