package kv_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestSet_CreatesThenReplaces(t *testing.T) {
	k, _ := newCluster(t)
	ctx := t.Context()

	first, err := k.Set(ctx, "/a", "1")
	require.NoError(t, err)
	assert.Equal(t, kv.ActionSet, first.Action)
	assert.Equal(t, "/a", first.Node.Key)
	assert.Equal(t, "1", first.Node.Value)
	assert.Nil(t, first.PrevNode)
	assert.Equal(t, first.Node.ModifiedIndex, first.Index, "a write's index is its own")
	assert.NotZero(t, first.RaftIndex)

	second, err := k.Set(ctx, "/a", "2")
	require.NoError(t, err)
	require.NotNil(t, second.PrevNode)
	assert.Equal(t, "1", second.PrevNode.Value)
	assert.Greater(t, second.Node.CreatedIndex, first.Node.CreatedIndex, "set replaces the node")

	got, err := k.Get(ctx, "/a")
	require.NoError(t, err)
	assert.Equal(t, kv.ActionGet, got.Action)
	assert.Equal(t, "2", got.Node.Value)
	assert.GreaterOrEqual(t, got.Index, got.Node.ModifiedIndex)
}

func TestSet_EmptyValueIsKept(t *testing.T) {
	k, _ := newCluster(t)
	_, err := k.Set(t.Context(), "/empty", "")
	require.NoError(t, err)
	got, err := k.Get(t.Context(), "/empty")
	require.NoError(t, err)
	assert.False(t, got.Node.Dir)
	assert.Equal(t, "", got.Node.Value)
}

func TestSet_Conditions(t *testing.T) {
	k, _ := newCluster(t)
	ctx := t.Context()

	created, err := k.Set(ctx, "/c", "v1", kv.WithPrevExist(false))
	require.NoError(t, err)
	assert.Equal(t, kv.ActionCreate, created.Action)
	_, err = k.Set(ctx, "/c", "v1", kv.WithPrevExist(false))
	requireServerError(t, err, kv.ErrNodeExist, "create", "/c")

	updated, err := k.Set(ctx, "/c", "v2", kv.WithPrevExist(true))
	require.NoError(t, err)
	assert.Equal(t, kv.ActionUpdate, updated.Action)
	_, err = k.Set(ctx, "/missing", "x", kv.WithPrevExist(true))
	requireServerError(t, err, kv.ErrKeyNotFound, "update", "/missing")

	swapped, err := k.Set(ctx, "/c", "v3", kv.WithPrevValue("v2"), kv.WithPrevIndex(updated.Node.ModifiedIndex))
	require.NoError(t, err)
	assert.Equal(t, kv.ActionCompareAndSwap, swapped.Action)
	_, err = k.Set(ctx, "/c", "v4", kv.WithPrevValue("v2"))
	requireServerError(t, err, kv.ErrTestFailed, "compareAndSwap", "/c")
}

func TestSet_DirOption(t *testing.T) {
	k, _ := newCluster(t)
	resp, err := k.Set(t.Context(), "/d", "ignored", kv.WithDir())
	require.NoError(t, err)
	assert.True(t, resp.Node.Dir)
	_, err = k.Set(t.Context(), "/d", "x")
	requireServerError(t, err, kv.ErrNotFile, "set", "/d")
}

func TestSet_ThroughAFileIsNotDir(t *testing.T) {
	k, _ := newCluster(t)
	_, err := k.Set(t.Context(), "/f", "file")
	require.NoError(t, err)
	_, err = k.Set(t.Context(), "/f/child", "x")
	requireServerError(t, err, kv.ErrNotDir, "set", "/f/child")
}

func TestWritesOnRoot_AreReadOnly(t *testing.T) {
	k, _ := newCluster(t)
	_, err := k.Set(t.Context(), "/", "x")
	requireServerError(t, err, kv.ErrRootReadOnly, "set", "/")
	_, err = k.Delete(t.Context(), "/", kv.WithRecursive())
	requireServerError(t, err, kv.ErrRootReadOnly, "delete", "/")
}

func TestGet_MissingKeyNamesFirstMissingAncestor(t *testing.T) {
	k, _ := newCluster(t)
	_, err := k.Get(t.Context(), "/x/y")
	requireServerError(t, err, kv.ErrKeyNotFound, "get", "/x/y")
	var se *kv.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "/x", se.Cause)
	assert.NotZero(t, se.Index)
}

func TestGet_RecursiveSorted(t *testing.T) {
	k, _ := newCluster(t)
	ctx := t.Context()
	for _, key := range []string{"/t/b", "/t/a", "/t/sub/y", "/t/sub/x", "/t/_hidden"} {
		_, err := k.Set(ctx, key, strings.TrimPrefix(key, "/t/"))
		require.NoError(t, err)
	}

	one, err := k.Get(ctx, "/t", kv.WithSorted())
	require.NoError(t, err)
	require.True(t, one.Node.Dir)
	require.Len(t, one.Node.Nodes, 3, "one level, hidden key left out")
	assert.Equal(t, []string{"/t/a", "/t/b", "/t/sub"}, keysOf(one.Node.Nodes))
	assert.Empty(t, one.Node.Nodes[2].Nodes, "children of subdirectories need recursive")

	all, err := k.Get(ctx, "/t", kv.WithRecursive(), kv.WithSorted())
	require.NoError(t, err)
	require.Len(t, all.Node.Nodes, 3)
	assert.Equal(t, []string{"/t/sub/x", "/t/sub/y"}, keysOf(all.Node.Nodes[2].Nodes))
}

func TestCreate_FailsOnExistingKey(t *testing.T) {
	k, _ := newCluster(t)
	resp, err := k.Create(t.Context(), "/c", "v", kv.WithTTL(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, kv.ActionCreate, resp.Action)
	assert.NotNil(t, resp.Node.Expiration)
	_, err = k.Create(t.Context(), "/c", "other")
	requireServerError(t, err, kv.ErrNodeExist, "create", "/c")
	got, err := k.Get(t.Context(), "/c")
	require.NoError(t, err)
	assert.Equal(t, "v", got.Node.Value)
}

func TestUpdate_ReplacesValueAndTTL(t *testing.T) {
	k, _ := newCluster(t)
	ctx := t.Context()
	_, err := k.Update(ctx, "/u", "x")
	requireServerError(t, err, kv.ErrKeyNotFound, "update", "/u")

	_, err = k.Set(ctx, "/u", "v1", kv.WithTTL(time.Hour))
	require.NoError(t, err)
	kept, err := k.Update(ctx, "/u", "v2", kv.WithTTL(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, kv.ActionUpdate, kept.Action)
	assert.Equal(t, "v2", kept.Node.Value)
	assert.NotNil(t, kept.Node.Expiration)
	assert.Equal(t, "v1", kept.PrevNode.Value)

	permanent, err := k.Update(ctx, "/u", "v3")
	require.NoError(t, err)
	assert.Nil(t, permanent.Node.Expiration, "update without a TTL makes the key permanent")
	assert.Equal(t, kept.Node.CreatedIndex, permanent.Node.CreatedIndex)
}

func TestCompareAndSwap(t *testing.T) {
	k, _ := newCluster(t)
	ctx := t.Context()
	set, err := k.Set(ctx, "/cas", "old")
	require.NoError(t, err)

	_, err = k.CompareAndSwap(ctx, "/cas", "new", kv.WithPrevValue("wrong"))
	requireServerError(t, err, kv.ErrTestFailed, "compareAndSwap", "/cas")
	_, err = k.CompareAndSwap(ctx, "/cas", "new", kv.WithPrevIndex(set.Node.ModifiedIndex+100))
	requireServerError(t, err, kv.ErrTestFailed, "compareAndSwap", "/cas")

	byValue, err := k.CompareAndSwap(ctx, "/cas", "v2", kv.WithPrevValue("old"))
	require.NoError(t, err)
	assert.Equal(t, kv.ActionCompareAndSwap, byValue.Action)
	byIndex, err := k.CompareAndSwap(ctx, "/cas", "v3", kv.WithPrevIndex(byValue.Node.ModifiedIndex), kv.WithTTL(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "v3", byIndex.Node.Value)
	assert.NotNil(t, byIndex.Node.Expiration)
	both, err := k.CompareAndSwap(ctx, "/cas", "v4", kv.WithPrevValue("v3"), kv.WithPrevIndex(byIndex.Node.ModifiedIndex))
	require.NoError(t, err)
	assert.Nil(t, both.Node.Expiration, "CAS without a TTL makes the key permanent")

	_, err = k.CompareAndSwap(ctx, "/nope", "x", kv.WithPrevValue("y"))
	requireServerError(t, err, kv.ErrKeyNotFound, "compareAndSwap", "/nope")
	_, err = k.Mkdir(ctx, "/dir")
	require.NoError(t, err)
	_, err = k.CompareAndSwap(ctx, "/dir", "x", kv.WithPrevValue("y"))
	requireServerError(t, err, kv.ErrNotFile, "compareAndSwap", "/dir")
}

func TestCompareAndDelete(t *testing.T) {
	k, _ := newCluster(t)
	ctx := t.Context()
	set, err := k.Set(ctx, "/cad", "v")
	require.NoError(t, err)
	_, err = k.CompareAndDelete(ctx, "/cad", kv.WithPrevValue("other"))
	requireServerError(t, err, kv.ErrTestFailed, "compareAndDelete", "/cad")
	_, err = k.Delete(ctx, "/cad", kv.WithPrevIndex(set.Node.ModifiedIndex+1))
	requireServerError(t, err, kv.ErrTestFailed, "compareAndDelete", "/cad")

	resp, err := k.CompareAndDelete(ctx, "/cad", kv.WithPrevValue("v"), kv.WithPrevIndex(set.Node.ModifiedIndex))
	require.NoError(t, err)
	assert.Equal(t, kv.ActionCompareAndDelete, resp.Action)
	assert.Equal(t, "v", resp.PrevNode.Value)
	_, err = k.Get(ctx, "/cad")
	assert.ErrorIs(t, err, kv.ErrKeyNotFound)
}

func TestDelete_FilesAndDirectories(t *testing.T) {
	k, _ := newCluster(t)
	ctx := t.Context()
	_, err := k.Delete(ctx, "/missing")
	requireServerError(t, err, kv.ErrKeyNotFound, "delete", "/missing")

	_, err = k.Set(ctx, "/f", "v")
	require.NoError(t, err)
	resp, err := k.Delete(ctx, "/f")
	require.NoError(t, err)
	assert.Equal(t, kv.ActionDelete, resp.Action)
	assert.Equal(t, "v", resp.PrevNode.Value)

	_, err = k.Set(ctx, "/d/x", "1")
	require.NoError(t, err)
	_, err = k.Delete(ctx, "/d")
	requireServerError(t, err, kv.ErrNotFile, "delete", "/d")
	_, err = k.Delete(ctx, "/d", kv.WithDir())
	requireServerError(t, err, kv.ErrDirNotEmpty, "delete", "/d")
	resp, err = k.Delete(ctx, "/d", kv.WithRecursive())
	require.NoError(t, err)
	assert.True(t, resp.Node.Dir)

	_, err = k.Mkdir(ctx, "/empty")
	require.NoError(t, err)
	_, err = k.Delete(ctx, "/empty", kv.WithDir())
	require.NoError(t, err)
}

func TestMkdir_NeverReplacesAFile(t *testing.T) {
	k, _ := newCluster(t)
	ctx := t.Context()
	resp, err := k.Mkdir(ctx, "/m", kv.WithTTL(time.Hour))
	require.NoError(t, err)
	assert.True(t, resp.Node.Dir)
	assert.NotNil(t, resp.Node.Expiration)
	_, err = k.Mkdir(ctx, "/m")
	requireServerError(t, err, kv.ErrNodeExist, "mkdir", "/m")

	_, err = k.Set(ctx, "/file", "keep")
	require.NoError(t, err)
	_, err = k.Mkdir(ctx, "/file")
	require.ErrorIs(t, err, kv.ErrNodeExist)
	got, err := k.Get(ctx, "/file")
	require.NoError(t, err)
	assert.Equal(t, "keep", got.Node.Value)
}

func TestCreateInOrder_ListNumericOrderAcrossDigitBoundary(t *testing.T) {
	k, _ := newCluster(t, deimostest.WithStartIndex(996))
	ctx := t.Context()
	var made []string
	for i := range 5 {
		resp, err := k.CreateInOrder(ctx, "/q", "job"+strconv.Itoa(i))
		require.NoError(t, err)
		assert.Equal(t, kv.ActionCreate, resp.Action)
		assert.Equal(t, "/q/"+strconv.FormatUint(resp.Index, 10), resp.Node.Key, "the name is the write's index")
		made = append(made, resp.Node.Key)
	}
	require.Equal(t, "/q/1001", made[4], "the test must cross 999 -> 1000")

	numeric, err := k.List(ctx, "/q", kv.WithNumericOrder())
	require.NoError(t, err)
	assert.Equal(t, made, keysOf(numeric.Node.Nodes))

	bytewise, err := k.List(ctx, "/q", kv.WithSorted())
	require.NoError(t, err)
	assert.Equal(t, []string{"/q/1000", "/q/1001", "/q/997", "/q/998", "/q/999"}, keysOf(bytewise.Node.Nodes))

	dir, err := k.CreateInOrder(ctx, "/q", "", kv.WithDir(), kv.WithTTL(time.Minute))
	require.NoError(t, err)
	assert.True(t, dir.Node.Dir)
	assert.NotNil(t, dir.Node.Expiration)
}

func TestList_Errors(t *testing.T) {
	k, _ := newCluster(t)
	_, err := k.List(t.Context(), "/none")
	requireServerError(t, err, kv.ErrKeyNotFound, "list", "/none")
	_, err = k.Set(t.Context(), "/file", "v")
	require.NoError(t, err)
	_, err = k.List(t.Context(), "/file")
	requireServerError(t, err, kv.ErrNotDir, "list", "/file")
}

func TestTTL_RoundsUpAndExpires(t *testing.T) {
	k, c := newCluster(t)
	ctx := t.Context()
	resp, err := k.Set(ctx, "/ttl", "v", kv.WithTTL(1100*time.Millisecond))
	require.NoError(t, err)
	assert.Equal(t, int64(2), resp.Node.TTL)
	require.NotNil(t, resp.Node.Expiration)
	assert.False(t, resp.Node.Expired(time.Now()))
	assert.True(t, resp.Node.Expired(resp.Node.Expiration.Add(time.Nanosecond)))

	require.Eventually(t, func() bool {
		_, err := k.Get(ctx, "/ttl")
		return err != nil && errors.Is(err, kv.ErrKeyNotFound)
	}, 10*time.Second, 50*time.Millisecond)
	events := c.History("/ttl")
	require.NotEmpty(t, events)
	assert.Equal(t, kv.ActionExpire, events[len(events)-1].Action)
}

func TestKeys_RoundTripEveryCharacter(t *testing.T) {
	k, _ := newCluster(t)
	for _, key := range []string{"/with space", "/q?x=1#frag", "/a%2Fb", "/✓uni", "/semi;colon", "/plus+sign", "/dots.../a.b", "/~tilde"} {
		set, err := k.Set(t.Context(), key, "v:"+key)
		require.NoError(t, err, key)
		assert.Equal(t, key, set.Node.Key)
		got, err := k.Get(t.Context(), key)
		require.NoError(t, err, key)
		assert.Equal(t, key, got.Node.Key)
		assert.Equal(t, "v:"+key, got.Node.Value)
	}
	list, err := k.List(t.Context(), "/")
	require.NoError(t, err)
	assert.NotContains(t, keysOf(list.Node.Nodes), "/a/b", "%2F never became a separator")
}

func TestInvalidInput_NeverReachesTheCluster(t *testing.T) {
	k, c := newCluster(t)
	ctx := t.Context()
	before := c.Requests("")
	calls := []func() error{
		func() error { _, err := k.Get(ctx, ""); return err },
		func() error { _, err := k.Set(ctx, "/a/../b", "v"); return err },
		func() error { _, err := k.Set(ctx, "/_deimos/machines/1", "{}"); return err },
		func() error { _, err := k.Create(ctx, "/a", "v", kv.WithTTL(time.Millisecond)); return err },
		func() error { _, err := k.Update(ctx, "/a", "v", kv.WithTTL(kv.MaxTTL*2)); return err },
		func() error { _, err := k.CompareAndSwap(ctx, "/a", "v"); return err },
		func() error { _, err := k.CompareAndDelete(ctx, "/a", kv.WithPrevValue("")); return err },
		func() error { _, err := k.Delete(ctx, "/a\x00"); return err },
	}
	for i, call := range calls {
		require.Error(t, call(), "call %d", i)
	}
	assert.Equal(t, before, c.Requests(""), "no request was sent")
}

func keysOf(nodes []*kv.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Key
	}
	return out
}
