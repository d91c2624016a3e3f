package discovery

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// endpoint is one instance as a balancer sees it. A picker holds endpoints
// and never changes them; a new registration value makes a new endpoint,
// which keeps the instance's health.
type endpoint struct {
	b      *Balancer
	inst   Instance
	health *health
	// doneFn is record bound once, so handing it out costs no allocation.
	doneFn func(error)

	inflight atomic.Int64
	latency  atomic.Uint64 // EWMA of call latency in ns, float64 bits
	stamp    atomic.Int64  // monotonic time of the last sample
}

func newEndpoint(b *Balancer, inst Instance, h *health, latency float64) *endpoint {
	e := &endpoint{b: b, inst: inst, health: h}
	e.doneFn = e.record
	e.latency.Store(math.Float64bits(latency))
	e.stamp.Store(monotonic())
	return e
}

// record feeds one call's outcome to outlier ejection.
func (e *endpoint) record(err error) {
	if !e.b.cfg.eject {
		return
	}
	h := e.health
	if err == nil {
		if h.failures.Load() != 0 {
			h.succeeded()
		}
		return
	}
	if h.failed(time.Now(), e.b.cfg.ejection) {
		e.b.eject(h)
	}
}

// latencyDecay is the time constant of the latency EWMA: a sample's weight
// falls to 1/e after it. Reads decay too, so the cost of an instance that
// was slow once and has not been picked since drifts back down and it gets
// another chance (Finagle's peak EWMA).
const latencyDecay = 10 * time.Second

// epoch is the origin of the monotonic stamps of latency samples.
var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

// observe folds a latency sample in: a peak replaces the average at once, a
// lower sample pulls it down by the time since the last one.
func (e *endpoint) observe(d time.Duration) {
	now := monotonic()
	sample := float64(d)
	prev := e.latencyAt(now)
	next := sample
	if prev > sample {
		w := math.Exp(-float64(now-e.stamp.Load()) / float64(latencyDecay))
		next = prev*w + sample*(1-w)
	}
	e.latency.Store(math.Float64bits(next))
	e.stamp.Store(now)
}

// latencyAt is the EWMA decayed to now; zero before the first sample.
func (e *endpoint) latencyAt(now int64) float64 {
	l := math.Float64frombits(e.latency.Load())
	if l == 0 {
		return 0
	}
	return l * math.Exp(-float64(now-e.stamp.Load())/float64(latencyDecay))
}

// cost is what PowerOfTwoChoices minimises: expected latency times the
// calls that would queue with this one.
func cost(latency float64, inflight int64) float64 {
	return (latency + 1) * float64(inflight+1)
}

// call is one PowerOfTwoChoices call in flight. Calls are pooled (per
// balancer) and their done is bound once, so a pick allocates nothing.
type call struct {
	pool  *sync.Pool
	ep    *endpoint
	start time.Time
	done  func(error)
}

func newCallPool() *sync.Pool {
	p := &sync.Pool{}
	p.New = func() any {
		c := &call{pool: p}
		c.done = c.finish
		return c
	}
	return p
}

func (e *endpoint) startCall() func(error) {
	e.inflight.Add(1)
	c := e.b.calls.Get().(*call)
	c.ep, c.start = e, time.Now()
	return c.done
}

func (c *call) finish(err error) {
	ep, start := c.ep, c.start
	if ep == nil {
		return // a second call of done
	}
	c.ep = nil
	c.pool.Put(c)
	ep.inflight.Add(-1)
	ep.observe(time.Since(start))
	ep.record(err)
}

// health is the outlier state of one instance ID, kept across snapshots.
type health struct {
	failures atomic.Int32 // errors in a row; read without the lock on success

	mu    sync.Mutex // guards first
	first time.Time  // the first error of the current run

	// Guarded by the balancer's mutex.
	ejected  bool
	returned time.Time // when it last came back from an ejection
	periods  *backoff.ExponentialBackOff
	timer    *time.Timer
}

func newHealth(p Ejection) *health {
	return &health{periods: backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.BaseDuration),
		backoff.WithMaxInterval(p.MaxDuration),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0.1),
		backoff.WithMaxElapsedTime(0),
	)}
}

// failed counts an error and reports whether the run reached the policy's
// threshold within its window.
func (h *health) failed(now time.Time, p Ejection) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures.Load() == 0 || now.Sub(h.first) > p.Window {
		h.first = now
		h.failures.Store(0)
	}
	return int(h.failures.Add(1)) >= p.Errors
}

func (h *health) succeeded() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures.Store(0)
}

// nextPeriod returns how long the next ejection lasts: the backoff's next
// interval, starting over once the instance stayed in for MaxDuration.
func (h *health) nextPeriod(now time.Time, p Ejection) time.Duration {
	if !h.returned.IsZero() && now.Sub(h.returned) > p.MaxDuration {
		h.periods.Reset()
	}
	return h.periods.NextBackOff()
}
