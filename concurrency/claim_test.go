package concurrency_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// claimFor claims key with value for a fresh session of ttl, on a client
// of c whose first endpoint is node 0.
func claimFor(t *testing.T, c *deimostest.Cluster, key, value string, ttl time.Duration, opts ...concurrency.ClaimOption) (concurrency.Client, *concurrency.Session, *concurrency.Claim) {
	t.Helper()
	client := newClient(t, c, 0)
	s := newSession(t, client, ttl)
	claim, err := s.Claim(t.Context(), key, value, opts...)
	require.NoError(t, err)
	return client, s, claim
}

// nextEvent returns the claim's next event, failing the test after within.
func nextEvent(t *testing.T, c *concurrency.Claim, within time.Duration) concurrency.KeyEvent {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		require.True(t, ok, "the events channel closed")
		return ev
	case <-time.After(within):
		t.Fatalf("no claim event within %v", within)
	}
	return concurrency.KeyEvent{}
}

// noEvent fails if the claim has reported anything.
func noEvent(t *testing.T, c *concurrency.Claim) {
	t.Helper()
	select {
	case ev := <-c.Events():
		t.Fatalf("unexpected claim event %v: %v", ev.Kind, ev.Err)
	default:
	}
}

// modifiedIndex reads key's modifiedIndex and value.
func modifiedIndex(t *testing.T, client concurrency.Client, key string) (uint64, string) {
	t.Helper()
	resp, err := client.KV().Get(context.Background(), key)
	require.NoError(t, err)
	return resp.Node.ModifiedIndex, resp.Node.Value
}

// actionsOn returns the actions of the history of key, in order.
func actionsOn(c *deimostest.Cluster, key string) []string {
	var out []string
	for _, ev := range c.History(key) {
		out = append(out, ev.Action)
	}
	return out
}

func TestClaim_RefreshedBeforeItExpires(t *testing.T) {
	t.Parallel()
	const key = "/services/api/n1"
	c := deimostest.NewCluster(t, 3)
	client, s, claim := claimFor(t, c, key, "10.0.0.1:80", 2*time.Second) // refreshed about every 0.6 s
	require.Equal(t, key, claim.Key())
	created := claim.Index()

	// Three refreshes take longer than the TTL: the key would have expired
	// without them.
	require.Eventually(t, func() bool {
		return len(actionsOn(c, key)) >= 4
	}, 5*time.Second, 20*time.Millisecond)
	require.Equal(t, []string{"create", "compareAndSwap", "compareAndSwap", "compareAndSwap"}, actionsOn(c, key)[:4],
		"created once, then only refreshed, never expired")
	index, value := modifiedIndex(t, client, key)
	require.Greater(t, index, created)
	require.Equal(t, "10.0.0.1:80", value)
	noEvent(t, claim)
	require.NoError(t, s.Err())
}

func TestClaim_UpdateAndRelease(t *testing.T) {
	t.Parallel()
	const key = "/services/api/n2"
	c := deimostest.NewCluster(t, 3)
	client, s, claim := claimFor(t, c, key, "v1", 2*time.Second, concurrency.WithRecreate())
	ctx := t.Context()

	require.NoError(t, claim.Update(ctx, "v2"))
	require.Equal(t, "v2", claim.Value())
	updated, value := modifiedIndex(t, client, key)
	require.Equal(t, "v2", value)
	require.Equal(t, updated, claim.Index())
	// The keep-alive compares on the new value from now on.
	require.Eventually(t, func() bool { i, _ := modifiedIndex(t, client, key); return i > updated }, 5*time.Second, 20*time.Millisecond)
	_, value = modifiedIndex(t, client, key)
	require.Equal(t, "v2", value)
	require.ErrorIs(t, claim.Update(ctx, ""), concurrency.ErrInvalidOption)

	require.NoError(t, claim.Release(ctx))
	_, err := client.KV().Get(ctx, key)
	require.ErrorIs(t, err, kv.ErrKeyNotFound)
	_, open := <-claim.Events()
	require.False(t, open, "Release closes the events")
	select {
	case <-claim.Lost():
		t.Fatal("Release closed Lost")
	default:
	}
	require.NoError(t, claim.Release(ctx), "a second Release is a no-op")
	require.NoError(t, s.Err())
}

func TestClaim_TakenKeyIsNeverOverwritten(t *testing.T) {
	t.Parallel()
	const key = "/services/api/taken"
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx := t.Context()
	s := newSession(t, client, 5*time.Second)

	_, err := client.KV().Set(ctx, key, "someone-else")
	require.NoError(t, err)
	_, err = s.Claim(ctx, key, "me")
	require.ErrorIs(t, err, concurrency.ErrKeyTaken)
	require.ErrorIs(t, err, kv.ErrNodeExist)
	_, err = s.Claim(ctx, key, "me", concurrency.WithAdopt())
	require.ErrorIs(t, err, concurrency.ErrKeyTaken, "adopting takes only a key holding our value")
	_, value := modifiedIndex(t, client, key)
	require.Equal(t, "someone-else", value)

	// A key holding our value (left by an earlier run) is taken only when
	// asked to.
	_, err = client.KV().Set(ctx, key, "me")
	require.NoError(t, err)
	before, _ := modifiedIndex(t, client, key)
	_, err = s.Claim(ctx, key, "me")
	require.ErrorIs(t, err, concurrency.ErrKeyTaken)
	claim, err := s.Claim(ctx, key, "me", concurrency.WithAdopt())
	require.NoError(t, err)
	require.Greater(t, claim.Index(), before, "adopted by a compare-and-swap")
	resp, err := client.KV().Get(ctx, key)
	require.NoError(t, err)
	require.NotNil(t, resp.Node.Expiration, "the adopted key got the session's TTL")
	require.NoError(t, claim.Release(ctx))
}

func TestClaim_RejectsBadInput(t *testing.T) {
	t.Parallel()
	c := deimostest.NewCluster(t, 1)
	s := newSession(t, newClient(t, c, 0), 5*time.Second)
	_, err := s.Claim(t.Context(), "/services/x", "")
	require.ErrorIs(t, err, concurrency.ErrInvalidOption)
	_, err = s.Claim(t.Context(), "/services/../x", "v")
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	require.Zero(t, c.Requests(http.MethodPut), "nothing was sent")
}

// An outage shorter than the TTL costs no loss, whatever its kind.
func TestClaim_OutageShorterThanTTLIsNotALoss(t *testing.T) {
	t.Parallel()
	faults := map[string]struct{ start, stop func(*deimostest.Cluster) }{
		"first node paused": {
			func(c *deimostest.Cluster) { c.Node(0).Pause() },
			func(c *deimostest.Cluster) { c.Node(0).Resume() },
		},
		"two nodes stopped": {
			func(c *deimostest.Cluster) { c.Node(0).Stop(); c.Node(1).Stop() },
			func(c *deimostest.Cluster) {
				require.NoError(t, c.Node(0).Start())
				require.NoError(t, c.Node(1).Start())
			},
		},
		"quorum lost": {
			func(c *deimostest.Cluster) { c.LoseQuorum() },
			func(c *deimostest.Cluster) { c.RestoreQuorum() },
		},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const key = "/services/api/blip"
			c := deimostest.NewCluster(t, 3, deimostest.WithServerTimeout(200*time.Millisecond))
			client, s, claim := claimFor(t, c, key, "me", 4*time.Second, concurrency.WithRecreate()) // refreshed about every 1.2 s
			before := claim.Index()

			puts := c.Requests(http.MethodPut)
			f.start(c)
			// Outlast a refresh (and, where it fails, its retry).
			require.Eventually(t, func() bool { return c.Requests(http.MethodPut) >= puts+2 }, 5*time.Second, 5*time.Millisecond)
			f.stop(c)

			require.Eventually(t, func() bool {
				i, _ := modifiedIndex(t, client, key)
				return i > before && claim.Index() >= i
			}, 5*time.Second, 20*time.Millisecond, "refreshed again after the outage")
			noEvent(t, claim)
			require.NoError(t, s.Err())
		})
	}
}

// An outage longer than the TTL loses the key; a claim made WithRecreate
// reports it and gets the key back as soon as the cluster is reachable:
// by adopting it when a refresh held during the outage was applied late
// (quorum lost: writes wait, nothing is reaped), by creating it again when
// it expired meanwhile (every node down: the cluster reaped it).
func TestClaim_RecreatedAfterAnOutageLongerThanTTL(t *testing.T) {
	t.Parallel()
	const key = "/services/api/outage"
	outages := map[string]struct {
		start, stop func(*deimostest.Cluster)
		last        string // the last write on the key: how it came back
	}{
		"quorum lost": {
			func(c *deimostest.Cluster) { c.LoseQuorum() },
			func(c *deimostest.Cluster) { c.RestoreQuorum() },
			"compareAndSwap",
		},
		"every node stopped": {
			func(c *deimostest.Cluster) {
				for _, n := range c.Nodes() {
					n.Stop()
				}
			},
			func(c *deimostest.Cluster) {
				// Come back only once the cluster has reaped the key.
				require.Eventually(t, func() bool { return slices.Contains(actionsOn(c, key), "expire") }, 5*time.Second, 5*time.Millisecond)
				for _, n := range c.Nodes() {
					require.NoError(t, n.Start())
				}
			},
			"create",
		},
	}
	for name, o := range outages {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const ttl = 2 * time.Second
			c := deimostest.NewCluster(t, 3, deimostest.WithServerTimeout(300*time.Millisecond), deimostest.WithReapDelay(0, 0))
			client, s, claim := claimFor(t, c, key, "me", ttl, concurrency.WithRecreate())

			o.start(c)
			ev := nextEvent(t, claim, ttl+3*time.Second)
			require.Equal(t, concurrency.KeyLost, ev.Kind)
			require.ErrorIs(t, ev.Err, concurrency.ErrClaimLost)
			require.Equal(t, key, ev.Key)
			require.NoError(t, s.Err(), "a claim made WithRecreate does not end the session")

			o.stop(c)
			// Within one heartbeat (re-creation backs off at most a sixth of
			// the TTL), plus a margin for a loaded machine.
			ev = nextEvent(t, claim, ttl/3+time.Second)
			require.Equal(t, concurrency.KeyRecreated, ev.Kind, "got %v: %v", ev.Kind, ev.Err)
			index, value := modifiedIndex(t, client, key)
			require.Equal(t, "me", value)
			require.LessOrEqual(t, ev.Index, index)
			var back string
			for _, e := range c.History(key) {
				if e.Node.ModifiedIndex == ev.Index {
					back = e.Action
				}
			}
			history := actionsOn(c, key)
			require.Equal(t, o.last, back, "how the key came back (history %v)", history)
			require.Equal(t, o.last == "create", slices.Contains(history, "expire"), "expired only while every node was down: %v", history)
			select {
			case <-claim.Lost():
				t.Fatal("the claim ended")
			default:
			}
			require.NoError(t, s.Err())
		})
	}
}

func TestClaim_ConflictIsReportedAndTheOtherOwnerKept(t *testing.T) {
	t.Parallel()
	const key = "/services/api/conflict"
	c := deimostest.NewCluster(t, 3)
	client, s, claim := claimFor(t, c, key, "me", 2*time.Second, concurrency.WithRecreate())
	ctx := t.Context()

	// Another owner takes the key (as after our key expired unseen).
	other := newClient(t, c, 1)
	taken, err := other.KV().Set(ctx, key, "other")
	require.NoError(t, err)
	ev := nextEvent(t, claim, 3*time.Second)
	require.Equal(t, concurrency.KeyLost, ev.Kind)
	ev = nextEvent(t, claim, 3*time.Second)
	require.Equal(t, concurrency.KeyConflict, ev.Kind)
	require.ErrorIs(t, ev.Err, concurrency.ErrKeyTaken)
	require.Equal(t, taken.Node.ModifiedIndex, ev.Index)

	// The session keeps trying, and never writes over the other owner: wait
	// for a few more of its attempts (creates refused with 105).
	puts := c.Requests(http.MethodPut)
	require.Eventually(t, func() bool { return c.Requests(http.MethodPut) >= puts+3 }, 5*time.Second, 10*time.Millisecond)
	_, value := modifiedIndex(t, client, key)
	require.Equal(t, "other", value)
	require.Equal(t, []string{"create", "set"}, actionsOn(c, key), "nothing written since the other owner's set")
	noEvent(t, claim)

	// Once the other owner leaves, the key is ours again.
	_, err = other.KV().Delete(ctx, key)
	require.NoError(t, err)
	ev = nextEvent(t, claim, 3*time.Second)
	require.Equal(t, concurrency.KeyRecreated, ev.Kind)
	_, value = modifiedIndex(t, client, key)
	require.Equal(t, "me", value)
	require.NoError(t, s.Err())
}

func TestClaim_WithoutRecreateALostKeyEndsTheSession(t *testing.T) {
	t.Parallel()
	const key = "/services/api/once"
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	s, err := concurrency.NewSession(client, concurrency.WithTTL(2*time.Second))
	require.NoError(t, err)
	defer s.Close()
	claim, err := s.Claim(t.Context(), key, "me")
	require.NoError(t, err)

	_, err = client.KV().Delete(t.Context(), key)
	require.NoError(t, err)
	select {
	case <-claim.Lost():
	case <-time.After(3 * time.Second): // a refresh finds it gone within a third of the TTL
		t.Fatal("the claim was not lost")
	}
	require.ErrorIs(t, s.Err(), concurrency.ErrSessionExpired)
	ev, ok := <-claim.Events()
	require.True(t, ok)
	require.Equal(t, concurrency.KeyLost, ev.Kind)
	require.ErrorIs(t, ev.Err, concurrency.ErrClaimLost)
	_, open := <-claim.Events()
	require.False(t, open, "closed with the session")
	_, err = s.Claim(t.Context(), "/services/api/later", "me")
	require.ErrorIs(t, err, concurrency.ErrSessionExpired, "an ended session claims nothing")
}
