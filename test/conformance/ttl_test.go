package conformance

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/stretchr/testify/require"
)

// reapWait bounds how long an expired key may linger: the real server reaps
// 0.5–14 s late, up to about 20 s under load (docs/protocol.md §11.3).
func reapWait() time.Duration {
	if tgt.real {
		return 30 * time.Second
	}
	return 10 * time.Second
}

// expiration parses a node's expiration, which must be RFC 3339 with an offset.
func expiration(t testing.TB, n *node) time.Time {
	t.Helper()
	require.NotNil(t, n.Expiration, "node %s has no expiration", n.Key)
	e, err := time.Parse(time.RFC3339Nano, *n.Expiration)
	require.NoError(t, err)
	return e
}

// untilReaped polls key on endpoint ep ("" for any) until it is gone. While an
// expired key is still there, it must show a past expiration and a ttl that is
// omitted or negative (§11.3). It returns how many such sightings it made.
func untilReaped(t testing.TB, ep, key string) int {
	t.Helper()
	deadline := time.Now().Add(reapWait())
	sightings := 0
	for {
		r := do(t, call{method: "GET", uri: keys(key), endpoint: ep})
		if r.status == http.StatusNotFound {
			require.Equal(t, 100, r.firstError(t).ErrorCode)
			return sightings
		}
		res := r.ok(t, http.StatusOK)
		if exp := expiration(t, res.Node); time.Now().After(exp.Add(50 * time.Millisecond)) {
			require.LessOrEqual(t, res.Node.TTL, int64(0), "an expired, unreaped key shows ttl <= 0")
			sightings++
		}
		require.True(t, time.Now().Before(deadline), "%s still present %v after it was written", key, reapWait())
		time.Sleep(100 * time.Millisecond) // polling interval, not synchronisation
	}
}

// §11.1: ttl=N gives an absolute expiration now+N and ttl N, placed between
// value and modifiedIndex; a GET shows the remaining seconds, rounded up.
func TestTTL_SetShowsExpirationAndTTL(t *testing.T) {
	t.Parallel()
	k := dir(t)
	before := time.Now()
	r := put(t, keys(k, "ttl=100"), "value=a")
	res := r.ok(t, http.StatusCreated)
	i := r.written(t)
	require.Equal(t, "set", res.Action)
	require.Equal(t, file(k, "a", i, i).Key, res.Node.Key)
	require.Equal(t, int64(100), res.Node.TTL)
	exp := expiration(t, res.Node)
	require.WithinDuration(t, before.Add(100*time.Second), exp, 3*time.Second)

	got := mustGet(t, k).Node
	require.Equal(t, *res.Node.Expiration, *got.Expiration, "the expiration is absolute")
	require.Contains(t, []int64{99, 100}, got.TTL)
}

// §11.1 QUIRK: ttl=0 means "expire now": an expiration, no ttl field, reaped soon.
func TestTTL_ZeroMeansExpireNow(t *testing.T) {
	t.Parallel()
	k := dir(t)
	before := time.Now()
	res := put(t, keys(k, "ttl=0"), "value=a").ok(t, http.StatusCreated)
	require.Zero(t, res.Node.TTL, "ttl computes to 0 and is omitted")
	require.WithinDuration(t, before, expiration(t, res.Node), 3*time.Second)
	untilReaped(t, "", k)
}

// §11.3: a key with a TTL is deleted after it expires, and until then reads
// with ttl <= 0.
func TestTTL_ExpiredKeyIsReaped(t *testing.T) {
	t.Parallel()
	k := dir(t)
	put(t, keys(k, "ttl=1"), "value=a").ok(t, http.StatusCreated)
	untilReaped(t, "", k)
	absent(t, k)
}

// §11.3, §5.1: expiry emits an expire event whose node has no value, and whose
// prevNode is the expired node with ttl computed at reap time.
func TestTTL_ExpireEvent(t *testing.T) {
	t.Parallel()
	k := dir(t)
	r := put(t, keys(k, "ttl=1"), "value=a")
	set := r.ok(t, http.StatusCreated)
	i := r.written(t)
	w := watchKey(t, k, "waitIndex="+strconv.FormatUint(i+1, 10))
	res, _ := w.event(t, reapWait())
	require.Equal(t, "expire", res.Action)
	require.Greater(t, res.Node.ModifiedIndex, i)
	require.Equal(t, *bare(k, res.Node.ModifiedIndex, i), *res.Node, "node has key and indexes only")
	require.NotNil(t, res.PrevNode)
	require.Equal(t, "a", *res.PrevNode.Value)
	require.Equal(t, i, res.PrevNode.ModifiedIndex)
	require.Equal(t, i, res.PrevNode.CreatedIndex)
	require.True(t, expiration(t, res.PrevNode).Equal(expiration(t, set.Node)))
	require.LessOrEqual(t, res.PrevNode.TTL, int64(0))
}

// §9, §5.1 QUIRK: an expiring directory takes its subtree with it, and its
// expire event has no dir flag (prevNode has it). The watch sits on the
// directory key itself, which is safe (§12.7).
func TestTTL_DirectoryExpiry(t *testing.T) {
	t.Parallel()
	d := dir(t)
	i := mustMkdir(t, d, "ttl=1")
	j := mustSet(t, d+"/child", "v")
	w := watchKey(t, d, "waitIndex="+strconv.FormatUint(j+1, 10))
	res, _ := w.event(t, reapWait())
	require.Equal(t, "expire", res.Action)
	require.Equal(t, *bare(d, res.Node.ModifiedIndex, i), *res.Node, "no dir flag on the expire node")
	require.True(t, res.PrevNode.Dir)
	require.Nil(t, res.PrevNode.Nodes)
	get(t, keys(d+"/child")).storeError(t, http.StatusNotFound, 100, msgNotFound, d)
}

// §11.2: which writes keep, refresh or remove a TTL.
func TestTTL_RefreshAndRemoval(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, query, body string
		action            string
		value             string
		ttl               int64 // 0: no TTL after the write
		sameCreated       bool
	}{
		{"update with value and ttl refreshes", "prevExists=true&ttl=200", "value=a", "update", "a", 200, true},
		{"update without ttl removes it", "prevExists=true", "value=a", "update", "a", 0, true},
		{"update with ttl but no value sets empty", "prevExists=true&ttl=200", "", "update", "", 200, true},
		{"CAS with ttl refreshes", "prevValue=a&ttl=200", "value=a", "compareAndSwap", "a", 200, true},
		{"CAS without ttl removes it", "prevValue=a", "value=a", "compareAndSwap", "a", 0, true},
		{"set without ttl makes a new permanent node", "", "value=a", "set", "a", 0, false},
		{"set with ttl makes a new node", "ttl=200", "value=a", "set", "a", 200, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := dir(t)
			i := mustSet(t, k, "a", "ttl=100")
			r := put(t, keys(k, tc.query), tc.body)
			res := r.ok(t, http.StatusOK)
			j := r.written(t)
			require.Equal(t, tc.action, res.Action)
			require.Equal(t, tc.value, *res.Node.Value)
			require.Greater(t, j, i, "every refresh is a full write with a new index")
			if tc.sameCreated {
				require.Equal(t, i, res.Node.CreatedIndex)
			} else {
				require.Equal(t, j, res.Node.CreatedIndex)
			}
			got := mustGet(t, k).Node
			if tc.ttl == 0 {
				require.Nil(t, res.Node.Expiration)
				require.Nil(t, got.Expiration)
				return
			}
			require.Equal(t, tc.ttl, res.Node.TTL)
			require.WithinDuration(t, time.Now().Add(time.Duration(tc.ttl)*time.Second), expiration(t, got), 3*time.Second)
		})
	}
}

// §11.2 BUG: in update and CAS results prevNode.expiration shows the new
// expiration (or the zero time when the TTL was removed), while prevNode.ttl
// shows the old remaining TTL.
func TestTTL_PrevNodeExpirationShowsTheNewExpiration(t *testing.T) {
	t.Parallel()
	for _, q := range []string{"prevExists=true", "prevValue=a"} {
		t.Run(q+" removing the TTL", func(t *testing.T) {
			k := dir(t)
			mustSet(t, k, "a", "ttl=100")
			res := put(t, keys(k, q), "value=a").ok(t, http.StatusOK)
			require.NotNil(t, res.PrevNode.Expiration)
			require.Equal(t, "0001-01-01T00:00:00Z", *res.PrevNode.Expiration)
			require.Contains(t, []int64{99, 100}, res.PrevNode.TTL)
		})
		t.Run(q+" changing the TTL", func(t *testing.T) {
			k := dir(t)
			mustSet(t, k, "a", "ttl=100")
			res := put(t, keys(k, q, "ttl=200"), "value=a").ok(t, http.StatusOK)
			require.Equal(t, *res.Node.Expiration, *res.PrevNode.Expiration)
			require.Contains(t, []int64{99, 100}, res.PrevNode.TTL)
		})
	}
}

// §11.1 BUG: huge TTLs overflow the nanosecond clock: the key becomes permanent,
// or with 2^64-1 (wrapping to -1 s) it is created already expired.
func TestTTL_HugeValuesOverflow(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"9223372036", "10000000000"} {
		t.Run("ttl="+v+" gives no TTL", func(t *testing.T) {
			k := dir(t)
			res := put(t, keys(k, "ttl="+v), "value=a").ok(t, http.StatusCreated)
			require.Nil(t, res.Node.Expiration)
			require.Nil(t, mustGet(t, k).Node.Expiration)
		})
	}
	t.Run("ttl=18446744073709551615 is already expired", func(t *testing.T) {
		k := dir(t)
		res := put(t, keys(k, "ttl=18446744073709551615"), "value=a").ok(t, http.StatusCreated)
		require.Equal(t, int64(-1), res.Node.TTL)
		require.True(t, expiration(t, res.Node).Before(time.Now()))
		untilReaped(t, "", k)
	})
}

// §11.3: until it is reaped, an expired key is still returned with a negative
// ttl, still blocks prevExists=false and still matches CAS. The in-process
// cluster gets a late reaper for this; a real cluster reaps late by itself, so
// there the checks apply only if the key is seen before it is reaped.
func TestTTL_UnreapedExpiredKeyStillCounts(t *testing.T) {
	t.Parallel()
	ep := ""
	if !tgt.real {
		c := deimostest.NewCluster(t, 3, deimostest.WithReapDelay(4*time.Second, 4*time.Second))
		t.Cleanup(transport.CloseIdleConnections)
		ep = c.Endpoints()[2]
	}
	k := dir(t)
	res := do(t, call{method: "PUT", uri: keys(k, "ttl=1"), body: "value=a", contentType: formType, endpoint: ep}).ok(t, http.StatusCreated)
	exp := expiration(t, res.Node)
	// Wait until the key is more than a second past its expiration.
	for time.Now().Before(exp.Add(1100 * time.Millisecond)) {
		time.Sleep(50 * time.Millisecond) // waiting for the clock, nothing to synchronise with
	}
	r := do(t, call{method: "GET", uri: keys(k), endpoint: ep})
	if r.status == http.StatusNotFound && tgt.real {
		t.Log("the real cluster reaped the key early; nothing left to observe")
		return
	}
	got := r.ok(t, http.StatusOK).Node
	require.LessOrEqual(t, got.TTL, int64(-1), "ttl is negative once more than a second past expiration")
	cr := do(t, call{method: "PUT", uri: keys(k, "prevExists=false"), body: "value=b", contentType: formType, endpoint: ep})
	if cr.status == http.StatusCreated && tgt.real {
		return // reaped meanwhile
	}
	cr.storeError(t, http.StatusPreconditionFailed, 105, msgExists, k)
	untilReaped(t, ep, k)
}

// §11.1: ttl is ceil((expiration − now)/1 s), computed when the response is
// built: a fresh ttl=5 shows 5, and 1.2 s later a GET shows 4.
func TestTTL_RemainingSecondsRoundUp(t *testing.T) {
	t.Parallel()
	k := dir(t)
	res := put(t, keys(k, "ttl=5"), "value=a").ok(t, http.StatusCreated)
	require.Equal(t, int64(5), res.Node.TTL)
	exp := expiration(t, res.Node)
	for time.Until(exp) > 3800*time.Millisecond {
		time.Sleep(20 * time.Millisecond) // waiting for the clock, nothing to synchronise with
	}
	got := mustGet(t, k).Node
	require.Equal(t, int64(4), got.TTL, "%v before expiration", time.Until(exp))
}
