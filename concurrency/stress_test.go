package concurrency_test

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// fencedResource is what a lock protects: it accepts a write only with a
// fencing token above every token it has seen.
type fencedResource struct {
	mu     sync.Mutex
	last   uint64
	grants []uint64
	stale  int
}

func (r *fencedResource) write(token uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if token <= r.last {
		r.stale++
		return
	}
	r.last = token
	r.grants = append(r.grants, token)
}

// nemesis stops, pauses and restarts one node at a time until ctx ends.
func nemesis(ctx context.Context, c *deimostest.Cluster) {
	for i := 0; ; i++ {
		n := c.Node(i % 3)
		hold := time.Duration(100+rand.IntN(300)) * time.Millisecond
		if i%2 == 0 {
			n.Stop()
			sleepUntil(ctx, hold)
			_ = n.Start()
		} else {
			n.Pause()
			sleepUntil(ctx, hold)
			n.Resume()
		}
		if !sleepUntil(ctx, 200*time.Millisecond) {
			return
		}
	}
}

func sleepUntil(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

func TestMutex_ExclusiveFencedAndFIFOUnderNodeFaults(t *testing.T) {
	const contenders, rounds = 16, 20
	c := deimostest.NewCluster(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()

	var holders, overlaps atomic.Int32
	res := &fencedResource{}
	nctx, stopNemesis := context.WithCancel(ctx)
	nemesisDone := make(chan struct{})
	go func() { defer close(nemesisDone); nemesis(nctx, c) }()

	var wg sync.WaitGroup
	errs := make(chan error, contenders)
	for i := range contenders {
		client := newClient(t, c, i)
		s := newSession(t, client, 4*time.Second)
		m := concurrency.NewMutex(s, "/locks/stress")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if err := m.Lock(ctx); err != nil {
					errs <- err
					return
				}
				if holders.Add(1) != 1 {
					overlaps.Add(1)
				}
				res.write(m.FencingToken())
				time.Sleep(time.Millisecond) // stay inside a little
				holders.Add(-1)
				if err := m.Unlock(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	stopNemesis()
	<-nemesisDone
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, overlaps.Load(), "critical sections overlapped")
	require.Zero(t, res.stale, "a holder wrote with a stale fencing token")
	require.Len(t, res.grants, contenders*rounds)

	// FIFO: every entry ever queued that was not removed by its own
	// contender giving up was granted, in createdIndex order.
	var created []uint64
	for _, ev := range c.History("/locks/stress") {
		if ev.Action == "create" && ev.Node.Key != "/locks/stress" {
			created = append(created, ev.Node.CreatedIndex)
		}
	}
	require.True(t, sort.SliceIsSorted(res.grants, func(i, j int) bool { return res.grants[i] < res.grants[j] }))
	require.Equal(t, created, res.grants, "grant order is queue order, no entry skipped")
}
