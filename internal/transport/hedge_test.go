package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
)

// newHedgeRig starts two servers answering with h and a transport over them
// whose hedge delay is fixed at delay (mod may change its configuration). It returns the transport, the count of
// connections it dialled, and a check that no attempt is in flight.
func newHedgeRig(t *testing.T, h http.HandlerFunc, delay time.Duration, mod ...func(*Config)) (*Transport, *atomic.Int64, func() bool) {
	t.Helper()
	s1, s2 := httptest.NewServer(h), httptest.NewServer(h)
	t.Cleanup(s1.Close)
	t.Cleanup(s2.Close)
	dials := new(atomic.Int64)
	hc := countingClient(dials)
	t.Cleanup(hc.CloseIdleConnections)
	tu := defaultTuning(time.Second)
	tu.hedgeFloor, tu.hedgeCap, tu.hedgeDefault = delay, delay, delay
	cfg := Config{Endpoints: []string{s1.URL, s2.URL}, RequestTimeout: time.Second, HTTPClient: hc}
	for _, m := range mod {
		m(&cfg)
	}
	tr, err := newTransport(cfg, &tu)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	idle := func() bool {
		for _, st := range tr.Endpoints() {
			if st.InFlight != 0 {
				return false
			}
		}
		return true
	}
	return tr, dials, idle
}

// A hedge that loses is never cut, however late it answers: its answer is
// drained and its connection goes back to the pool.
func TestHedge_ALateLoserKeepsItsConnection(t *testing.T) {
	var seq atomic.Int64
	h := func(w http.ResponseWriter, r *http.Request) {
		// Calls are sequential: odd requests are primaries, even ones hedges,
		// which answer long after their primary.
		d := 30 * time.Millisecond
		if seq.Add(1)%2 == 0 {
			d = 400 * time.Millisecond
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, okBody)
	}
	tr, dials, idle := newHedgeRig(t, h, 20*time.Millisecond)
	const calls = 4
	for i := 0; i < calls; i++ {
		_, err := tr.Do(context.Background(), getReq("/a"), nil)
		require.NoError(t, err)
		require.Eventually(t, idle, 2*time.Second, time.Millisecond, "the losing hedge ends")
	}
	require.Equal(t, int64(calls), tr.hedgesSent.Load())
	require.Zero(t, tr.primariesLost.Load())
	require.Zero(t, tr.hedgesCut.Load())
	assert.LessOrEqual(t, dials.Load(), int64(2), "one connection per server, reused")
}

// The hedge delay follows the other nodes, not the primary's own latency:
// a primary that is always slow is hedged as soon as twice what the others
// take has passed, and a cluster whose nodes are alike is hedged no sooner
// than twice their latency.
func TestHedgeDelay_IsRelativeToTheOtherNodes(t *testing.T) {
	tr, err := newTransport(Config{Endpoints: []string{"http://a:1", "http://b:1", "http://c:1"}}, nil)
	require.NoError(t, err)
	defer tr.Close()
	tr.tune.hedgeFloor, tr.tune.hedgeCap, tr.tune.hedgeDefault = time.Millisecond, time.Second, 50*time.Millisecond
	eps := map[string]*endpoints.Endpoint{}
	for len(eps) < 3 {
		ep := tr.set.Pick(nil)
		eps[ep.URL()] = ep
	}
	a, b, c := eps["http://a:1"], eps["http://b:1"], eps["http://c:1"]
	assert.Equal(t, 50*time.Millisecond, tr.hedgeDelay(a), "no samples: the default")
	for range 64 {
		a.ObserveLatency(200 * time.Millisecond)
		b.ObserveLatency(10 * time.Millisecond)
		c.ObserveLatency(20 * time.Millisecond)
	}
	assert.Equal(t, 20*time.Millisecond, tr.hedgeDelay(a), "the slow node is hedged after twice the fastest peer")
	assert.Equal(t, 40*time.Millisecond, tr.hedgeDelay(b))
	tr.tune.hedgeFloor = 30 * time.Millisecond
	assert.Equal(t, 30*time.Millisecond, tr.hedgeDelay(a), "never sooner than the floor")
}

// Hedges that lose cost the budget more than those that win, so that when
// the whole cluster is uniformly slow they become rarer.
func TestHedgeBudget_LosingHedgesShrinkIt(t *testing.T) {
	count := func(lose bool) int {
		var b hedgeBudget
		b.credit.Store(hedgeBurst)
		sent := 0
		for range 3000 {
			b.earn()
			if b.take() {
				sent++
				if lose {
					b.wasted()
				}
			}
		}
		return sent
	}
	won, lost := count(false), count(true)
	assert.InDelta(t, 3000/hedgeCost, won, 25, "winning hedges: about one read in ten")
	assert.InDelta(t, 3000/(hedgeCost+hedgeWaste), lost, 25, "losing hedges: about one in thirty")
}
