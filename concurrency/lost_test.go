package concurrency_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// holder is the shape every recipe shares: take, hold, lose, give back.
type holder interface {
	take(ctx context.Context) error
	giveBack(ctx context.Context) error
	Held() bool
	Lost() <-chan struct{}
	Key() string
}

type mutexHolder struct{ *concurrency.Mutex }

func (m mutexHolder) take(ctx context.Context) error     { return m.Lock(ctx) }
func (m mutexHolder) giveBack(ctx context.Context) error { return m.Unlock(ctx) }

type semaphoreHolder struct{ *concurrency.Semaphore }

func (m semaphoreHolder) take(ctx context.Context) error     { return m.Acquire(ctx) }
func (m semaphoreHolder) giveBack(ctx context.Context) error { return m.Release(ctx) }

type electionHolder struct{ *concurrency.Election }

func (e electionHolder) take(ctx context.Context) error     { return e.Campaign(ctx, "me") }
func (e electionHolder) giveBack(ctx context.Context) error { return e.Resign(ctx) }

// holdersOn returns a client of a fresh 3-node cluster, whose first
// endpoint is node first, and a holder of each kind on one session of it.
func holdersOn(t *testing.T, first int) (concurrency.Client, map[string]holder) {
	t.Helper()
	client := newClient(t, deimostest.NewCluster(t, 3), first)
	return client, holders(newSession(t, client, 10*time.Second))
}

func holders(s *concurrency.Session) map[string]holder {
	return map[string]holder{
		"mutex":     mutexHolder{concurrency.NewMutex(s, "/lost/mutex")},
		"semaphore": semaphoreHolder{concurrency.NewSemaphore(s, "/lost/semaphore", 2)},
		"election":  electionHolder{concurrency.NewElection(s, "/lost/election")},
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestLost_ClosedWhenTheEntryIsDeletedBehindTheHoldersBack(t *testing.T) {
	client, hs := holdersOn(t, 0)
	ctx := t.Context()
	for name, h := range hs {
		t.Run(name, func(t *testing.T) {
			require.Nil(t, h.Lost(), "no channel before anything is held")
			require.NoError(t, h.take(ctx))
			lost := h.Lost()
			require.False(t, isClosed(lost))
			require.True(t, h.Held())
			_, err := client.KV().Delete(ctx, h.Key())
			require.NoError(t, err)
			select {
			case <-lost:
			case <-time.After(5 * time.Second): // well under the 10 s TTL: the watch told, not a refresh
				t.Fatal("Lost did not fire after the entry was deleted")
			}
			require.False(t, h.Held())
			_ = h.giveBack(ctx)
		})
	}
}

func TestLost_NotClosedByARelease(t *testing.T) {
	_, hs := holdersOn(t, 1)
	ctx := t.Context()
	for name, h := range hs {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, h.take(ctx))
			lost := h.Lost()
			require.NoError(t, h.giveBack(ctx))
			require.Nil(t, h.Lost())
			require.Never(t, func() bool { return isClosed(lost) }, 300*time.Millisecond, 10*time.Millisecond,
				"the guard took our own release for a loss")
			require.NoError(t, h.take(ctx))
			require.NotEqual(t, lost, h.Lost(), "each acquisition has its own channel")
			require.NoError(t, h.giveBack(ctx))
		})
	}
}

func TestLost_ClosedWhenTheSessionEnds(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 2)
	ctx := t.Context()
	s, err := concurrency.NewSession(client, concurrency.WithTTL(10*time.Second))
	require.NoError(t, err)
	hs := holders(s)
	for _, h := range hs {
		require.NoError(t, h.take(ctx))
	}
	require.NoError(t, s.Close())
	for name, h := range hs {
		require.True(t, isClosed(h.Lost()), name)
		require.False(t, h.Held(), name)
	}
	require.Empty(t, queueKeys(t, client, "/lost/mutex"))
	require.Empty(t, queueKeys(t, client, "/lost/semaphore"))
	require.Empty(t, queueKeys(t, client, "/lost/election"))
}
