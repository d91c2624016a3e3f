package discovery

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testEndpoints(b *Balancer, weights ...int) []*endpoint {
	var eps []*endpoint
	for i, w := range weights {
		inst := Instance{Service: "s", ID: string(rune('a' + i)), Addr: "h:1", Weight: w}
		eps = append(eps, newEndpoint(b, inst, newHealth(DefaultEjection), 0))
	}
	return eps
}

func TestWeighted_LiveAndScheduledPickersAgree(t *testing.T) {
	b := &Balancer{cfg: balancerConfig{ejection: DefaultEjection}}
	eps := testEndpoints(b, 5, 1, 3, 7, 2)
	var cursor atomic.Uint64
	scheduled := newWeightedPicker(eps, &cursor)
	require.IsType(t, &scheduledPicker{}, scheduled)
	live := &swrrPicker{eps: eps, sw: newSmoothWeights(eps)}
	for i := range 3 * 18 {
		a, _ := scheduled.pick(context.Background())
		b, _ := live.pick(context.Background())
		require.Same(t, a, b, "pick %d", i)
	}
}

func TestWeighted_LongCyclesRunLive(t *testing.T) {
	b := &Balancer{cfg: balancerConfig{ejection: DefaultEjection}}
	weights := make([]int, 2000)
	for i := range weights {
		weights[i] = 1000 + i // gcd 1: a cycle of millions
	}
	var cursor atomic.Uint64
	assert.IsType(t, &swrrPicker{}, newWeightedPicker(testEndpoints(b, weights...), &cursor))
}

func TestP2C_PrefersTheFasterInstance(t *testing.T) {
	b := &Balancer{cfg: balancerConfig{ejection: DefaultEjection}}
	eps := testEndpoints(b, 1, 1)
	eps[0].observe(50 * time.Millisecond)
	eps[1].observe(time.Millisecond)
	p := &p2cPicker{eps: eps}
	for range 100 {
		e, _ := p.pick(context.Background())
		require.Same(t, eps[1], e)
	}
	// Enough calls in flight outweigh the latency difference.
	eps[1].inflight.Store(100)
	e, _ := p.pick(context.Background())
	assert.Same(t, eps[0], e)
}

func TestEjection_PeriodsGrowAndAreForgiven(t *testing.T) {
	p := Ejection{Errors: 2, Window: time.Minute, BaseDuration: time.Second, MaxDuration: 8 * time.Second, MaxFraction: 0.5}
	h := newHealth(p)
	now := time.Now()
	var periods []time.Duration
	for range 5 {
		periods = append(periods, h.nextPeriod(now, p))
	}
	for i := 1; i < 4; i++ {
		assert.Greater(t, periods[i], periods[i-1], "period %d grows: %v", i, periods)
	}
	assert.LessOrEqual(t, periods[4], 8*time.Second+800*time.Millisecond, "capped near MaxDuration")

	h.returned = now
	assert.Less(t, h.nextPeriod(now.Add(9*time.Second), p), 2*time.Second,
		"an instance that stayed in for MaxDuration starts over")
}

func TestEjection_ErrorsOutsideTheWindowDoNotAddUp(t *testing.T) {
	p := Ejection{Errors: 2, Window: time.Second, BaseDuration: time.Second, MaxDuration: time.Second}
	h := newHealth(p)
	now := time.Now()
	assert.False(t, h.failed(now, p))
	assert.False(t, h.failed(now.Add(2*time.Second), p), "the first error is outside the window")
	assert.True(t, h.failed(now.Add(2500*time.Millisecond), p))
}

func TestHashString_IsStableAcrossProcesses(t *testing.T) {
	// Every client must build the same ring: the hash is fixed, not seeded.
	assert.Equal(t, uint64(0xa39532c7ab051e8d), hashString("user-42"))
}

func TestP2C_ASlowSampleDecays(t *testing.T) {
	b := &Balancer{cfg: balancerConfig{ejection: DefaultEjection}}
	e := testEndpoints(b, 1)[0]
	e.observe(time.Second)
	now := monotonic()
	assert.InDelta(t, float64(time.Second), e.latencyAt(now), float64(10*time.Millisecond))
	later := now + int64(latencyDecay)
	assert.InDelta(t, float64(time.Second)/2.718, e.latencyAt(later), float64(20*time.Millisecond),
		"a sample weighs 1/e after the decay time")
	e.observe(2 * time.Second)
	assert.InDelta(t, float64(2*time.Second), e.latencyAt(monotonic()), float64(10*time.Millisecond), "a peak counts at once")
}
