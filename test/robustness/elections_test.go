package robustness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/internal/wait"
)

// longTerm is how long a leadership must last, as its holder saw it, for the
// observer to be required to report it. Every leadership must be reported while
// the observer's watch keeps up; a shorter one may fall in a gap the observer
// closes by re-reading the queue after the server's event history moved past it.
const longTerm = time.Second

// term is one leadership as its candidate saw it.
type term struct {
	hold
	Values   []string // the campaign value and every value it tried to proclaim
	Normal   bool     // it still led at the end and resigned successfully
	Orphaned bool     // it abandoned the session instead, like a crashed process
}

func (t term) String() string {
	return fmt.Sprintf("%s values=%q normal=%v orphaned=%v", t.hold, t.Values, t.Normal, t.Orphaned)
}

// electStats are the figures of the election traffic.
type electStats struct {
	Campaigns, Terms, Lost, Orphaned, SessionsLost, Proclaimed int
}

// candidate campaigns in a loop, leads for a random time, proclaims a new value,
// then resigns or, now and then, abandons its session as if it crashed.
type candidate struct {
	id     int
	client concurrency.Client
	prefix string
	ttl    time.Duration
	rng    *rand.Rand
	rec    *recorder

	mu    sync.Mutex
	terms []term
	stats electStats
	n     int
}

func (c *candidate) run(ctx context.Context) {
	contend(ctx, c.client, c.ttl, c.rng, 50*time.Millisecond, func() {
		if !c.orphanedLast() { // a session abandoned on purpose is not a loss
			c.count(func(st *electStats) { st.SessionsLost++ })
		}
	}, c.once)
}

func (c *candidate) count(f func(*electStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *candidate) orphanedLast() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.terms) > 0 && c.terms[len(c.terms)-1].Orphaned
}

// once campaigns, and if it wins leads for a while and steps down.
func (c *candidate) once(ctx context.Context, s *concurrency.Session) {
	c.n++
	e := concurrency.NewElection(s, c.prefix, concurrency.WithOwner(fmt.Sprintf("candidate-%d", c.id)))
	value := fmt.Sprintf("c%d-%d", c.id, c.n)
	campCtx, cancel := context.WithTimeout(ctx, 2*c.ttl)
	defer cancel()
	c.count(func(st *electStats) { st.Campaigns++ })
	if err := e.Campaign(campCtx, value); err != nil {
		return
	}
	tm := term{hold: hold{Holder: c.id, Key: e.Key(), Enter: c.rec.now()}, Values: []string{value}}
	// Most terms are short; one in three outlasts longTerm, so the observer must
	// report it.
	d := between(c.rng, 20*time.Millisecond, 300*time.Millisecond)
	if c.rng.IntN(3) == 0 {
		d = between(c.rng, longTerm+100*time.Millisecond, longTerm+600*time.Millisecond)
	}
	wait.Sleep(context.Background(), d/2)
	proclaimed := value + "-p"
	tm.Values = append(tm.Values, proclaimed) // even a failed proclamation may have been applied
	pCtx, cancelP := context.WithTimeout(context.Background(), time.Second)
	if err := e.Proclaim(pCtx, proclaimed); err == nil {
		c.count(func(st *electStats) { st.Proclaimed++ })
	}
	cancelP()
	wait.Sleep(context.Background(), d-d/2)
	tm.Exit = c.rec.now()
	tm.Held = e.Held() && !isDone(s.Done())
	if c.rng.IntN(6) == 0 {
		s.Orphan() // the entry stays until its TTL runs out
		tm.Orphaned = true
	} else {
		rCtx, cancelR := context.WithTimeout(context.Background(), 2*time.Second)
		tm.Normal = e.Resign(rCtx) == nil && tm.Held
		cancelR()
	}
	c.mu.Lock()
	c.terms = append(c.terms, tm)
	c.stats.Terms++
	if !tm.Held {
		c.stats.Lost++
	}
	if tm.Orphaned {
		c.stats.Orphaned++
	}
	c.mu.Unlock()
}

func (c *candidate) result() ([]term, electStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]term(nil), c.terms...), c.stats
}

// change is one state the observer received, stamped on arrival.
type change struct {
	At int64
	L  concurrency.Leadership
}

func (c change) String() string {
	if c.L.Leader == nil {
		return fmt.Sprintf("at %s index %d: no leader", time.Duration(c.At), c.L.Index)
	}
	l := c.L.Leader
	return fmt.Sprintf("at %s index %d: leader %s created %d owner %s value %q",
		time.Duration(c.At), c.L.Index, l.Key, l.CreatedIndex, l.Owner, l.Value)
}

// electionObserver follows the election with Observe and records every state.
type electionObserver struct {
	client concurrency.Client
	prefix string
	rec    *recorder

	mu      sync.Mutex
	changes []change
}

func (o *electionObserver) run(ctx context.Context) {
	for l := range concurrency.Observe(ctx, o.client, o.prefix) {
		o.mu.Lock()
		o.changes = append(o.changes, change{At: o.rec.now(), L: l})
		o.mu.Unlock()
	}
}

// reported reports whether the last state received has key as leader.
func (o *electionObserver) reported(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.changes) == 0 {
		return false
	}
	l := o.changes[len(o.changes)-1].L.Leader
	return l != nil && l.Key == key
}

func (o *electionObserver) result() []change {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]change(nil), o.changes...)
}

// checkObserver checks what Observe promises: states arrive in index order; a
// leader, once replaced by another, never comes back, and distinct leaders have
// strictly increasing creation indexes (the queue's head only moves forward); every
// leader reported is a candidate's entry with that candidate's owner and one of the
// values it campaigned or proclaimed with; and every leadership that lasted longer
// than longTerm, ended by a successful resignation, and fell inside the observed
// window [from, to] was reported. Shorter leaderships may be missed, as may states
// during a re-read of the queue, so nothing else is required. It also returns how
// many leaderships had to be reported.
func checkObserver(changes []change, terms []term, from, to int64) (int, []violation) {
	var vs []violation
	add := func(detail string, ev ...string) {
		if len(vs) <= 10 {
			vs = append(vs, violation{Check: "election-observer", Detail: detail, Evidence: ev})
		}
	}
	byKey := map[string]term{}
	for _, t := range terms {
		byKey[t.Key] = t
	}
	seen := map[string]bool{}
	var prev, lastLeader *change
	for i := range changes {
		c := &changes[i]
		if prev != nil && c.L.Index < prev.L.Index {
			add("states out of index order", prev.String(), c.String())
		}
		prev = c
		l := c.L.Leader
		if l == nil {
			continue
		}
		if t, ok := byKey[l.Key]; ok {
			if want := fmt.Sprintf("candidate-%d", t.Holder); l.Owner != want {
				add("leader reported with another candidate's owner", c.String(), t.String())
			}
			found := false
			for _, v := range t.Values {
				found = found || v == l.Value
			}
			if !found {
				add("leader reported with a value its candidate never set", c.String(), t.String())
			}
		}
		if lastLeader != nil && lastLeader.L.Leader.Key == l.Key {
			continue // the same leader, perhaps with a new value
		}
		if seen[l.Key] {
			add("a replaced leader came back", lastLeader.String(), c.String())
		}
		if lastLeader != nil && l.CreatedIndex <= lastLeader.L.Leader.CreatedIndex {
			add("leaders' creation indexes did not increase", lastLeader.String(), c.String())
		}
		seen[l.Key] = true
		lastLeader = c
	}
	required := 0
	for _, t := range terms {
		if !t.Normal || time.Duration(t.Exit-t.Enter) <= longTerm || t.Enter < from || t.Exit > to {
			continue
		}
		required++
		if !seen[t.Key] {
			add(fmt.Sprintf("a leadership of %s was never reported", time.Duration(t.Exit-t.Enter)), t.String())
		}
	}
	return required, vs
}

// sentinel campaigns once more after the traffic, with every fault healed, and
// waits until the observer reports it as leader: the observer has then delivered
// every state before it. It resigns afterwards.
func sentinel(c concurrency.Client, cfg runConfig, o *electionObserver) error {
	s, err := concurrency.NewSession(c, concurrency.WithTTL(cfg.lockTTL))
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	e := concurrency.NewElection(s, cfg.prefix+"/election", concurrency.WithOwner("sentinel"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*cfg.lockTTL)
	defer cancel()
	if err := e.Campaign(ctx, "sentinel"); err != nil {
		return fmt.Errorf("the sentinel was never elected: %w", err)
	}
	key := e.Key()
	for !o.reported(key) {
		if !wait.Sleep(ctx, 10*time.Millisecond) {
			return fmt.Errorf("the observer never reported the sentinel leader %s", key)
		}
	}
	return e.Resign(ctx)
}
