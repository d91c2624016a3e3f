package deimostest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestTTLFieldsAndImmediateReap(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(0))
	cl := newClient(t, c)
	ev := cl.do("PUT", "/keys/t1?ttl=5", vals("value", "a")).event(t)
	require.NotNil(t, ev.Node.Expiration)
	assert.EqualValues(t, 5, ev.Node.TTL)
	assert.WithinDuration(t, time.Now().Add(5*time.Second), *ev.Node.Expiration, 2*time.Second)
	got := cl.get("/t1").event(t)
	assert.Equal(t, ev.Node.Expiration.UnixNano(), got.Node.Expiration.UnixNano(), "absolute expiration")

	// ttl=0 means "expire now": the field is omitted, and the key is reaped at once.
	z := cl.do("PUT", "/keys/t0?ttl=0", vals("value", "z"))
	zev := z.event(t)
	require.NotNil(t, zev.Node.Expiration)
	assert.NotContains(t, z.body, `"ttl"`)
	w := cl.get("/t0?wait=true&waitIndex=" + utoa(zev.Node.ModifiedIndex+1)).event(t)
	assert.Equal(t, "expire", w.Action)
	assert.Nil(t, w.Node.Value)
	assert.Equal(t, zev.Node.ModifiedIndex+1, w.Node.ModifiedIndex)
	assert.Equal(t, zev.Node.CreatedIndex, w.Node.CreatedIndex)
	assert.Equal(t, "z", *w.PrevNode.Value)
	assert.LessOrEqual(t, w.PrevNode.TTL, int64(0))
	assert.Equal(t, 404, cl.get("/t0").status)
}

func TestTTLOverflowQuirks(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(0), deimostest.WithReapDelay(time.Hour, time.Hour))
	cl := newClient(t, c)
	for _, ttl := range []string{"9223372036", "10000000000"} {
		r := cl.do("PUT", "/keys/big?ttl="+ttl, vals("value", "v"))
		assert.NotContains(t, r.body, "expiration", "ttl=%s wraps to a permanent key", ttl)
	}
	r := cl.do("PUT", "/keys/max?ttl=18446744073709551615", vals("value", "v"))
	assert.EqualValues(t, -1, r.event(t).Node.TTL, "wraps to -1 s: created already expired")
	// Expired but not yet reaped keys stay readable with a negative ttl.
	g := cl.get("/max").event(t)
	assert.Negative(t, g.Node.TTL)
}

func TestDirectoryExpiryAndUpdateTTLBug(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(0))
	cl := newClient(t, c)
	cl.do("PUT", "/keys/r1?ttl=200", vals("value", "a"))
	up := cl.do("PUT", "/keys/r1?prevExists=true", vals("value", "a"))
	assert.Equal(t, `{"action":"update","node":{"key":"/r1","value":"a","modifiedIndex":2,"createdIndex":1},"prevNode":{"key":"/r1","value":"a","expiration":"0001-01-01T00:00:00Z","ttl":200,"modifiedIndex":1,"createdIndex":1}}`+"\n", up.body)

	d := cl.do("PUT", "/keys/d?dir=true&ttl=1", nil).event(t)
	cl.put("/d/child", "c")
	w := cl.get("/d?wait=true&waitIndex=" + utoa(d.Node.ModifiedIndex+2)).event(t)
	assert.Equal(t, "expire", w.Action)
	assert.Equal(t, "/d", w.Node.Key)
	assert.False(t, w.Node.Dir, "expire events have no dir flag")
	assert.True(t, w.PrevNode.Dir)
	assert.Equal(t, 404, cl.get("/d/child").status)
}

func TestReapDelayKeepsExpiredKeysReadable(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(0),
		deimostest.WithReapDelay(300*time.Millisecond, 600*time.Millisecond))
	cl := newClient(t, c)
	cl.do("PUT", "/keys/late?ttl=0", vals("value", "v"))
	assert.Equal(t, 200, cl.get("/late").status, "expired but not reaped yet")
	require.Eventually(t, func() bool { return cl.get("/late").status == 404 }, 5*time.Second, 20*time.Millisecond)
	h := c.History("/late")
	require.Len(t, h, 2)
	assert.Equal(t, "expire", h[1].Action)
}

func TestNoReapingWithoutQuorum(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(0),
		deimostest.WithWatchTimeout(1500*time.Millisecond))
	cl := newClient(t, c)
	cl.do("PUT", "/keys/k?ttl=1", vals("value", "v"))
	c.LoseQuorum()
	// Wait past the expiration through a watch, which works without quorum: nothing comes.
	r := cl.get("/k?wait=true&waitIndex=2")
	assert.Equal(t, 200, r.status)
	assert.Empty(t, r.body, "the watch ends empty after its timeout")
	assert.Len(t, c.History("/k"), 1, "not reaped without quorum")
	c.RestoreQuorum()
	require.Eventually(t, func() bool { return len(c.History("/k")) == 2 }, 5*time.Second, 10*time.Millisecond)
}
