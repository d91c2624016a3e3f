package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// fastTuning shortens cool-downs so tests see recovery within a second.
func fastTuning(rt time.Duration) *tuning {
	tu := defaultTuning(rt)
	tu.endpoints = endpoints.Options{CooldownBase: 100 * time.Millisecond, CooldownMax: 400 * time.Millisecond}
	return &tu
}

func clusterTransport(t *testing.T, c *deimostest.Cluster, mod ...func(*Config)) *Transport {
	t.Helper()
	cfg := Config{Endpoints: c.Endpoints(), RequestTimeout: time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	tr, err := newTransport(cfg, fastTuning(cfg.RequestTimeout))
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

func set(t *testing.T, tr *Transport, key, value string) {
	t.Helper()
	_, err := tr.Do(context.Background(), putReq(key, map[string]string{"value": value}), nil)
	require.NoError(t, err)
}

func TestCluster_StoppedNodeReadsNeverFail(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	tr := clusterTransport(t, c)
	set(t, tr, "/a", "v")
	c.Node(1).Stop()

	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		var out wireResp
		_, err := tr.Do(ctx, getReq("/a"), &out)
		require.NoError(t, err, "GET %d", i)
		require.Equal(t, "v", out.Node.Value)
	}
}

func TestCluster_PausedNodeWithHedgingCostsOnlyTheHedgeDelay(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	const timeout = 2 * time.Second
	tr := clusterTransport(t, c, func(cfg *Config) { cfg.RequestTimeout = timeout })
	set(t, tr, "/a", "v")
	paused := c.Node(0)
	paused.Pause()
	defer paused.Resume()

	// Read until a few GETs were sent to the paused node (selection decides
	// when), and a while after.
	before := paused.Requests("GET")
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; paused.Requests("GET") == before || i < 200; i++ {
		require.True(t, time.Now().Before(deadline), "the paused node never got a GET")
		start := time.Now()
		_, err := tr.Do(context.Background(), getReq("/a"), nil)
		took := time.Since(start)
		require.NoError(t, err)
		// A hung node costs the hedge delay (at most hedgeCap), never an
		// attempt timeout.
		require.Less(t, took, tr.tune.hedgeCap+timeout/4, "GET %d", i)
	}
	// Losing hedges does not make the paused node look dead.
	for _, st := range tr.Endpoints() {
		assert.Equal(t, "healthy", st.State, st.URL)
	}
}

func TestCluster_PausedNodeWithoutHedgingCostsOneTimeoutThenIsAvoided(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	const timeout = 300 * time.Millisecond
	tr := clusterTransport(t, c, func(cfg *Config) {
		cfg.RequestTimeout = timeout
		cfg.DisableHedging = true
	})
	set(t, tr, "/a", "v")
	paused := c.Node(0)
	paused.Pause()

	get := func() time.Duration {
		start := time.Now()
		_, err := tr.Do(context.Background(), getReq("/a"), nil)
		require.NoError(t, err)
		return time.Since(start)
	}
	before := paused.Requests("GET")
	deadline := time.Now().Add(10 * time.Second)
	for paused.Requests("GET") == before {
		require.True(t, time.Now().Before(deadline), "the paused node never got a GET")
		if get() >= timeout {
			break
		}
	}
	// The GET that reached the paused node paid one attempt timeout (and
	// succeeded elsewhere). From now on the node gets no GET while paused,
	// and no GET is slow.
	sent := paused.Requests("GET")
	require.Equal(t, before+1, sent)
	for i := 0; i < 300; i++ {
		require.Less(t, get(), timeout, "GET %d", i)
	}
	// Keep reading through several cool-downs and failed probes.
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		require.Less(t, get(), timeout)
	}
	assert.Equal(t, sent, paused.Requests("GET"), "no GET reaches the paused node")

	paused.Resume()
	require.Eventually(t, func() bool {
		return get() < timeout && paused.Requests("GET") > sent
	}, 5*time.Second, time.Millisecond, "traffic returns once the node answers its probe")
}

func TestCluster_DroppedWriteResponseIsUnknownOutcomeAndSentOnce(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	tr := clusterTransport(t, c)
	for _, n := range c.Nodes() {
		n.SetHook(deimostest.FailNext("PUT", "/keys/drop", deimostest.FaultDropResponse, 1))
	}
	before := c.Requests("PUT")
	_, err := tr.Do(context.Background(), putReq("/drop", map[string]string{"value": "v"}), nil)
	require.ErrorIs(t, err, ErrUnknownOutcome)
	var uo *UnknownOutcomeError
	require.ErrorAs(t, err, &uo)
	assert.NotEmpty(t, uo.Endpoint)
	assert.Equal(t, before+1, c.Requests("PUT"), "the write was sent exactly once")
	assert.Len(t, c.History("/drop"), 1, "and applied once")
}

func TestCluster_WriteToStoppedNodeFailsOverOnce(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	tr := clusterTransport(t, c)
	c.Node(2).Stop()
	before := c.Requests("PUT")
	const n = 30
	for i := 0; i < n; i++ {
		_, err := tr.Do(context.Background(), putReq(fmt.Sprintf("/fo/%d", i), map[string]string{"value": "v"}), nil)
		require.NoError(t, err)
	}
	assert.Equal(t, before+n, c.Requests("PUT"))
	assert.Len(t, c.History("/fo"), n)
}

func TestCluster_LostQuorum(t *testing.T) {
	c := deimostest.NewCluster(t, 3, deimostest.WithServerTimeout(2*time.Second))
	tr := clusterTransport(t, c, func(cfg *Config) { cfg.RequestTimeout = 150 * time.Millisecond })
	set(t, tr, "/q", "v")
	c.LoseQuorum()
	defer c.RestoreQuorum()

	t.Run("reads end with cluster unavailable at the deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		defer cancel()
		_, err := tr.Do(ctx, getReq("/q"), nil)
		require.ErrorIs(t, err, ErrClusterUnavailable)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var ce *ClusterError
		require.ErrorAs(t, err, &ce)
		assert.NotEmpty(t, ce.Endpoints)
		for _, ee := range ce.Endpoints {
			assert.ErrorIs(t, ee.Err, ErrAttemptTimeout, ee.Endpoint)
		}
	})
	t.Run("writes end with unknown outcome", func(t *testing.T) {
		before := c.Requests("PUT")
		_, err := tr.Do(context.Background(), putReq("/q", map[string]string{"value": "w"}), nil)
		require.ErrorIs(t, err, ErrUnknownOutcome)
		require.ErrorIs(t, err, ErrAttemptTimeout)
		assert.Equal(t, before+1, c.Requests("PUT"))
	})
}

func TestCluster_AutoSyncPicksUpNewMember(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	tr := clusterTransport(t, c, func(cfg *Config) {
		cfg.Endpoints = c.Endpoints()[:1]
		cfg.AutoSyncInterval = 20 * time.Millisecond
	})
	urls := func() []string {
		var out []string
		for _, st := range tr.Endpoints() {
			out = append(out, st.URL)
		}
		return out
	}
	require.Eventually(t, func() bool { return len(urls()) == 3 }, 5*time.Second, 10*time.Millisecond)

	n, err := c.AddNode()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return slices.Contains(urls(), n.URL()) }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		_, err := tr.Do(context.Background(), getReq("/"), nil)
		return err == nil && n.Requests("GET") > 0
	}, 5*time.Second, time.Millisecond, "the new member takes traffic")
}

func TestCluster_GarbageMachinesIgnored(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	tr := clusterTransport(t, c)
	for _, n := range c.Nodes() {
		n.SetHook(deimostest.FailNext("GET", "/machines", deimostest.FaultGarbage, 100))
	}
	err := tr.Sync(context.Background())
	require.ErrorIs(t, err, ErrMalformedResponse)
	assert.Len(t, tr.Endpoints(), 3)
}

// countingClient dials through a counter, to prove connections are reused.
func countingClient(dials *atomic.Int64) *http.Client {
	d := &net.Dialer{Timeout: time.Second}
	return &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 64,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func TestCluster_SteadyWorkloadDoesNotDialPerRequest(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	ctx := context.Background()
	parallel := func(tr *Transport) {
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					if _, err := tr.Do(ctx, getReq("/a"), nil); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}

	t.Run("without hedging every connection is reused", func(t *testing.T) {
		var dials atomic.Int64
		hc := countingClient(&dials)
		defer hc.CloseIdleConnections()
		tr := clusterTransport(t, c, func(cfg *Config) { cfg.HTTPClient = hc; cfg.DisableHedging = true })
		set(t, tr, "/a", "v")
		for i := 0; i < 300; i++ {
			_, err := tr.Do(ctx, getReq("/a"), nil)
			require.NoError(t, err)
			_, err = tr.Do(ctx, putReq("/a", map[string]string{"value": "v"}), nil)
			require.NoError(t, err)
		}
		assert.LessOrEqual(t, dials.Load(), int64(3), "sequential: one connection per node")
		parallel(tr) // the pool grows to the concurrency
		parallel(tr)
		warm := dials.Load()
		for i := 0; i < 3; i++ {
			parallel(tr)
		}
		// The pools may still grow to the 16 concurrent requests (power-of-two
		// picking varies per endpoint); a dial per request would be 2400.
		assert.LessOrEqual(t, dials.Load()-warm, int64(16), "parallel: 2400 requests reuse the pool")
	})
	t.Run("with hedging only hung losers cost a connection", func(t *testing.T) {
		var dials atomic.Int64
		hc := countingClient(&dials)
		defer hc.CloseIdleConnections()
		tr := clusterTransport(t, c, func(cfg *Config) { cfg.HTTPClient = hc })
		parallel(tr)
		parallel(tr)
		warm, lost, cut, sent := dials.Load(), tr.primariesLost.Load(), tr.hedgesCut.Load(), tr.hedgesSent.Load()
		for i := 0; i < 3; i++ {
			parallel(tr)
		}
		extra, lost, cut, sent := dials.Load()-warm, tr.primariesLost.Load()-lost, tr.hedgesCut.Load()-cut, tr.hedgesSent.Load()-sent
		t.Logf("2400 reads: %d hedges, %d won by the hedge, %d hedges cut, %d dials", sent, lost, cut, extra)
		// Only a primary cut because its hedge answered first, or a losing
		// hedge cut after its grace period (a loaded machine), costs a
		// connection. Besides, the pools may still grow: power-of-two
		// picking can put more of the 16 concurrent reads on one endpoint
		// than the warm-up did, so up to 16 connections may be new. A dial
		// per request would be 2400. The hedge budget keeps hedges to about
		// a tenth of the reads.
		assert.LessOrEqual(t, extra, sent+lost+cut+16)
		assert.LessOrEqual(t, sent, int64(2400/10+hedgeBurst/hedgeCost))
	})
}

func TestCluster_ContextCancelledWriteInFlightIsUnknownOutcome(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	tr := clusterTransport(t, c)
	for _, n := range c.Nodes() {
		n.SetLatency(time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := tr.Do(ctx, putReq("/slow", map[string]string{"value": "v"}), nil)
	require.ErrorIs(t, err, ErrUnknownOutcome)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, errors.Is(err, ErrClusterUnavailable))
}

func TestCluster_LongPollOutlivesTheAttemptTimeout(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	const timeout = 150 * time.Millisecond
	tr := clusterTransport(t, c, func(cfg *Config) { cfg.RequestTimeout = timeout })
	watch := &Request{Op: "watch", Method: http.MethodGet, Key: "/w", Path: "/keys/w",
		Params: map[string][]string{"wait": {"true"}}, Class: LongPoll}

	got := make(chan error, 1)
	var out wireResp
	go func() {
		_, err := tr.Do(context.Background(), watch, &out)
		got <- err
	}()
	// The watch is still waiting well after one attempt timeout...
	select {
	case err := <-got:
		t.Fatalf("watch ended early: %v", err)
	case <-time.After(3 * timeout):
	}
	// ...and delivers the event when it comes.
	set(t, tr, "/w", "event")
	require.NoError(t, <-got)
	assert.Equal(t, "event", out.Node.Value)

	// A watch on a paused node gives up after one attempt timeout, once.
	tr1 := clusterTransport(t, c, func(cfg *Config) {
		cfg.RequestTimeout = timeout
		cfg.Endpoints = c.Endpoints()[:1]
	})
	c.Node(0).Pause()
	defer c.Node(0).Resume()
	before := c.Node(0).Requests("GET")
	_, err := tr1.Do(context.Background(), watch, nil)
	require.ErrorIs(t, err, ErrAttemptTimeout)
	assert.Equal(t, before+1, c.Node(0).Requests("GET"), "long polls are attempted once")
}

func TestCluster_LongPollOnANodeThatHangsAfterHeadersIsCut(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	const timeout = 150 * time.Millisecond
	tr := clusterTransport(t, c, func(cfg *Config) { cfg.RequestTimeout = timeout })
	watch := &Request{Op: "watch", Method: http.MethodGet, Key: "/hang", Path: "/keys/hang",
		Params: map[string][]string{"wait": {"true"}}, Class: LongPoll}

	polls := c.Node(0).Requests(http.MethodGet)
	got := make(chan error, 1)
	go func() {
		var out wireResp
		_, err := tr.Do(context.Background(), watch, &out)
		got <- err
	}()
	require.Eventually(t, func() bool { return c.Node(0).Requests(http.MethodGet) > polls },
		5*time.Second, time.Millisecond)
	// The node received the poll (and flushes its headers at once); now it
	// stops answering anything, like a SIGSTOPped process.
	c.Node(0).Pause()
	defer c.Node(0).Resume()
	select {
	case err := <-got:
		require.ErrorIs(t, err, ErrEndpointUnresponsive)
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll waited on a hung node")
	}
	snap := tr.Endpoints()
	require.Len(t, snap, 1)
	assert.NotEqual(t, "healthy", snap[0].State, "the hung node is no longer trusted")
}
