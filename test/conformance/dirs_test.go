package conformance

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// §9, §4: a directory is created with dir=true, by set (201) or create
// (prevExists=false, 201); any value is ignored.
func TestDirs_CreateExplicitly(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, query, body, action string }{
		{"set", "dir=true", "", "set"},
		{"create", "dir=true&prevExists=false", "", "create"},
		{"value is ignored", "dir=true", "value=x", "set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := dir(t)
			r := put(t, keys(k, tc.query), tc.body)
			i := r.written(t)
			r.exactly(t, http.StatusCreated, result{Action: tc.action, Node: dirNode(k, i, i)})
			get(t, keys(k)).exactly(t, http.StatusOK, result{Action: "get", Node: dirNode(k, i, i)})
		})
	}
}

// §6.1, §9: implicit parents take the index of the write that created them,
// and a listing shows child directories without their nodes.
func TestDirs_ImplicitParentsTakeTheWriteIndex(t *testing.T) {
	t.Parallel()
	base := dir(t)
	i := mustSet(t, base+"/a/b/c", "v")
	get(t, keys(base+"/a")).exactly(t, http.StatusOK,
		result{Action: "get", Node: dirNode(base+"/a", i, i, dirNode(base+"/a/b", i, i))})
	get(t, keys(base+"/a", "recursive=true")).exactly(t, http.StatusOK,
		result{Action: "get", Node: dirNode(base+"/a", i, i, dirNode(base+"/a/b", i, i, file(base+"/a/b/c", "v", i, i)))})
	j := mustSet(t, base+"/a/b/d", "w")
	get(t, keys(base+"/a/b", "sorted=true")).exactly(t, http.StatusOK,
		result{Action: "get", Node: dirNode(base+"/a/b", i, i, file(base+"/a/b/c", "v", i, i), file(base+"/a/b/d", "w", j, j))})
}

// §5.1, §9: one level without recursive; an empty directory has no "nodes".
func TestDirs_ListingDepthAndEmptyDirectories(t *testing.T) {
	t.Parallel()
	d := dir(t)
	di := mustMkdir(t, d)
	ai := mustSet(t, d+"/a", "a")
	xi := mustSet(t, d+"/sub/x", "x")
	ei := mustMkdir(t, d+"/sub2")
	get(t, keys(d, "sorted=true")).exactly(t, http.StatusOK, result{Action: "get", Node: dirNode(d, di, di,
		file(d+"/a", "a", ai, ai), dirNode(d+"/sub", xi, xi), dirNode(d+"/sub2", ei, ei))})
	get(t, keys(d, "sorted=true&recursive=true")).exactly(t, http.StatusOK, result{Action: "get", Node: dirNode(d, di, di,
		file(d+"/a", "a", ai, ai), dirNode(d+"/sub", xi, xi, file(d+"/sub/x", "x", xi, xi)), dirNode(d+"/sub2", ei, ei))})
	get(t, keys(d+"/sub2", "recursive=true")).exactly(t, http.StatusOK, result{Action: "get", Node: dirNode(d+"/sub2", ei, ei)})
}

// §8.3: keys with a segment starting with "_" are left out of listings at every
// depth, but can be read directly.
func TestDirs_HiddenKeysAreNeverListed(t *testing.T) {
	t.Parallel()
	d := dir(t)
	di := mustMkdir(t, d)
	hi := mustSet(t, d+"/_h", "hidden")
	vi := mustSet(t, d+"/v", "v")
	si := mustSet(t, d+"/s/_h2", "hidden")
	mustSet(t, d+"/_hd/x", "hidden")
	want := result{Action: "get", Node: dirNode(d, di, di, dirNode(d+"/s", si, si), file(d+"/v", "v", vi, vi))}
	get(t, keys(d, "sorted=true")).exactly(t, http.StatusOK, want)
	get(t, keys(d, "sorted=true&recursive=true")).exactly(t, http.StatusOK, want)
	get(t, keys(d+"/_h")).exactly(t, http.StatusOK, result{Action: "get", Node: file(d+"/_h", "hidden", hi, hi)})
	require.Equal(t, "hidden", *mustGet(t, d+"/_hd/x").Node.Value)
}

// §9, §10 QUIRK: sorted=true orders children by byte-wise comparison of the
// full key at every level, so "/q/1000" comes before "/q/999".
func TestDirs_SortedIsByteWiseAtEveryLevel(t *testing.T) {
	t.Parallel()
	d := dir(t)
	mustMkdir(t, d)
	names := []string{"hd", "999", "sub/z", "a", "h#ash", "B", "1000", "sub/9", "sub/10"}
	for _, n := range names {
		mustSet(t, d+"/"+n, n)
	}
	res := mustGet(t, d, "sorted=true", "recursive=true")
	var got []string
	var walk func(n *node)
	walk = func(n *node) {
		for _, c := range n.Nodes {
			got = append(got, strings.TrimPrefix(c.Key, d+"/"))
			walk(c)
		}
	}
	walk(res.Node)
	require.Equal(t, []string{"1000", "999", "B", "a", "h#ash", "hd", "sub", "sub/10", "sub/9", "sub/z"}, got)
}

// §9 QUIRK: without sorted=true the order of children is random and differs between calls.
func TestDirs_UnsortedOrderVariesBetweenCalls(t *testing.T) {
	t.Parallel()
	d := dir(t)
	var want []string
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		mustSet(t, d+"/"+n, n)
		want = append(want, d+"/"+n)
	}
	orders := map[string]bool{}
	for i := 0; i < 40 && len(orders) < 2; i++ {
		res := mustGet(t, d)
		var got []string
		for _, c := range res.Node.Nodes {
			got = append(got, c.Key)
		}
		require.ElementsMatch(t, want, got)
		orders[strings.Join(got, ",")] = true
	}
	require.GreaterOrEqual(t, len(orders), 2, "40 unsorted listings of 12 children all came in the same order")
}

// §9: recursive and sorted on a file are ignored.
func TestDirs_RecursiveAndSortedOnAFileAreIgnored(t *testing.T) {
	t.Parallel()
	k := dir(t)
	i := mustSet(t, k, "v")
	get(t, keys(k, "recursive=true&sorted=true")).exactly(t, http.StatusOK, result{Action: "get", Node: file(k, "v", i, i)})
}

// §9: deleting directories and files with dir and recursive. The delete node of
// a directory has dir:true and no value; prevNode has no children.
func TestDirs_Delete(t *testing.T) {
	t.Parallel()
	t.Run("dir=true on an empty directory", func(t *testing.T) {
		k := dir(t)
		i := mustMkdir(t, k)
		r := del(t, keys(k, "dir=true"))
		j := r.written(t)
		r.exactly(t, http.StatusOK, result{Action: "delete", Node: dirNode(k, j, i), PrevNode: dirNode(k, i, i)})
		absent(t, k)
	})
	for _, q := range []string{"recursive=true", "recursive=true&dir=true", "recursive=true&dir=false"} {
		t.Run(q+" deletes the subtree", func(t *testing.T) {
			k := dir(t)
			i := mustSet(t, k+"/a/b", "v")
			mustSet(t, k+"/_hidden", "h")
			r := del(t, keys(k, q))
			j := r.written(t)
			r.exactly(t, http.StatusOK, result{Action: "delete", Node: dirNode(k, j, i), PrevNode: dirNode(k, i, i)})
			get(t, keys(k+"/a/b")).storeError(t, http.StatusNotFound, 100, msgNotFound, k)
		})
	}
	for _, q := range []string{"dir=true", "recursive=true"} {
		t.Run(q+" on a file deletes it", func(t *testing.T) {
			k := dir(t)
			i := mustSet(t, k, "v")
			r := del(t, keys(k, q))
			j := r.written(t)
			r.exactly(t, http.StatusOK, result{Action: "delete", Node: bare(k, j, i), PrevNode: file(k, "v", i, i)})
		})
	}
}

// §4 QUIRK: set with dir=true on an existing file turns it into an empty directory.
func TestDirs_SetDirOnExistingFileReplacesIt(t *testing.T) {
	t.Parallel()
	k := dir(t)
	i := mustSet(t, k, "v")
	r := put(t, keys(k, "dir=true"), "")
	j := r.written(t)
	r.exactly(t, http.StatusOK, result{Action: "set", Node: dirNode(k, j, j), PrevNode: file(k, "v", i, i)})
}

// §9: a directory may have a TTL; its node then shows expiration and ttl
// between dir and modifiedIndex.
func TestDirs_DirectoryWithTTL(t *testing.T) {
	t.Parallel()
	k := dir(t)
	res := put(t, keys(k, "dir=true&ttl=100"), "").ok(t, http.StatusCreated)
	require.True(t, res.Node.Dir)
	require.Nil(t, res.Node.Value)
	require.NotNil(t, res.Node.Expiration)
	require.Equal(t, int64(100), res.Node.TTL)
	exp, err := time.Parse(time.RFC3339Nano, *res.Node.Expiration)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(100*time.Second), exp, 5*time.Second)
}

// §9 BUG: a TTL-only update of a directory emits an update with the new index,
// but the directory's stored modifiedIndex does not change.
func TestDirs_TTLOnlyUpdateKeepsStoredModifiedIndex(t *testing.T) {
	t.Parallel()
	k := dir(t)
	i := mustMkdir(t, k)
	r := put(t, keys(k, "prevExists=true&ttl=100"), "")
	j := r.written(t)
	res := r.ok(t, http.StatusOK)
	require.Equal(t, "update", res.Action)
	require.Equal(t, k, res.Node.Key)
	require.True(t, res.Node.Dir)
	require.Nil(t, res.Node.Value)
	require.Greater(t, j, i, "the event carries a new index")
	require.Equal(t, i, res.Node.CreatedIndex)
	require.Equal(t, int64(100), res.Node.TTL)
	require.NotNil(t, res.PrevNode)
	require.True(t, res.PrevNode.Dir)

	after := mustGet(t, k)
	require.Equal(t, i, after.Node.ModifiedIndex, "BUG: the stored modifiedIndex is not changed")
	require.NotNil(t, after.Node.Expiration, "the TTL was applied")
}
