package endpoints

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:4001", "http://127.0.0.1:4001"},
		{" HTTP://Node1:4001/ ", "http://node1:4001"},
		{"https://[::1]:4001", "https://[::1]:4001"},
	} {
		got, err := Normalize(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got)
	}
	for _, bad := range []string{"", "127.0.0.1:4001", "ftp://h:1", "http://", "http://:4001",
		"http://h:4001/v2", "http://h:4001?x=1", "http://u:p@h:4001", "http://h:port"} {
		_, err := Normalize(bad)
		assert.ErrorIs(t, err, ErrInvalidEndpoint, "%q", bad)
	}
}

func TestNew_RejectsBadSeeds(t *testing.T) {
	_, err := New(nil, Options{})
	require.ErrorIs(t, err, ErrInvalidEndpoint)
	_, err = New([]string{"http://a:1", "nope"}, Options{})
	require.ErrorIs(t, err, ErrInvalidEndpoint)
	assert.Contains(t, err.Error(), "nope")

	s, err := New([]string{"http://a:1", "http://A:1/"}, Options{})
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, 1, s.Len(), "duplicates merge")
}

func urls(s *Set) []string {
	var out []string
	for _, st := range s.Snapshot() {
		out = append(out, st.URL)
	}
	return out
}

func TestUpdate_KeepsSeedsAndIgnoresGarbage(t *testing.T) {
	s, err := New([]string{"http://seed:1"}, Options{})
	require.NoError(t, err)
	defer s.Close()

	d, err := s.Update([]string{"http://a:1", "http://b:1", "http://seed:1/"})
	require.NoError(t, err)
	assert.Equal(t, Diff{Added: []string{"http://a:1", "http://b:1"}}, d)
	assert.Equal(t, []string{"http://seed:1", "http://a:1", "http://b:1"}, urls(s))
	assert.Equal(t, urls(s), s.URLs())

	for _, garbage := range [][]string{nil, {}, {"<html><body>502 proxy garbage</body></html>"}} {
		d, err = s.Update(garbage)
		require.ErrorIs(t, err, ErrInvalidEndpoint)
		assert.False(t, d.Changed())
		assert.Len(t, urls(s), 3, "a garbage member list changes nothing")
	}

	// A member that left is dropped, the seed stays, and known endpoints keep
	// their health record.
	a := s.Pick(nil)
	for a.URL() != "http://a:1" {
		a = s.Pick(nil)
	}
	s.Failure(a, errors.New("boom"), true)
	d, err = s.Update([]string{"http://a:1", "bogus"})
	require.NoError(t, err)
	assert.Equal(t, Diff{Removed: []string{"http://b:1"}, Skipped: 1}, d)
	assert.Equal(t, []string{"http://seed:1", "http://a:1"}, urls(s))
	assert.Equal(t, Cooldown, s.Snapshot()[1].State)

	d, err = s.Update([]string{"http://a:1"})
	require.NoError(t, err)
	assert.False(t, d.Changed())
}

// Every state change reaches OnChange once, with the states it joins, and
// Health counts what is healthy when the listener runs.
func TestOnChange_ReportsEveryTransition(t *testing.T) {
	var mu sync.Mutex
	var got []Change
	var healthyAtChange []int
	var s *Set
	probeOK := make(chan bool, 4)
	s, err := New([]string{"http://a:1"}, Options{
		CooldownBase: time.Millisecond, CooldownMax: time.Millisecond,
		Probe: func(context.Context, string) error {
			if <-probeOK {
				return nil
			}
			return errors.New("still down")
		},
		OnChange: func(c Change) {
			h, _ := s.Health()
			mu.Lock()
			defer mu.Unlock()
			c.Cooldown = 0 // jittered
			got = append(got, c)
			healthyAtChange = append(healthyAtChange, h)
		},
	})
	require.NoError(t, err)
	defer s.Close()
	changes := func() []Change {
		mu.Lock()
		defer mu.Unlock()
		return append([]Change(nil), got...)
	}
	e := s.Pick(nil)
	boom := errors.New("boom")
	s.Failure(e, boom, true)
	s.Failure(e, boom, true) // already cooling down: no change
	// Picks end the cool-downs; the first probe fails, the second waits.
	probeOK <- false
	require.Eventually(t, func() bool {
		s.Pick(nil)
		return len(changes()) == 4
	}, 2*time.Second, time.Millisecond, "%v", changes())
	probeOK <- true
	require.Eventually(t, func() bool {
		s.Pick(nil)
		return len(changes()) == 5
	}, 2*time.Second, time.Millisecond, "%v", changes())
	s.Success(e) // already healthy: no change
	still := errors.New("still down")
	assert.Equal(t, []Change{
		{URL: "http://a:1", From: Healthy, To: Cooldown, Err: boom},
		{URL: "http://a:1", From: Cooldown, To: Probing},
		{URL: "http://a:1", From: Probing, To: Cooldown, Err: still},
		{URL: "http://a:1", From: Cooldown, To: Probing},
		{URL: "http://a:1", From: Probing, To: Healthy},
	}, changes())
	mu.Lock()
	assert.Equal(t, []int{0, 0, 0, 0, 1}, healthyAtChange)
	mu.Unlock()
}

func TestSuccess_EndsACooldownAndSaysSo(t *testing.T) {
	var got []Change
	s, err := New([]string{"http://a:1"}, Options{CooldownBase: time.Hour, OnChange: func(c Change) { got = append(got, c) }})
	require.NoError(t, err)
	defer s.Close()
	e := s.Pick(nil)
	s.Failure(e, errors.New("x"), false)
	s.Failure(e, errors.New("x"), false)
	assert.Empty(t, got, "soft failures below the threshold change nothing")
	s.Failure(e, errors.New("x"), false)
	require.Len(t, got, 1)
	assert.Equal(t, Cooldown, got[0].To)
	assert.InDelta(t, float64(time.Hour), float64(got[0].Cooldown), float64(time.Hour)/4)
	s.Success(e)
	require.Len(t, got, 2)
	assert.Equal(t, Change{URL: "http://a:1", From: Cooldown, To: Healthy}, got[1])
}

func TestPick_SpreadsLoadAcrossHealthyEndpoints(t *testing.T) {
	s, err := New([]string{"http://a:1", "http://b:1", "http://c:1"}, Options{})
	require.NoError(t, err)
	defer s.Close()
	counts := map[string]int{}
	for i := 0; i < 3000; i++ {
		e := s.Pick(nil)
		counts[e.URL()]++
		e.ObserveLatency(200 * time.Microsecond)
	}
	for u, n := range counts {
		assert.Greater(t, n, 600, "%s got %d of 3000", u, n)
	}
}

func TestPick_PrefersFastAndIdleEndpoints(t *testing.T) {
	s, err := New([]string{"http://a:1", "http://b:1", "http://c:1"}, Options{})
	require.NoError(t, err)
	defer s.Close()
	list := *s.list.Load()
	slow := list[0]
	for i := 0; i < 20; i++ {
		slow.ObserveLatency(50 * time.Millisecond)
		list[1].ObserveLatency(time.Millisecond)
		list[2].ObserveLatency(time.Millisecond)
	}
	for i := 0; i < 500; i++ {
		require.NotSame(t, slow, s.Pick(nil), "the slowest of three never wins a pair")
	}
	// A busy endpoint loses against an idle one of the same speed.
	busy := list[1]
	for i := 0; i < 10; i++ {
		busy.Begin()
	}
	defer func() {
		for i := 0; i < 10; i++ {
			busy.End()
		}
	}()
	for i := 0; i < 500; i++ {
		require.Same(t, list[2], s.Pick(slow))
	}
}

func TestPick_ExcludeAndFallback(t *testing.T) {
	s, err := New([]string{"http://a:1", "http://b:1"}, Options{CooldownBase: time.Hour})
	require.NoError(t, err)
	defer s.Close()
	list := *s.list.Load()
	a, b := list[0], list[1]
	for i := 0; i < 100; i++ {
		require.Same(t, b, s.Pick(a))
	}
	s.Failure(b, errors.New("refused"), true)
	assert.Nil(t, s.PickHealthy(a), "no healthy endpoint but the excluded one")
	assert.Same(t, a, s.Pick(b))
	s.Failure(a, errors.New("refused"), true)
	assert.NotNil(t, s.Pick(nil), "with everything cooling down Pick still answers")
	assert.Nil(t, s.PickHealthy(nil))
}

func TestFailure_SoftFailuresNeedAThreshold(t *testing.T) {
	s, err := New([]string{"http://a:1"}, Options{FailureThreshold: 3, CooldownBase: time.Hour})
	require.NoError(t, err)
	defer s.Close()
	e := s.Pick(nil)
	s.Failure(e, errors.New("500"), false)
	s.Failure(e, errors.New("500"), false)
	assert.Equal(t, Healthy, s.Snapshot()[0].State)
	s.Failure(e, errors.New("500"), false)
	st := s.Snapshot()[0]
	assert.Equal(t, Cooldown, st.State)
	assert.Equal(t, 3, st.Failures)
	assert.EqualError(t, st.LastErr, "500")

	s.Success(e)
	st = s.Snapshot()[0]
	assert.Equal(t, Healthy, st.State, "a real answer ends the cool-down")
	assert.Zero(t, st.Failures)
}

func TestCooldown_ProbeBeforeTrust(t *testing.T) {
	var healthy atomic.Bool
	var probes atomic.Int64
	s, err := New([]string{"http://a:1", "http://b:1"}, Options{
		CooldownBase: 20 * time.Millisecond,
		CooldownMax:  40 * time.Millisecond,
		Probe: func(ctx context.Context, url string) error {
			probes.Add(1)
			if url == "http://a:1" && !healthy.Load() {
				return errors.New("still down")
			}
			return nil
		},
	})
	require.NoError(t, err)
	defer s.Close()
	a := (*s.list.Load())[0]
	s.Failure(a, errors.New("timeout"), true)

	// While a is down, picks never return it and probes keep failing.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		require.NotSame(t, a, s.Pick(nil))
	}
	assert.Greater(t, probes.Load(), int64(1), "cool-downs ended and probes ran")
	assert.NotEqual(t, Healthy, s.Snapshot()[0].State)

	healthy.Store(true)
	require.Eventually(t, func() bool { return s.Pick(nil) == a || s.Snapshot()[0].State == Healthy },
		2*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return s.Pick(nil) == a }, 2*time.Second, time.Millisecond,
		"a probed endpoint takes traffic again")
}

func TestPeerLatency_IsTheFastestOtherHealthyEndpointsHighPercentile(t *testing.T) {
	s, err := New([]string{"http://a:1", "http://b:1", "http://c:1"}, Options{})
	require.NoError(t, err)
	defer s.Close()
	list := *s.list.Load()
	a, b, c := list[0], list[1], list[2]
	assert.Zero(t, s.PeerLatency(a), "no samples yet")
	for i := 0; i < 95; i++ {
		b.ObserveLatency(time.Millisecond)
		c.ObserveLatency(2 * time.Millisecond)
		a.ObserveLatency(time.Microsecond)
	}
	for i := 0; i < 5; i++ {
		b.ObserveLatency(300 * time.Millisecond)
	}
	// b's window holds its last 64 samples: 59 fast ones, 5 slow; its p95 is
	// slow, so c is the faster peer. a's own latency does not count.
	assert.Equal(t, 2*time.Millisecond, s.PeerLatency(a))
	assert.Equal(t, time.Microsecond, s.PeerLatency(b))
	s.Failure(c, errors.New("down"), true)
	assert.Equal(t, 300*time.Millisecond, s.PeerLatency(a), "only healthy peers count")
	for i := 0; i < 64; i++ {
		b.ObserveLatency(time.Millisecond)
	}
	assert.Equal(t, time.Millisecond, s.PeerLatency(a), "the window moves on")
	assert.Equal(t, time.Microsecond, a.RecentHigh(), "an endpoint's own percentile")
	assert.Equal(t, time.Millisecond, b.RecentHigh())
}

func TestSet_ConcurrentUse(t *testing.T) {
	s, err := New([]string{"http://a:1", "http://b:1", "http://c:1"}, Options{
		CooldownBase: time.Millisecond,
		Probe:        func(context.Context, string) error { return nil },
	})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				e := s.Pick(nil)
				e.Begin()
				switch i % 4 {
				case 0:
					s.Failure(e, errors.New("x"), true)
				case 1:
					e.ObserveSlow(time.Millisecond)
				default:
					e.ObserveLatency(time.Microsecond)
					s.Success(e)
				}
				e.End()
				if i%100 == 0 {
					_, _ = s.Update([]string{"http://d:1"})
					_ = s.Snapshot()
				}
			}
		}(g)
	}
	wg.Wait()
	s.Close()
	for _, st := range s.Snapshot() {
		assert.Zero(t, st.InFlight)
	}
}

// A cut attempt marks its endpoint slow against its score as it stands now:
// an endpoint whose average once rose high and then faded is marked slow
// again, not left to fade back into favour (a hung node picked again and
// again).
func TestObserveSlow_ComparesWithTheFadedScore(t *testing.T) {
	s, err := New([]string{"http://a:1", "http://b:1"}, Options{})
	require.NoError(t, err)
	defer s.Close()
	list := *s.list.Load()
	hung, fast := list[0], list[1]
	fast.ObserveLatency(100 * time.Microsecond)
	hung.mu.Lock()
	hung.ewma = float64(20 * time.Millisecond) // long ago
	hung.lastObs = time.Now().Add(-5 * decayTau)
	hung.mu.Unlock()
	hung.ObserveSlow(15 * time.Millisecond)
	for range 100 {
		require.Same(t, fast, s.Pick(nil), "the hung endpoint is avoided")
	}
}
