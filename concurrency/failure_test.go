package concurrency_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// queueKeys lists the entries left under dir.
func queueKeys(t *testing.T, client concurrency.Client, dir string) []string {
	t.Helper()
	resp, err := client.KV().List(context.Background(), dir, kv.WithNumericOrder())
	if errors.Is(err, kv.ErrKeyNotFound) {
		return nil
	}
	require.NoError(t, err)
	var keys []string
	for _, n := range resp.Node.Nodes {
		keys = append(keys, n.Key)
	}
	return keys
}

func TestMutex_CrashedHolderReplacedWithinOneTTL(t *testing.T) {
	const ttl = 2 * time.Second
	// The server reaps late, as the real one does: only the waiter's own
	// removal of the expired entry can make the handover this fast.
	c := deimostest.NewCluster(t, 3, deimostest.WithReapDelay(5*time.Second, 10*time.Second))
	client := newClient(t, c, 0)
	ctx := t.Context()

	crashed, err := concurrency.NewSession(client, concurrency.WithTTL(ttl))
	require.NoError(t, err)
	holder := concurrency.NewMutex(crashed, "/locks/crash")
	require.NoError(t, holder.Lock(ctx))
	waiter := concurrency.NewMutex(newSession(t, client, ttl), "/locks/crash")

	acquired := make(chan time.Time, 1)
	go func() {
		if waiter.Lock(ctx) == nil {
			acquired <- time.Now()
		}
	}()
	crashedAt := time.Now()
	crashed.Orphan() // keep-alive stops, the entry stays: a crash
	select {
	case at := <-acquired:
		took := at.Sub(crashedAt)
		require.Less(t, took, ttl+2*time.Second, "handover after a crash takes about one TTL")
		t.Logf("handover %v after the crash (TTL %v, reaper 5-10 s late)", took.Round(time.Millisecond), ttl)
	case <-time.After(ttl + 4*time.Second):
		t.Fatal("the waiter did not take over within one TTL plus margin")
	}
	require.True(t, waiter.Held())
	require.Greater(t, waiter.FencingToken(), holder.FencingToken())
	require.NoError(t, waiter.Unlock(ctx))
}

func TestMutex_DroppedCreateResponseLeavesNoOrphan(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	// Pin the client to one node, which applies the first POST and cuts the
	// connection instead of answering.
	client := deimos.New(deimos.WithEndpoints(c.Node(0).URL()), deimos.WithRequestTimeout(time.Second))
	defer client.Close()
	c.Node(0).SetHook(deimostest.FailNext("POST", "/keys/locks/dropped", deimostest.FaultDropResponse, 1))
	ctx := t.Context()

	m := concurrency.NewMutex(newSession(t, client, 5*time.Second), "/locks/dropped")
	require.NoError(t, m.Lock(ctx))
	require.Equal(t, int64(1), c.Node(0).Requests("POST"), "the create was sent once, never repeated blindly")
	require.Equal(t, []string{m.Key()}, queueKeys(t, client, "/locks/dropped"), "exactly our entry, found by its token")
	require.NoError(t, m.Unlock(ctx))
	require.Empty(t, queueKeys(t, client, "/locks/dropped"))
}

func TestMutex_CancelledWaiterLeavesNoEntry(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 1)
	ctx := t.Context()

	holder := concurrency.NewMutex(newSession(t, client, 5*time.Second), "/locks/cancel")
	require.NoError(t, holder.Lock(ctx))
	waiter := concurrency.NewMutex(newSession(t, client, 5*time.Second), "/locks/cancel")
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err := waiter.Lock(wctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, []string{holder.Key()}, queueKeys(t, client, "/locks/cancel"), "the waiter removed its entry")
	require.NoError(t, holder.Unlock(ctx))
}

func TestMutex_LostWhenEntryDeletedBehindHoldersBack(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 2)
	ctx := t.Context()

	s := newSession(t, client, 10*time.Second)
	m := concurrency.NewMutex(s, "/locks/lost")
	require.NoError(t, m.Lock(ctx))
	select {
	case <-m.Lost():
		t.Fatal("lost before anything happened")
	default:
	}
	_, err := client.KV().Delete(ctx, m.Key())
	require.NoError(t, err)
	select {
	case <-m.Lost():
	case <-time.After(5 * time.Second): // well under the 10 s TTL: the watch told, not the refresh
		t.Fatal("Lost did not fire after the entry was deleted")
	}
	require.False(t, m.Held())
	require.ErrorIs(t, m.Unlock(ctx), concurrency.ErrLockLost)
}

func TestMutex_LockFailsWhenEntryExpiredWhileWaiting(t *testing.T) {
	const ttl = time.Second
	// Reaping is late, so the waiter's expired entry is still first in the
	// queue when the holder leaves: only the waiter's own check stops it.
	c := deimostest.NewCluster(t, 3, deimostest.WithReapDelay(10*time.Second, 10*time.Second))
	client := newClient(t, c, 0)
	ctx := t.Context()

	holder := concurrency.NewMutex(newSession(t, client, 10*time.Second), "/locks/paused")
	require.NoError(t, holder.Lock(ctx))
	ws, err := concurrency.NewSession(client, concurrency.WithTTL(ttl))
	require.NoError(t, err)
	defer ws.Close()
	waiter := concurrency.NewMutex(ws, "/locks/paused")
	res := make(chan error, 1)
	go func() { res <- waiter.Lock(ctx) }()
	require.Eventually(t, func() bool { return len(queueKeys(t, client, "/locks/paused")) == 2 }, 5*time.Second, 10*time.Millisecond)
	concurrency.Freeze(ws)                 // the waiting process is paused: no refresh, no watchdog
	time.Sleep(ttl + 200*time.Millisecond) // let the entry's TTL run out (what the test is about)
	require.NoError(t, holder.Unlock(ctx))
	err = <-res
	require.ErrorIs(t, err, concurrency.ErrSessionExpired)
	require.False(t, waiter.Held())
}

// countingDoer counts the requests a KV sends.
type countingDoer struct {
	kv.Doer
	n atomic.Int64
}

func (d *countingDoer) Do(ctx context.Context, req *transport.Request, out any) (*transport.Response, error) {
	d.n.Add(1)
	return d.Doer.Do(ctx, req, out)
}

func TestMutex_ClosedClientDoesNotSpin(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	doer := &countingDoer{Doer: client.KV().Doer()}
	k := kv.New(doer)
	ctx := t.Context()

	s := newSession(t, k, 10*time.Second)
	m := concurrency.NewMutex(s, "/locks/closed")
	require.NoError(t, m.Lock(ctx))
	require.NoError(t, client.Close()) // every request now fails at once with ErrClosed
	before := doer.n.Load()
	select {
	case <-m.Lost():
		t.Fatal("lost at once: the session has its whole TTL to refresh")
	case <-time.After(time.Second): // the window in which requests are counted
	}
	sent := doer.n.Load() - before
	require.Less(t, sent, int64(50), "the holder's watch of its entry retries in a loop without backing off")
}

// A blip shorter than the TTL (every refresh in it fails: the cluster lost
// its quorum) is retried, not reported: the holder keeps its lock (unlike
// Consul's lock, which gives up on the first failed check, #830).
func TestMutex_TransientOutageShorterThanTTLIsNotALoss(t *testing.T) {
	c := deimostest.NewCluster(t, 3, deimostest.WithServerTimeout(200*time.Millisecond))
	client := newClient(t, c, 0)
	ctx := t.Context()

	s := newSession(t, client, 4*time.Second) // refreshes every ~1.3 s
	m := concurrency.NewMutex(s, "/locks/blip")
	require.NoError(t, m.Lock(ctx))
	before, err := client.KV().Get(ctx, m.Key())
	require.NoError(t, err)

	c.LoseQuorum()
	puts := c.Requests(http.MethodPut)
	// Outlast one failed refresh: a second attempt means the first one's
	// failure (a 500 after the server timeout) was handled.
	require.Eventually(t, func() bool { return c.Requests(http.MethodPut) >= puts+2 }, 5*time.Second, 5*time.Millisecond)
	select {
	case <-m.Lost():
		t.Fatal("a failed refresh within the TTL was reported as a loss")
	default:
	}
	c.RestoreQuorum()

	// The next refresh succeeds: the entry's modifiedIndex moves on.
	require.Eventually(t, func() bool {
		now, err := client.KV().Get(ctx, m.Key())
		return err == nil && now.Node.ModifiedIndex > before.Node.ModifiedIndex
	}, 5*time.Second, 20*time.Millisecond)
	select {
	case <-m.Lost():
		t.Fatal("lost after the outage ended")
	default:
	}
	require.True(t, m.Held())
	require.NoError(t, m.Unlock(ctx))
}
