package concurrency_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestSemaphore_NeverMoreHoldersThanPermits(t *testing.T) {
	const permits, contenders, rounds = 3, 8, 5
	c := deimostest.NewCluster(t, 3)
	ctx := t.Context()
	var inside, peak atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, contenders)
	for i := range contenders {
		sem := concurrency.NewSemaphore(newSession(t, newClient(t, c, i), 5*time.Second), "/sems/pool", permits)
		wg.Go(func() {
			for range rounds {
				if err := sem.Acquire(ctx); err != nil {
					errs <- err
					return
				}
				n := inside.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(2 * time.Millisecond)
				inside.Add(-1)
				if err := sem.Release(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.LessOrEqual(t, peak.Load(), int32(permits))
	require.Greater(t, peak.Load(), int32(1), "permits are actually shared")
}

func TestSemaphore_TryAcquireFailsWhenFull(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx := t.Context()
	a := concurrency.NewSemaphore(newSession(t, client, 5*time.Second), "/sems/two", 2)
	b := concurrency.NewSemaphore(newSession(t, client, 5*time.Second), "/sems/two", 2)
	x := concurrency.NewSemaphore(newSession(t, client, 5*time.Second), "/sems/two", 2)
	require.NoError(t, a.TryAcquire(ctx))
	require.NoError(t, b.TryAcquire(ctx))
	require.ErrorIs(t, x.TryAcquire(ctx), concurrency.ErrNoPermit)
	require.Len(t, queueKeys(t, client, "/sems/two"), 2, "the failed try removed its entry")
	require.NoError(t, a.Release(ctx))
	require.NoError(t, x.TryAcquire(ctx))
	require.ErrorIs(t, a.Release(ctx), concurrency.ErrNotAcquired)
	require.ErrorIs(t, concurrency.NewSemaphore(nil, "/sems/zero", 0).Acquire(ctx), concurrency.ErrInvalidOption)
}
