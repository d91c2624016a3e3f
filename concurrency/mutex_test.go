package concurrency_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func newSession(t testing.TB, c concurrency.Client, ttl time.Duration) *concurrency.Session {
	t.Helper()
	s, err := concurrency.NewSession(c, concurrency.WithTTL(ttl))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestMutex_LockUnlockHandsOverInOrder(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx := t.Context()

	a := concurrency.NewMutex(newSession(t, client, 5*time.Second), "/locks/m", concurrency.WithOwner("a"))
	b := concurrency.NewMutex(newSession(t, client, 5*time.Second), "/locks/m", concurrency.WithOwner("b"))
	require.NoError(t, a.Lock(ctx))
	require.True(t, a.Held())

	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx) }()
	select {
	case err := <-got:
		t.Fatalf("b acquired while a holds: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	h, err := a.Holder(ctx)
	require.NoError(t, err)
	require.Equal(t, "a", h.Owner)
	require.Equal(t, a.FencingToken(), h.CreatedIndex)

	tokenA := a.FencingToken()
	require.NoError(t, a.Unlock(ctx))
	require.NoError(t, <-got)
	require.True(t, b.Held())
	require.Greater(t, b.FencingToken(), tokenA)
	require.ErrorIs(t, a.Unlock(ctx), concurrency.ErrNotLocked)

	err = a.TryLock(ctx)
	require.ErrorIs(t, err, concurrency.ErrLocked)
	require.NoError(t, b.Unlock(ctx))
	require.NoError(t, a.TryLock(ctx))
	require.NoError(t, a.Unlock(ctx))

	resp, err := client.KV().List(ctx, "/locks/m")
	require.NoError(t, err)
	require.Empty(t, resp.Node.Nodes, "every entry removed")
}

// listCounter counts the reads of dir's queue (GETs without wait=true) that
// the nodes of c receive.
func listCounter(c *deimostest.Cluster, dir string) *atomic.Int64 {
	var n atomic.Int64
	for _, node := range c.Nodes() {
		node.SetHook(func(r deimostest.Request) deimostest.Fault {
			if r.Method == http.MethodGet && r.Path == "/keys"+dir && r.Query.Get("wait") != "true" {
				n.Add(1)
			}
			return deimostest.FaultNone
		})
	}
	return &n
}

// lockAsync starts m.Lock and returns where its result goes.
func lockAsync(ctx context.Context, m *concurrency.Mutex) <-chan error {
	got := make(chan error, 1)
	go func() { got <- m.Lock(ctx) }()
	return got
}

// waitQueued waits until dir's queue has n entries.
func waitQueued(t *testing.T, client concurrency.Client, dir string, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return len(queueKeys(t, client, dir)) == n }, 5*time.Second, 5*time.Millisecond)
}

// The holder's compare-and-delete hands the lock to the waiter behind it:
// the waiter read the queue once, when it entered it.
func TestMutex_HandoverNeedsNoSecondRead(t *testing.T) {
	const dir = "/locks/handover"
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx := t.Context()
	a := concurrency.NewMutex(newSession(t, client, 10*time.Second), dir)
	b := concurrency.NewMutex(newSession(t, client, 10*time.Second), dir)
	require.NoError(t, a.Lock(ctx))
	lists := listCounter(c, dir)
	got := lockAsync(ctx, b)
	waitQueued(t, client, dir, 2)
	require.Eventually(t, func() bool { return c.Watchers() >= 2 }, 5*time.Second, time.Millisecond, "a's guard and b's watch of a")
	before := lists.Load() // b's read, and those of waitQueued
	require.NoError(t, a.Unlock(ctx))
	require.NoError(t, <-got)
	require.True(t, b.Held())
	require.Greater(t, b.FencingToken(), a.FencingToken())
	require.Equal(t, before, lists.Load(), "b took the lock without reading the queue again")
	require.NoError(t, b.Unlock(ctx))
}

// A waiter whose predecessor leaves without having held the lock (it gave
// up, or its entry expired) must not take the lock while an older entry
// still holds it.
func TestMutex_WaiterBehindADepartedWaiterKeepsWaiting(t *testing.T) {
	departures := map[string]func(t *testing.T, b *concurrency.Mutex, bs *concurrency.Session, cancel context.CancelFunc, got <-chan error){
		"gave up": func(t *testing.T, _ *concurrency.Mutex, _ *concurrency.Session, cancel context.CancelFunc, got <-chan error) {
			cancel()
			require.ErrorIs(t, <-got, context.Canceled)
		},
		"expired": func(t *testing.T, _ *concurrency.Mutex, bs *concurrency.Session, _ context.CancelFunc, _ <-chan error) {
			concurrency.Freeze(bs) // b's process pauses: its entry expires
		},
	}
	for name, depart := range departures {
		t.Run(name, func(t *testing.T) {
			const dir = "/locks/departed"
			c := deimostest.NewCluster(t, 3)
			client := newClient(t, c, 0)
			ctx := t.Context()
			a := concurrency.NewMutex(newSession(t, client, 10*time.Second), dir)
			bs := newSession(t, client, time.Second)
			b := concurrency.NewMutex(bs, dir)
			cm := concurrency.NewMutex(newSession(t, client, 10*time.Second), dir)
			require.NoError(t, a.Lock(ctx))
			bctx, cancelB := context.WithCancel(ctx)
			defer cancelB()
			gotB := lockAsync(bctx, b)
			waitQueued(t, client, dir, 2)
			gotC := lockAsync(ctx, cm)
			waitQueued(t, client, dir, 3)

			depart(t, b, bs, cancelB, gotB)
			waitQueued(t, client, dir, 2) // b's entry is gone
			select {
			case err := <-gotC:
				t.Fatalf("c took the lock while a holds it: %v", err)
			case <-time.After(300 * time.Millisecond): // c re-read the queue and watches a now
			}
			require.True(t, a.Held())
			require.NoError(t, a.Unlock(ctx))
			require.NoError(t, <-gotC)
			require.Greater(t, cm.FencingToken(), a.FencingToken())
			require.NoError(t, cm.Unlock(ctx))
		})
	}
}
