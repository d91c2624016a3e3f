package concurrency_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestDistributedLock_TimeoutMatchesDeadlineExceeded(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx := t.Context()
	a := concurrency.NewDistributedLock(client, "/locks/dl", "owner-a")
	b := concurrency.NewDistributedLock(client, "/locks/dl", "owner-b")
	require.NoError(t, a.Lock(ctx))
	defer a.Unlock(ctx)

	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := b.Lock(tctx)
	require.ErrorIs(t, err, concurrency.ErrLockTimeout)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, b.IsHeld())

	err = b.TryLock(ctx)
	require.ErrorIs(t, err, concurrency.ErrLockAlreadyHeld)
	require.Contains(t, err.Error(), `"owner-a"`, "the holder's owner is named")
	h, err := b.Holder(ctx)
	require.NoError(t, err)
	require.Equal(t, "owner-a", h.Owner)
	require.Equal(t, a.FencingToken(), h.CreatedIndex)
	require.ErrorIs(t, b.Unlock(ctx), concurrency.ErrLockNotHeld)
	require.ErrorIs(t, b.Renew(ctx), concurrency.ErrLockNotHeld)
}

func TestDistributedLock_InfoAndRenew(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 1)
	ctx := t.Context()
	l := concurrency.NewDistributedLock(client, "/locks/info", "me", concurrency.WithTTL(3*time.Second))
	info := l.Info()
	require.False(t, info.Held)
	require.Equal(t, "/locks/info", info.Key)
	require.Equal(t, 3*time.Second, info.TTL)
	require.True(t, info.AutoRenewal, "auto-renewal is on by default")

	require.NoError(t, l.Lock(ctx))
	info = l.Info()
	require.True(t, info.Held)
	require.Equal(t, "me", info.Owner)
	require.Equal(t, info.FencingToken, l.FencingToken())
	require.NotZero(t, info.LastIndex)
	require.NoError(t, l.Renew(ctx))
	require.Greater(t, l.Info().LastIndex, info.LastIndex, "a renewal is a write")
	require.NoError(t, l.Unlock(ctx))
	require.False(t, l.IsHeld())
}

func TestDistributedLock_WithoutAutoRenewalExpiresAfterTTL(t *testing.T) {
	const ttl = time.Second
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 2)
	ctx := t.Context()
	l := concurrency.NewDistributedLock(client, "/locks/norenew", "me",
		concurrency.WithTTL(ttl), concurrency.WithAutoRenewal(false))
	require.NoError(t, l.Lock(ctx))
	select {
	case <-l.Lost():
	case <-time.After(ttl + 3*time.Second):
		t.Fatal("an unrenewed lock was not lost after its TTL")
	}
	require.False(t, l.IsHeld())
	require.ErrorIs(t, l.Unlock(ctx), concurrency.ErrLockLost)

	// With renewal started, the same lock outlives several TTLs.
	require.NoError(t, l.Lock(ctx))
	l.StartAutoRenewal(ctx, 300*time.Millisecond)
	select {
	case <-l.Lost():
		t.Fatal("a renewed lock was lost")
	case <-time.After(3 * ttl):
	}
	require.True(t, l.IsHeld())
	l.StopAutoRenewal()
	require.NoError(t, l.Unlock(ctx))
}

func TestWithLock_RunsFnUnderTheLockAndReleases(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx := t.Context()
	boom := errors.New("boom")
	var token uint64
	err := concurrency.WithLock(ctx, client, "/locks/with", "w", func() error {
		h, err := concurrency.NewDistributedLock(client, "/locks/with", "x").Holder(ctx)
		require.NoError(t, err)
		token = h.CreatedIndex
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.NotZero(t, token)
	require.Empty(t, queueKeys(t, client, "/locks/with"), "released after fn")
}

// The fenced form hands fn the holder's fencing token, and a context that
// ends as soon as the lock is lost.
func TestWithFencedLock_GivesTheTokenAndEndsFnsContextWhenLost(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx := t.Context()
	var token uint64
	err := concurrency.WithFencedLock(ctx, client, "/locks/fenced", "w", func(held context.Context, tok uint64) error {
		h, err := concurrency.NewDistributedLock(client, "/locks/fenced", "x").Holder(ctx)
		require.NoError(t, err)
		require.Equal(t, h.CreatedIndex, tok, "the token is the holder's createdIndex")
		token = tok
		require.NoError(t, held.Err(), "held while the lock is")
		return nil
	})
	require.NoError(t, err)
	require.NotZero(t, token)
	require.Empty(t, queueKeys(t, client, "/locks/fenced"), "released after fn")

	// Someone removes the holder's entry: fn's context ends, the call says so.
	err = concurrency.WithFencedLock(ctx, client, "/locks/fenced", "w", func(held context.Context, _ uint64) error {
		keys := queueKeys(t, client, "/locks/fenced")
		require.Len(t, keys, 1)
		_, err := client.KV().Delete(ctx, keys[0])
		require.NoError(t, err)
		select {
		case <-held.Done():
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("fn's context outlived the lock")
		}
	})
	require.ErrorIs(t, err, concurrency.ErrLockLost)
}

func TestSession_KeepsKeysAlivePastTheirTTLAndCloseDeletesThem(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx := t.Context()
	s, err := concurrency.NewSession(client, concurrency.WithTTL(time.Second))
	require.NoError(t, err)
	m := concurrency.NewMutex(s, "/locks/session")
	require.NoError(t, m.Lock(ctx))
	select {
	case <-s.Done():
		t.Fatalf("session ended: %v", s.Err())
	case <-time.After(2500 * time.Millisecond): // more than two TTLs
	}
	require.True(t, m.Held())
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Err(), concurrency.ErrSessionClosed)
	require.Empty(t, queueKeys(t, client, "/locks/session"))
}

func TestSession_RejectsInvalidTTL(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	_, err := concurrency.NewSession(newClient(t, c, 0), concurrency.WithTTL(100*time.Millisecond))
	require.ErrorIs(t, err, concurrency.ErrInvalidOption)
}

// A StartAutoRenewal whose previous context ends at the same moment must not
// be undone by that context's late callback.
func TestDistributedLock_RestartedAutoRenewalStaysOn(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	client := newClient(t, c, 0)
	l := concurrency.NewDistributedLock(client, "/locks/restart", "owner", concurrency.WithAutoRenewal(false))
	keep, stop := context.WithCancel(t.Context())
	defer stop()
	for range 300 {
		old, cancel := context.WithCancel(t.Context())
		l.StartAutoRenewal(old, time.Second)
		cancel() // its callback races with the next Start
		l.StartAutoRenewal(keep, time.Second)
	}
	require.Never(t, func() bool { return !l.Info().AutoRenewal }, 200*time.Millisecond, time.Millisecond,
		"a stale context turned renewal off")
}
