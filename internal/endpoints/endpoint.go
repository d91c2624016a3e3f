package endpoints

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// State is where an endpoint stands in the health cycle.
type State int

const (
	// Healthy endpoints take traffic.
	Healthy State = iota
	// Cooldown endpoints failed recently and are avoided until their cool-down ends.
	Cooldown
	// Probing endpoints finished a cool-down and are being checked before they
	// take traffic again.
	Probing
)

// String returns "healthy", "cooldown" or "probing".
func (s State) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case Cooldown:
		return "cooldown"
	case Probing:
		return "probing"
	}
	return "unknown"
}

const (
	ewmaWeight     = 0.2                    // weight of a new latency sample
	decayTau       = time.Second            // an old score fades towards 0 so slow nodes are retried
	failurePenalty = 100 * time.Millisecond // score added per consecutive failure
	// latencyResolution is the smallest latency difference selection cares
	// about: below it, nodes count as equally fast and load alone decides, so
	// the slowest of three nodes on a fast network is not starved.
	latencyResolution = time.Millisecond
)

// Endpoint is one member URL with its health record. Its methods are safe for
// concurrent use.
type Endpoint struct {
	url, scheme, host string
	seed              bool

	inflight atomic.Int64

	mu        sync.Mutex
	state     State
	ewma      float64 // nanoseconds; 0 until the first sample
	lastObs   time.Time
	failures  int // consecutive
	lastFail  time.Time
	until     time.Time
	lastErr   error
	lat       latencyWindow
	cooldowns *backoff.ExponentialBackOff
}

func newEndpoint(u string, seed bool, opts *Options) *Endpoint {
	scheme, host, _ := cutScheme(u)
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(opts.CooldownBase),
		backoff.WithMaxInterval(opts.CooldownMax),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0.2),
		backoff.WithMaxElapsedTime(0),
	)
	return &Endpoint{url: u, scheme: scheme, host: host, seed: seed, cooldowns: b}
}

func cutScheme(u string) (scheme, host string, ok bool) {
	for i := 0; i+2 < len(u); i++ {
		if u[i] == ':' && u[i+1] == '/' && u[i+2] == '/' {
			return u[:i], u[i+3:], true
		}
	}
	return "", u, false
}

// URL returns the normalised URL, e.g. "http://127.0.0.1:4001".
func (e *Endpoint) URL() string { return e.url }

// Scheme returns "http" or "https".
func (e *Endpoint) Scheme() string { return e.scheme }

// Host returns host[:port].
func (e *Endpoint) Host() string { return e.host }

// Begin marks a request in flight on e; every Begin must be paired with End.
func (e *Endpoint) Begin() { e.inflight.Add(1) }

// End marks the end of a request started with Begin.
func (e *Endpoint) End() { e.inflight.Add(-1) }

// ObserveLatency records that an answer (its headers) arrived after d.
func (e *Endpoint) ObserveLatency(d time.Duration) {
	now := time.Now()
	e.mu.Lock()
	e.sample(d, now)
	e.mu.Unlock()
}

// observeSuccess records a usable answer (see Set.Success). It proves the
// endpoint works, so it clears the failure count and ends a cool-down; it
// reports the state it left, if it was not healthy.
func (e *Endpoint) observeSuccess() (from State, changed bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures = 0
	if e.state == Healthy {
		return Healthy, false
	}
	from = e.state
	e.state = Healthy
	e.cooldowns.Reset()
	return from, true
}

// ObserveSlow records that a request was still unanswered after d when another
// endpoint answered first (a lost hedge). It raises the latency score without
// counting a failure: a slow endpoint is not a dead one.
//
// d is compared with the score as it stands now, faded by age: compared with
// the stored average, a hung node whose average once rose above the hedge
// delay would stop being marked slow, fade back into favour and be picked
// again and again, each time costing a hedge.
func (e *Endpoint) ObserveSlow(d time.Duration) {
	now := time.Now()
	e.mu.Lock()
	if float64(d) > e.decayed(now) {
		e.sample(d, now)
	}
	e.mu.Unlock()
}

func (e *Endpoint) sample(d time.Duration, now time.Time) {
	if e.ewma == 0 {
		e.ewma = float64(d)
	} else {
		e.ewma = e.decayed(now)*(1-ewmaWeight) + float64(d)*ewmaWeight
	}
	e.lastObs = now
	e.lat.add(d)
}

// decayed returns the EWMA faded by its age, so an endpoint that was slow a
// while ago gets another chance. Callers hold e.mu.
func (e *Endpoint) decayed(now time.Time) float64 {
	if e.ewma == 0 {
		return 0
	}
	age := now.Sub(e.lastObs)
	if age <= 0 {
		return e.ewma
	}
	return e.ewma * math.Exp(-float64(age)/float64(decayTau))
}

// observeFailure records a failed exchange (see Set.Failure). A hard failure
// (no connection, no answer within the attempt timeout, a cut connection)
// starts a cool-down at once; soft failures (bad or 5xx answers) do so after
// threshold in a row. It reports whether the endpoint entered a cool-down,
// and for how long.
func (e *Endpoint) observeFailure(err error, hard bool, threshold int) (time.Duration, bool) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures++
	e.lastFail = now
	e.lastErr = err
	if e.state != Healthy {
		return 0, false
	}
	if !hard && e.failures < threshold {
		return 0, false
	}
	e.state = Cooldown
	d := e.cooldowns.NextBackOff()
	e.until = now.Add(d)
	return d, true
}

// recentHigh returns the recent high percentile of e's answer latency, 0
// without samples. Callers hold e.mu.
func (e *Endpoint) recentHigh() time.Duration { return e.lat.quantile() }

// RecentHigh returns the recent high percentile of e's own answer latency,
// 0 without samples. Hedged reads compare it with the hedge delay to tell
// whether a read to e will likely be hedged.
func (e *Endpoint) RecentHigh() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.recentHigh()
}

// score is the cost of sending one more request to e: lower is better.
// Callers hold e.mu.
func (e *Endpoint) score(now time.Time) float64 {
	lat := max(e.decayed(now)+e.penalty(now), float64(latencyResolution))
	return lat * float64(1+e.inflight.Load())
}

// penalty is the score added for consecutive failures. It fades with the age
// of the last failure like the latency does: a node with a soft failure below
// the cool-down threshold would otherwise lose every pair for good, and never
// get the request whose answer clears its count. Callers hold e.mu.
func (e *Endpoint) penalty(now time.Time) float64 {
	if e.failures == 0 {
		return 0
	}
	p := float64(e.failures) * float64(failurePenalty)
	if age := now.Sub(e.lastFail); age > 0 {
		p *= math.Exp(-float64(age) / float64(decayTau))
	}
	return p
}

// Status is a read-only view of an endpoint for observability.
type Status struct {
	URL      string
	Seed     bool
	State    State
	Score    float64       // relative cost; lower is better
	Latency  time.Duration // EWMA of answer latency
	Failures int           // consecutive failures
	Until    time.Time     // end of the cool-down, when in Cooldown
	InFlight int64
	LastErr  error
}

func (e *Endpoint) status(now time.Time) Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := Status{
		URL:      e.url,
		Seed:     e.seed,
		State:    e.state,
		Score:    e.score(now) / float64(time.Millisecond),
		Latency:  time.Duration(e.ewma),
		Failures: e.failures,
		InFlight: e.inflight.Load(),
		LastErr:  e.lastErr,
	}
	if e.state == Cooldown {
		st.Until = e.until
	}
	return st
}
