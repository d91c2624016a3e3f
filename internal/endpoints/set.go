package endpoints

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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
	// OnChange is told of every state change of an endpoint, outside the
	// set's locks, so it may read the set (Snapshot, Health). It may run on
	// any goroutine that touches the set, including probes, and must be safe
	// for concurrent use. Nil means nobody listens.
	OnChange func(Change)
}

// Change is one endpoint moving between health states.
type Change struct {
	URL      string
	From, To State
	Err      error         // the failure behind a cool-down or a failed probe
	Cooldown time.Duration // how long a cool-down lasts, when To is Cooldown
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
	var bad []string
	seen := make(map[string]bool, len(urls))
	var seeds []string
	for _, raw := range urls {
		u, err := Normalize(raw)
		if err != nil {
			bad = append(bad, strings.TrimPrefix(err.Error(), ErrInvalidEndpoint.Error()+": "))
			continue
		}
		if !seen[u] {
			seen[u] = true
			seeds = append(seeds, u)
		}
	}
	if len(bad) > 0 {
		// One error, one prefix: every bad URL is listed after it.
		return nil, fmt.Errorf("%w: %s", ErrInvalidEndpoint, strings.Join(bad, "; "))
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

// Healthy returns the endpoint with the given URL when the set has it and
// it is healthy, else nil: a caller that prefers one endpoint (a watch
// sticking to the node that delivers first) uses it, and falls back to Pick.
func (s *Set) Healthy(url string) *Endpoint {
	for _, e := range *s.list.Load() {
		if e.url != url {
			continue
		}
		e.mu.Lock()
		ok := e.state == Healthy
		e.mu.Unlock()
		if ok {
			return e
		}
		return nil
	}
	return nil
}

// PeerLatency returns the latency within which the fastest healthy endpoint
// other than ep recently answered (the high percentile of its recent
// answers), 0 when none has answered yet. It tells whether ep is slow
// relative to the rest of the cluster (hedged reads).
func (s *Set) PeerLatency(ep *Endpoint) time.Duration {
	var best time.Duration
	for _, e := range *s.list.Load() {
		if e == ep {
			continue
		}
		e.mu.Lock()
		var d time.Duration
		if e.state == Healthy {
			d = e.recentHigh()
		}
		e.mu.Unlock()
		if d > 0 && (best == 0 || d < best) {
			best = d
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
		ended := st == Cooldown && !now.Before(e.until)
		if ended {
			st = s.endCooldownLocked(e)
		}
		e.mu.Unlock()
		if ended {
			s.notify(Change{URL: e.url, From: Cooldown, To: st})
		}
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
	if ch, ok := e.settleProbe(err); ok {
		s.notify(ch)
	}
}

// settleProbe applies a probe's result to e, unless a real answer already
// settled its state; it reports the change made.
func (e *Endpoint) settleProbe(err error) (Change, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != Probing {
		return Change{}, false
	}
	if err == nil {
		e.state = Healthy
		e.failures = 0
		e.cooldowns.Reset()
		// Latency from before the outage says nothing about the node now;
		// start afresh so it gets its share of traffic back.
		e.ewma = 0
		e.lat = latencyWindow{}
		return Change{URL: e.url, From: Probing, To: Healthy}, true
	}
	e.lastErr = err
	e.state = Cooldown
	d := e.cooldowns.NextBackOff()
	e.until = time.Now().Add(d)
	return Change{URL: e.url, From: Probing, To: Cooldown, Err: err, Cooldown: d}, true
}

// Failure records a failed exchange with e using the set's failure threshold.
// A hard failure (no connection, no answer within the attempt timeout, a cut
// connection) starts a cool-down at once; soft failures (bad or 5xx answers)
// do so after the threshold in a row.
func (s *Set) Failure(e *Endpoint, err error, hard bool) {
	if d, ok := e.observeFailure(err, hard, s.opts.FailureThreshold); ok {
		s.notify(Change{URL: e.url, From: Healthy, To: Cooldown, Err: err, Cooldown: d})
	}
}

// Success records a usable answer from e: it proves the endpoint works, so
// its failure count is cleared and a cool-down or probe ends.
func (s *Set) Success(e *Endpoint) {
	if from, ok := e.observeSuccess(); ok {
		s.notify(Change{URL: e.url, From: from, To: Healthy})
	}
}

func (s *Set) notify(ch Change) {
	if s.opts.OnChange != nil {
		s.opts.OnChange(ch)
	}
}

// Health counts the endpoints that are healthy now, and all of them.
func (s *Set) Health() (healthy, total int) {
	list := *s.list.Load()
	for _, e := range list {
		e.mu.Lock()
		if e.state == Healthy {
			healthy++
		}
		e.mu.Unlock()
	}
	return healthy, len(list)
}

// URLs returns the URL of every endpoint, seeds first.
func (s *Set) URLs() []string {
	list := *s.list.Load()
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.url
	}
	return out
}

// Diff is what an Update changed.
type Diff struct {
	Added, Removed []string
	Skipped        int // invalid entries of the member list
}

// Changed reports whether any endpoint was added or removed.
func (d Diff) Changed() bool { return len(d.Added) > 0 || len(d.Removed) > 0 }

// Update replaces the non-seed members with urls (from the cluster's member
// list). Invalid entries are skipped; an answer without any valid URL is
// ignored and reported as an error, so a garbage or empty member list never
// empties the set. Seeds are always kept, and known endpoints keep their
// health record. It reports which endpoints were added and removed.
func (s *Set) Update(urls []string) (Diff, error) {
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
		return Diff{}, fmt.Errorf("%w: member list has no valid URL (%d entries)", ErrInvalidEndpoint, len(urls))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.list.Load()
	byURL := make(map[string]*Endpoint, len(old))
	for _, e := range old {
		byURL[e.url] = e
	}
	next := make([]*Endpoint, 0, len(s.seeds)+len(valid))
	add := func(u string, seed bool) {
		if e, known := byURL[u]; known {
			if e != nil {
				next = append(next, e)
				byURL[u] = nil // taken
			}
			return
		}
		byURL[u] = nil
		next = append(next, newEndpoint(u, seed, &s.opts))
	}
	for _, u := range s.seeds {
		add(u, true)
	}
	for _, u := range valid {
		add(u, false)
	}
	if !slices.Equal(next, old) {
		s.list.Store(&next)
	}
	return diff(old, next, bad), nil
}

// diff lists the endpoints of next that old lacks and those of old that next
// lacks.
func diff(old, next []*Endpoint, skipped int) Diff {
	d := Diff{Skipped: skipped}
	for _, e := range next {
		if !slices.Contains(old, e) {
			d.Added = append(d.Added, e.url)
		}
	}
	for _, e := range old {
		if !slices.Contains(next, e) {
			d.Removed = append(d.Removed, e.url)
		}
	}
	return d
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
