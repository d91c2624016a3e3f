package config_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/config"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestOutage_LostQuorumMakesTheValueStaleAndItCatchesUp(t *testing.T) {
	cl := newCluster(t, deimostest.WithServerTimeout(200*time.Millisecond))
	c := newClient(t, cl.Endpoints()...)
	put(t, c, "/cfg/app", Settings{Port: 1})
	v := watchSettings(t, c, "/cfg/app")
	r := record(v)
	require.False(t, v.Stale())

	cl.LoseQuorum()
	require.Eventually(t, v.Stale, eventually, tick)
	s := v.Snapshot()
	assert.Equal(t, Settings{Port: 1}, s.Value, "the last value is kept")
	assert.False(t, s.StaleSince.IsZero())
	assert.ErrorIs(t, s.Err, kv.ErrClusterUnavailable)

	// A write held by the isolated leader is applied when quorum returns.
	_, err := c.Set(t.Context(), "/cfg/app", `{"port":2}`)
	require.ErrorIs(t, err, kv.ErrUnknownOutcome)
	cl.RestoreQuorum()

	require.Eventually(t, func() bool { return !v.Stale() }, eventually, tick)
	s = v.Snapshot()
	assert.Equal(t, Settings{Port: 2}, s.Value, "fresh again only once caught up")
	assert.True(t, s.StaleSince.IsZero())
	assert.NoError(t, s.Err)
	assert.Equal(t, []change[Settings]{{Settings{Port: 1}, Settings{Port: 2}}}, r.get())
}

func TestOutage_AStoppedNodeMakesTheValueStaleAndItCatchesUp(t *testing.T) {
	cl := newCluster(t)
	writer := newClient(t, cl.Node(1).URL())
	put(t, writer, "/cfg/app", Settings{Port: 1})
	v := watchSettings(t, newClient(t, cl.Node(0).URL()), "/cfg/app")
	r := record(v)

	cl.Node(0).Stop()
	require.Eventually(t, v.Stale, eventually, tick)
	put(t, writer, "/cfg/app", Settings{Port: 2})
	assert.Equal(t, Settings{Port: 1}, v.Load())

	require.NoError(t, cl.Node(0).Start())
	require.Eventually(t, func() bool { return !v.Stale() }, eventually, tick)
	assert.Equal(t, Settings{Port: 2}, v.Load(), "fresh again only once caught up")
	assert.Equal(t, []change[Settings]{{Settings{Port: 1}, Settings{Port: 2}}}, r.get())
}

// While the watching node hangs, the key changes and then more than the
// server's 1000 events of history happen: the missed change can only come
// from listing again.
func TestOutage_AfterTheHistoryWasClearedTheValueRelistsAndGetsTheLastWrite(t *testing.T) {
	cl := newCluster(t)
	writer := newClient(t, cl.Node(1).URL())
	put(t, writer, "/hc/app/cfg", Settings{Port: 1})
	v := watchSettings(t, newClient(t, cl.Node(0).URL()), "/hc/app/cfg")
	r := record(v)

	cl.Node(0).Pause()
	putRaw(t, writer, "/hc/app/sibling", "x") // the poll's next event, soon outdated
	last := put(t, writer, "/hc/app/cfg", Settings{Port: 2})
	for i := range 1100 {
		putRaw(t, writer, "/noise/k", fmt.Sprint(i))
	}
	cl.Node(0).Resume()

	require.Eventually(t, func() bool { return v.Load().Port == 2 && !v.Stale() }, eventually, tick)
	assert.Equal(t, last, v.Snapshot().ModifiedIndex)
	assert.Equal(t, []change[Settings]{{Settings{Port: 1}, Settings{Port: 2}}}, r.get())
}

func TestOutage_WatchWithTheClusterDownReturnsAStaleDefaultThatFillsIn(t *testing.T) {
	cl := newCluster(t)
	c := newClient(t, cl.Endpoints()...)
	put(t, c, "/cfg/app", Settings{Port: 1})
	for _, n := range cl.Nodes() {
		n.Stop()
	}
	def := Settings{Port: 80}

	v := watchSettings(t, c, "/cfg/app", config.WithDefault(def), config.WithInitialTimeout[Settings](300*time.Millisecond))
	r := record(v)
	s := v.Snapshot()
	assert.True(t, s.Stale)
	assert.True(t, s.Missing)
	assert.Equal(t, def, s.Value)
	assert.Error(t, s.Err)

	for _, n := range cl.Nodes() {
		require.NoError(t, n.Start())
	}
	require.Eventually(t, func() bool { return !v.Stale() }, eventually, tick)
	assert.Equal(t, Settings{Port: 1}, v.Load())
	assert.Equal(t, []change[Settings]{{def, Settings{Port: 1}}}, r.get())
}

func TestOutage_RequireInitialFailsWhileTheClusterIsDown(t *testing.T) {
	cl := newCluster(t)
	c := newClient(t, cl.Endpoints()...)
	for _, n := range cl.Nodes() {
		n.Stop()
	}
	_, err := config.Watch(t.Context(), c, "/cfg/app",
		config.WithRequireInitial[Settings](), config.WithInitialTimeout[Settings](300*time.Millisecond))
	assert.ErrorIs(t, err, kv.ErrClusterUnavailable)
}

func TestOutage_WithoutProbesAnOutageIsNotDetectedButTheValueStillCatchesUp(t *testing.T) {
	cl := newCluster(t)
	writer := newClient(t, cl.Node(1).URL())
	put(t, writer, "/cfg/app", Settings{Port: 1})
	v, err := config.Watch(t.Context(), newClient(t, cl.Node(0).URL()), "/cfg/app", config.WithProbeInterval[Settings](0))
	require.NoError(t, err)
	defer v.Close()

	cl.Node(0).Stop()
	put(t, writer, "/cfg/app", Settings{Port: 2})
	require.NoError(t, cl.Node(0).Start())
	require.Eventually(t, func() bool { return v.Load().Port == 2 }, eventually, tick)
	assert.False(t, v.Stale())
}

// Every node answers reads but fails every watch: the watch loop retries
// quietly, and only the probes can tell that the value no longer follows.
func TestOutage_AWatchThatStopsDeliveringMakesTheValueStale(t *testing.T) {
	cl := newCluster(t)
	var broken atomic.Bool
	for _, n := range cl.Nodes() {
		n.SetHook(func(r deimostest.Request) deimostest.Fault {
			if broken.Load() && r.Query.Get("wait") == "true" {
				return deimostest.Fault500
			}
			return deimostest.FaultNone
		})
	}
	c := newClient(t, cl.Endpoints()...)
	put(t, c, "/cfg/app", Settings{Port: 1})
	v := watchSettings(t, c, "/cfg/app", config.WithProbeInterval[Settings](100*time.Millisecond))

	broken.Store(true)
	putRaw(t, c, "/cfg/sibling", "x") // answers the poll already waiting, if there is one
	put(t, c, "/cfg/app", Settings{Port: 2})
	require.Eventually(t, v.Stale, eventually, tick)
	assert.Equal(t, Settings{Port: 1}, v.Load())
	assert.ErrorContains(t, v.Err(), "not caught up")

	broken.Store(false)
	require.Eventually(t, func() bool { return !v.Stale() }, eventually, tick)
	assert.Equal(t, Settings{Port: 2}, v.Load())
}
