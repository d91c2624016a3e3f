package concurrency_test

import (
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
