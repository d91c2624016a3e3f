package watch_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

// serverState lists the subtree through the API as key -> value ("<dir>" for
// directories), the ground truth a cache must converge on.
func serverState(t *testing.T, k *kv.KV, prefix string) map[string]string {
	t.Helper()
	resp, err := k.Get(t.Context(), prefix, kv.WithRecursive())
	if err != nil {
		require.ErrorIs(t, err, kv.ErrKeyNotFound)
		return map[string]string{}
	}
	out := map[string]string{}
	var walk func(n *kv.Node)
	walk = func(n *kv.Node) {
		if n.Dir {
			out[n.Key] = "<dir>"
		} else {
			out[n.Key] = n.Value
		}
		for _, c := range n.Nodes {
			walk(c)
		}
	}
	walk(resp.Node)
	return out
}

func cacheState(c *watch.Cache) map[string]string {
	nodes, _ := c.List()
	out := map[string]string{}
	for _, n := range nodes {
		if n.Dir {
			out[n.Key] = "<dir>"
		} else {
			out[n.Key] = n.Value
		}
	}
	return out
}

func TestCache_ListsThenFollows(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()
	_, err := k.Set(ctx, "/svc/a", "1")
	require.NoError(t, err)

	cache, err := watch.NewCache(ctx, k, "/svc")
	require.NoError(t, err)
	defer cache.Close()
	n, ok := cache.Get("/svc/a")
	require.True(t, ok)
	assert.Equal(t, "1", n.Value)

	_, err = k.Set(ctx, "/svc/deep/b", "2")
	require.NoError(t, err)
	resp, err := k.Delete(ctx, "/svc/a")
	require.NoError(t, err)

	require.NoError(t, cache.WaitForIndex(ctx, resp.Index))
	assert.Equal(t, serverState(t, k, "/svc"), cacheState(cache))
	_, ok = cache.Get("/svc/deep")
	assert.True(t, ok, "the implicit parent directory is in the cache")
	assert.GreaterOrEqual(t, cache.Index(), resp.Index)
}

func TestCache_MissingPrefixStartsEmpty(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c)
	ctx := t.Context()
	cache, err := watch.NewCache(ctx, k, "/nothing/yet")
	require.NoError(t, err)
	defer cache.Close()
	nodes, _ := cache.List()
	assert.Empty(t, nodes)

	resp, err := k.Set(ctx, "/nothing/yet/x", "1")
	require.NoError(t, err)
	require.NoError(t, cache.WaitForIndex(ctx, resp.Index))
	assert.Equal(t, serverState(t, k, "/nothing/yet"), cacheState(cache))
}

func TestCache_RelistsWhenHistoryWasClearedAndReportsTheDifference(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c)
	ctx := t.Context()
	_, err := k.Set(ctx, "/cfg/gone", "x")
	require.NoError(t, err)
	_, err = k.Set(ctx, "/cfg/kept", "old")
	require.NoError(t, err)

	cache, err := watch.NewCache(ctx, k, "/cfg", watch.WithChanges(0))
	require.NoError(t, err)
	defer cache.Close()

	// The first change blocks the cache (nobody reads yet); meanwhile the
	// subtree changes more than the server's 1000-event history can hold.
	_, err = k.Set(ctx, "/cfg/first", "1")
	require.NoError(t, err)
	for i := range 1100 {
		_, err := k.Set(ctx, "/cfg/kept", fmt.Sprint(i))
		require.NoError(t, err)
	}
	_, err = k.Delete(ctx, "/cfg/gone")
	require.NoError(t, err)
	last, err := k.Set(ctx, "/cfg/new", "n")
	require.NoError(t, err)

	var resynced []watch.Change
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	go func() {
		_ = cache.WaitForIndex(waitCtx, last.Index)
		cancel()
	}()
	for done := false; !done; {
		select {
		case ch := <-cache.Changes():
			if ch.Resync {
				resynced = append(resynced, ch)
			}
		case <-waitCtx.Done():
			done = true
		}
	}
	require.GreaterOrEqual(t, cache.Index(), last.Index, "the cache caught up")
	assert.Equal(t, serverState(t, k, "/cfg"), cacheState(cache))
	kinds := map[string]watch.ChangeKind{}
	for _, ch := range resynced {
		kinds[ch.Key] = ch.Kind
	}
	assert.Equal(t, watch.Delete, kinds["/cfg/gone"], "a key deleted during the gap is reported")
	assert.Equal(t, watch.Put, kinds["/cfg/new"], "a key created during the gap is reported")
	assert.NoError(t, cache.Err())
}

func TestCache_KeepsExpiredButUnreapedKeysAsReported(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithReapDelay(time.Hour, time.Hour))
	k := newKV(t, c)
	ctx := t.Context()
	resp, err := k.Set(ctx, "/t/lease", "v", kv.WithTTL(time.Second))
	require.NoError(t, err)

	cache, err := watch.NewCache(ctx, k, "/t")
	require.NoError(t, err)
	defer cache.Close()
	n, ok := cache.Get("/t/lease")
	require.True(t, ok)
	require.NotNil(t, n.Expiration)
	assert.True(t, n.Expired(n.Expiration.Add(time.Millisecond)))
	assert.False(t, n.Expired(resp.Node.Expiration.Add(-500*time.Millisecond)))
}

// A re-list reports a node whose content is unchanged but whose TTL changed
// during the gap, so a consumer of Changes learns the new expiration. A directory's TTL update does
// not change its stored modifiedIndex (docs/protocol.md §9 BUG), so the index alone
// cannot tell.
func TestCache_RelistPicksUpADirectoryTTLChangedDuringTheGap(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c)
	ctx := t.Context()
	_, err := k.Mkdir(ctx, "/ttl/d", kv.WithTTL(time.Hour))
	require.NoError(t, err)

	cache, err := watch.NewCache(ctx, k, "/ttl", watch.WithChanges(0))
	require.NoError(t, err)
	defer cache.Close()
	n, ok := cache.Get("/ttl/d")
	require.True(t, ok)
	require.NotNil(t, n.Expiration)

	// The first change blocks the cache; meanwhile the directory loses its TTL
	// and the history is flushed past it.
	_, err = k.Set(ctx, "/ttl/first", "1")
	require.NoError(t, err)
	var last *kv.Response
	for i := range 1200 { // more than the history and the stream's buffer
		if i == 100 { // after what the stream buffered before it blocked
			_, err = k.Update(ctx, "/ttl/d", "")
			require.NoError(t, err)
		}
		last, err = k.Set(ctx, "/ttl/x", fmt.Sprint(i))
		require.NoError(t, err)
	}
	reported := make(chan *kv.Node, 1)
	go func() {
		for ch := range cache.Changes() {
			if ch.Resync && ch.Key == "/ttl/d" {
				reported <- ch.Node
			}
		}
		close(reported)
	}()
	require.NoError(t, cache.WaitForIndex(ctx, last.Index))

	n, ok = cache.Get("/ttl/d")
	require.True(t, ok)
	assert.Nil(t, n.Expiration, "the directory is permanent on the server now")
	cache.Close()
	ch, ok := <-reported
	require.True(t, ok, "the re-list reports the directory's new TTL on Changes")
	assert.Nil(t, ch.Expiration)
}

// newUnhedgedKV returns a client of the given endpoints that sends each read
// once, so a test counting the server's requests counts one per call.
func newUnhedgedKV(t testing.TB, endpoints ...string) *kv.KV {
	t.Helper()
	tr, err := transport.New(transport.Config{
		Endpoints:      endpoints,
		RequestTimeout: 300 * time.Millisecond,
		DisableHedging: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return kv.New(tr)
}

func TestCache_RelistJitterSpreadsTheRelistsOfCachesThatFellBehindTogether(t *testing.T) {
	const caches, window = 20, time.Second
	// Polls end after the watch timeout; the re-poll then finds its index
	// flushed from the history by the writes elsewhere.
	c := deimostest.NewCluster(t, 1, deimostest.WithWatchTimeout(1500*time.Millisecond))
	k := newUnhedgedKV(t, c.Endpoints()...)
	ctx := t.Context()
	_, err := k.Set(ctx, "/herd/a", "1")
	require.NoError(t, err)
	for range caches {
		cache, err := watch.NewCache(ctx, k, "/herd", watch.WithRelistJitter(window))
		require.NoError(t, err)
		defer cache.Close()
	}

	lists := deimostest.NewRecorder(deimostest.Listings("/herd"))
	c.Node(0).SetHook(lists.Hook())
	for i := range 1100 {
		_, err := k.Set(ctx, "/elsewhere", fmt.Sprint(i))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(lists.Times()) >= caches },
		20*time.Second, 10*time.Millisecond, "every cache lists again")

	at := lists.Times()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	spread := at[len(at)-1].Sub(at[0])
	assert.GreaterOrEqual(t, spread, 4*window/10,
		"%d re-lists jittered over %v arrived within %v of each other", len(at), window, spread)
}

func TestCache_ListTimeoutMakesNewCacheFailWhileTheClusterHangs(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newUnhedgedKV(t, c.Endpoints()...)
	c.Node(0).Pause()
	defer c.Node(0).Resume()

	returned := make(chan error, 1)
	go func() {
		cache, err := watch.NewCache(t.Context(), k, "/x", watch.WithListTimeout(200*time.Millisecond))
		if cache != nil {
			cache.Close()
		}
		returned <- err
	}()
	select {
	case err := <-returned:
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("NewCache did not give up on the hung cluster")
	}
}

func TestCache_RetryHookSeesFailedPollsAndTheCacheRecovers(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newUnhedgedKV(t, c.Endpoints()...)
	ctx := t.Context()
	failures := make(chan error, 1)
	cache, err := watch.NewCache(ctx, k, "/h", watch.WithRetryHook(func(err error) {
		select {
		case failures <- err:
		default:
		}
	}))
	require.NoError(t, err)
	defer cache.Close()

	c.Node(0).Stop()
	select {
	case err := <-failures:
		assert.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the hook saw no failed poll while the only node was down")
	}
	require.NoError(t, c.Node(0).Start())
	resp, err := k.Set(ctx, "/h/k", "v")
	require.NoError(t, err)
	require.NoError(t, cache.WaitForIndex(ctx, resp.Index))
	n, ok := cache.Get("/h/k")
	require.True(t, ok)
	assert.Equal(t, "v", n.Value)
}

func TestCache_RejectsNegativeTimings(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newUnhedgedKV(t, c.Endpoints()...)
	for name, opt := range map[string]watch.CacheOption{
		"jitter":       watch.WithRelistJitter(-time.Second),
		"list timeout": watch.WithListTimeout(-time.Second),
	} {
		_, err := watch.NewCache(t.Context(), k, "/x", opt)
		assert.ErrorIs(t, err, watch.ErrInvalidOption, name)
	}
}
