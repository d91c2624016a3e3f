package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune a Set. Zero values mean defaults.
type Options struct {
	// CooldownBase is the first cool-down after a failure (default 500 ms); it
	// doubles, with jitter, each time the endpoint fails its probe.
	CooldownBase time.Duration
	// CooldownMax caps the cool-down (default 15 s).
	CooldownMax time.Duration
	// FailureThreshold is how many soft failures in a row start a cool-down
	// (default 3). Hard failures start one at once.
	FailureThreshold int
	// Probe checks an endpoint at the end of its cool-down; nil error means it
	// may take traffic again. Nil means endpoints are trusted again without a
	// probe once the cool-down ends.
	Probe func(ctx context.Context, url string) error
	// ProbeTimeout bounds one probe (default 2 s).
	ProbeTimeout time.Duration
	// Logger receives state changes at debug level; nil means silence.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.CooldownBase <= 0 {
		o.CooldownBase = 500 * time.Millisecond
	}
	if o.CooldownMax <= 0 {
		o.CooldownMax = 15 * time.Second
	}
	if o.CooldownMax < o.CooldownBase {
		o.CooldownMax = o.CooldownBase
	}
	if o.FailureThreshold <= 0 {
		o.FailureThreshold = 3
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 2 * time.Second
	}
}

// Set is the endpoints of one cluster. It is safe for concurrent use.
type Set struct {
	opts Options
	list atomic.Pointer[[]*Endpoint] // copy-on-write; never empty

	mu    sync.Mutex // serialises Update
	seeds []string

	ctx     context.Context // ends probes on Close
	cancel  context.CancelFunc
	probeMu sync.Mutex // orders probe starts against Close
	probes  sync.WaitGroup
	closed  bool // guarded by probeMu
}

// New builds a Set from the seed URLs. Every URL must be valid (see Normalize)
// and at least one is required; duplicates are merged.
func New(urls []string, opts Options) (*Set, error) {
	opts.setDefaults()
	if len(urls) == 0 {
		return nil, fmt.Errorf("%w: no endpoints given", ErrInvalidEndpoint)
	}
	var errs []error
	seen := make(map[string]bool, len(urls))
	var seeds []string
	for _, raw := range urls {
		u, err := Normalize(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !seen[u] {
			seen[u] = true
			seeds = append(seeds, u)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s := &Set{opts: opts, seeds: seeds}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	list := make([]*Endpoint, len(seeds))
	for i, u := range seeds {
		list[i] = newEndpoint(u, true, &s.opts)
	}
	s.list.Store(&list)
	return s, nil
}

// Len returns the number of endpoints.
func (s *Set) Len() int { return len(*s.list.Load()) }

// Pick chooses the endpoint for the next attempt, never exclude unless it is
// the only one. Among healthy endpoints it takes the better of two random
// ones (power of two choices); when none is healthy it takes the endpoint
// whose cool-down ends first, so a caller that must keep trying still can.
// Pick also starts the probes of endpoints whose cool-down has ended.
func (s *Set) Pick(exclude *Endpoint) *Endpoint {
	if ep := s.pickHealthy(exclude); ep != nil {
		return ep
	}
	list := *s.list.Load()
	var best *Endpoint
	var bestUntil time.Time
	for _, e := range list {
		if e == exclude && len(list) > 1 {
			continue
		}
		e.mu.Lock()
		until := e.until
		e.mu.Unlock()
		if best == nil || until.Before(bestUntil) {
			best, bestUntil = e, until
		}
	}
	return best
}

// PickHealthy is Pick restricted to healthy endpoints other than exclude; it
// returns nil when there is none. Hedged reads use it: a second attempt is
// only worth sending to a node believed to work.
func (s *Set) PickHealthy(exclude *Endpoint) *Endpoint { return s.pickHealthy(exclude) }

func (s *Set) pickHealthy(exclude *Endpoint) *Endpoint {
	list := *s.list.Load()
	now := time.Now()
	var buf [16]*Endpoint
	cand := buf[:0]
	for _, e := range list {
		e.mu.Lock()
		st := e.state
		if st == Cooldown && !now.Before(e.until) {
			st = s.endCooldownLocked(e)
		}
		e.mu.Unlock()
		if st == Healthy && e != exclude {
			cand = append(cand, e)
		}
	}
	switch len(cand) {
	case 0:
		return nil
	case 1:
		return cand[0]
	}
	i := rand.IntN(len(cand))
	j := rand.IntN(len(cand) - 1)
	if j >= i {
		j++
	}
	a, b := cand[i], cand[j]
	a.mu.Lock()
	sa := a.score(now)
	a.mu.Unlock()
	b.mu.Lock()
	sb := b.score(now)
	b.mu.Unlock()
	if sb < sa {
		return b
	}
	return a
}

// endCooldownLocked moves e out of a finished cool-down: straight to Healthy
// without a prober, else to Probing with a probe in the background. Callers
// hold e.mu.
func (s *Set) endCooldownLocked(e *Endpoint) State {
	s.probeMu.Lock()
	defer s.probeMu.Unlock()
	if s.opts.Probe == nil || s.closed {
		e.state = Healthy
		return Healthy
	}
	e.state = Probing
	s.probes.Add(1)
	go s.probe(e)
	return Probing
}

func (s *Set) probe(e *Endpoint) {
	defer s.probes.Done()
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.ProbeTimeout)
	err := s.opts.Probe(ctx, e.url)
	cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != Probing {
		return // a real answer already settled it
	}
	if err == nil {
		e.state = Healthy
		e.failures = 0
		e.cooldowns.Reset()
		// Latency from before the outage says nothing about the node now;
		// start afresh so it gets its share of traffic back.
		e.ewma = 0
		e.lat = latencyWindow{}
		s.log("endpoint healthy again", e.url, nil)
		return
	}
	e.lastErr = err
	e.state = Cooldown
	e.until = time.Now().Add(e.cooldowns.NextBackOff())
	s.log("endpoint probe failed", e.url, err)
}

// Failure records a failed exchange with e (see Endpoint.ObserveFailure) using
// the set's failure threshold.
func (s *Set) Failure(e *Endpoint, err error, hard bool) {
	if e.ObserveFailure(err, hard, s.opts.FailureThreshold) {
		s.log("endpoint cooling down", e.url, err)
	}
}

func (s *Set) log(msg, url string, err error) {
	if s.opts.Logger == nil {
		return
	}
	if err != nil {
		s.opts.Logger.Debug(msg, "endpoint", url, "error", err)
		return
	}
	s.opts.Logger.Debug(msg, "endpoint", url)
}

// Update replaces the non-seed members with urls (from the cluster's member
// list). Invalid entries are skipped; an answer without any valid URL is
// ignored and reported as an error, so a garbage or empty member list never
// empties the set. Seeds are always kept, and known endpoints keep their
// health record. It reports whether the membership changed.
func (s *Set) Update(urls []string) (bool, error) {
	var valid []string
	var bad int
	for _, raw := range urls {
		u, err := Normalize(raw)
		if err != nil {
			bad++
			continue
		}
		valid = append(valid, u)
	}
	if len(valid) == 0 {
		return false, fmt.Errorf("%w: member list has no valid URL (%d entries)", ErrInvalidEndpoint, len(urls))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.list.Load()
	byURL := make(map[string]*Endpoint, len(old))
	for _, e := range old {
		byURL[e.url] = e
	}
	next := make([]*Endpoint, 0, len(s.seeds)+len(valid))
	seen := make(map[string]bool, len(s.seeds)+len(valid))
	add := func(u string, seed bool) {
		if seen[u] {
			return
		}
		seen[u] = true
		if e := byURL[u]; e != nil {
			next = append(next, e)
			return
		}
		next = append(next, newEndpoint(u, seed, &s.opts))
	}
	for _, u := range s.seeds {
		add(u, true)
	}
	for _, u := range valid {
		add(u, false)
	}
	changed := len(next) != len(old)
	if !changed {
		for i := range next {
			if next[i] != old[i] {
				changed = true
				break
			}
		}
	}
	if changed {
		s.list.Store(&next)
		if s.opts.Logger != nil {
			s.opts.Logger.Debug("endpoints updated", "count", len(next), "skipped", bad)
		}
	}
	return changed, nil
}

// Snapshot returns the status of every endpoint, seeds first.
func (s *Set) Snapshot() []Status {
	list := *s.list.Load()
	now := time.Now()
	out := make([]Status, len(list))
	for i, e := range list {
		out[i] = e.status(now)
	}
	return out
}

// Close stops probing and waits for running probes to end. The set stays
// usable for picking afterwards, without probes.
func (s *Set) Close() {
	s.probeMu.Lock()
	if s.closed {
		s.probeMu.Unlock()
		return
	}
	s.closed = true
	s.probeMu.Unlock()
	s.cancel()
	s.probes.Wait()
}
