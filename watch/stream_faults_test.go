package watch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

// TestStream_ExactUnderNodeFaults writes 5,000 times (sets, compare-and-swaps,
// deletes, TTL keys that expire) under a recursive watch while nodes are
// stopped, paused and restarted, and requires the delivered sequence to equal
// the server's history of the prefix: no loss, no duplicate, in order.
func TestStream_ExactUnderNodeFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("long fault run; not part of -short")
	}
	c := deimostest.NewCluster(t, 3, deimostest.WithReapDelay(0, 50*time.Millisecond))
	watcher := newKV(t, c)
	writer := newKV(t, c)
	ctx := t.Context()

	s, err := watch.Watch(ctx, watcher, "/f", watch.WithRecursive(),
		watch.WithBackoff(5*time.Millisecond, 100*time.Millisecond))
	require.NoError(t, err)
	defer s.Close()
	start := s.LastIndex()

	var got []watch.Event
	received := make(chan struct{})
	var recvMu sync.Mutex
	go func() {
		defer close(received)
		for ev := range s.Events() {
			recvMu.Lock()
			got = append(got, ev)
			recvMu.Unlock()
		}
	}()

	nemesisCtx, stopNemesis := context.WithCancel(ctx)
	nemesisDone := make(chan int)
	go func() { nemesisDone <- nemesis(nemesisCtx, c) }()

	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		key := fmt.Sprintf("/f/k%d", rng.IntN(20))
		switch r := rng.IntN(100); {
		case r < 55:
			_, _ = writer.Set(ctx, key, fmt.Sprint(i))
		case r < 70:
			if cur, err := writer.Get(ctx, key); err == nil {
				_, _ = writer.CompareAndSwap(ctx, key, fmt.Sprint(i), kv.WithPrevIndex(cur.Node.ModifiedIndex))
			}
		case r < 85:
			_, _ = writer.Delete(ctx, key)
		default:
			_, _ = writer.Set(ctx, key+"-ttl", fmt.Sprint(i), kv.WithTTL(time.Second))
		}
	}
	stopNemesis()
	faults := <-nemesisDone
	require.Positive(t, faults)

	// Let every TTL key expire, then write a sentinel: once it arrives, the
	// stream has seen everything before it.
	require.Eventually(t, func() bool { return !anyTTL(t, writer, "/f") }, 30*time.Second, 50*time.Millisecond)
	end, err := writer.Set(ctx, "/f/end", "end")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.LastIndex() >= end.Index }, 30*time.Second, 10*time.Millisecond)
	s.Close()
	<-received

	want := history(c, "/f", start)
	recvMu.Lock()
	defer recvMu.Unlock()
	require.Equal(t, len(want), len(got), "events delivered vs server history")
	assert.Equal(t, want, triples(got))
	for i := 1; i < len(got); i++ {
		require.Greater(t, got[i].Index(), got[i-1].Index())
	}
	t.Logf("%d events compared, %d faults injected", len(got), faults)
}

// nemesis stops, pauses and restarts nodes (never more than one at a time, so
// a quorum of answers stays reachable) until ctx ends, and returns how many
// faults it injected.
func nemesis(ctx context.Context, c *deimostest.Cluster) int {
	rng := rand.New(rand.NewPCG(3, 4))
	faults := 0
	for ctx.Err() == nil {
		n := c.Node(rng.IntN(len(c.Nodes())))
		hold := time.Duration(20+rng.IntN(80)) * time.Millisecond
		if rng.IntN(2) == 0 {
			n.Stop()
			wait.Sleep(ctx, hold)
			_ = n.Start()
		} else {
			n.Pause()
			wait.Sleep(ctx, hold)
			n.Resume()
		}
		faults++
		wait.Sleep(ctx, hold)
	}
	return faults
}

func anyTTL(t *testing.T, k *kv.KV, prefix string) bool {
	resp, err := k.Get(t.Context(), prefix, kv.WithRecursive())
	if err != nil {
		return true
	}
	var walk func(n *kv.Node) bool
	walk = func(n *kv.Node) bool {
		if n.Expiration != nil {
			return true
		}
		for _, c := range n.Nodes {
			if walk(c) {
				return true
			}
		}
		return false
	}
	return walk(resp.Node)
}

// TestStream_NodePausedMidPollIsAbandoned pauses the node that holds the
// stream's long poll after the poll's headers arrived (a SIGSTOPped process:
// the connection stays open, nothing more comes). The stream must notice and
// continue on another node instead of hanging until the node resumes.
func TestStream_NodePausedMidPollIsAbandoned(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()

	// Record which node receives each long poll.
	var polled atomic.Pointer[deimostest.Node]
	for _, n := range c.Nodes() {
		n.SetHook(func(r deimostest.Request) deimostest.Fault {
			if r.Query.Get("wait") == "true" {
				polled.Store(n)
			}
			return deimostest.FaultNone
		})
	}
	s, err := watch.Watch(ctx, k, "/paused")
	require.NoError(t, err)
	defer s.Close()
	require.Eventually(t, func() bool { return polled.Load() != nil }, 5*time.Second, time.Millisecond)
	holder := polled.Load()
	holder.Pause()
	defer holder.Resume()

	var others []string
	for _, n := range c.Nodes() {
		if n != holder {
			others = append(others, n.URL())
		}
	}
	resp, err := newKVFor(t, others...).Set(ctx, "/paused", "moved on")
	require.NoError(t, err)
	select {
	case ev := <-s.Events():
		assert.Equal(t, resp.Index, ev.Index())
	case <-time.After(15 * time.Second):
		require.FailNow(t, "the stream hung on the paused node")
	}
}
