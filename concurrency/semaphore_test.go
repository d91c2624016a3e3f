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
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		}()
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

func TestSemaphore_WaiterWakesWhenAnyHolderReleases(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx := t.Context()
	a := concurrency.NewSemaphore(newSession(t, client, 30*time.Second), "/sems/any", 2)
	b := concurrency.NewSemaphore(newSession(t, client, 30*time.Second), "/sems/any", 2)
	w1 := concurrency.NewSemaphore(newSession(t, client, 30*time.Second), "/sems/any", 2)
	w2 := concurrency.NewSemaphore(newSession(t, client, 30*time.Second), "/sems/any", 2)
	require.NoError(t, a.Acquire(ctx))
	require.NoError(t, b.Acquire(ctx))
	got1, got2 := make(chan error, 1), make(chan error, 1)
	go func() { got1 <- w1.Acquire(ctx) }()
	require.Eventually(t, func() bool { return len(queueKeys(t, client, "/sems/any")) == 3 }, 5*time.Second, 10*time.Millisecond)
	go func() { got2 <- w2.Acquire(ctx) }()
	require.Eventually(t, func() bool { return len(queueKeys(t, client, "/sems/any")) == 4 }, 5*time.Second, 10*time.Millisecond)

	// b, the second holder, leaves while a stays: a permit is free, so the
	// first waiter must get it, not wait for a.
	require.NoError(t, b.Release(ctx))
	select {
	case err := <-got1:
		require.NoError(t, err)
	case <-time.After(3 * time.Second): // well under the 10 s refresh period: a release woke it, not a refresh
		t.Fatal("the first waiter did not take the permit b released")
	}
	// Now a and w1 hold and w2, which waited behind w1, is the first waiter:
	// it must wake when a leaves, though it was not watching a.
	require.NoError(t, a.Release(ctx))
	select {
	case err := <-got2:
		require.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("the next waiter did not take the permit a released")
	}
	require.True(t, w1.Held())
	require.True(t, w2.Held())
	require.NoError(t, w1.Release(ctx))
	require.NoError(t, w2.Release(ctx))
}
