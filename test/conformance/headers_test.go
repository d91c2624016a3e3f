package conformance

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// raftHeaders asserts that X-Raft-Index and X-Raft-Term are present and decimal (§6.3).
func raftHeaders(t testing.TB, h http.Header) {
	t.Helper()
	for _, name := range []string{"X-Raft-Index", "X-Raft-Term"} {
		v := h.Get(name)
		require.NotEmpty(t, v, "%s missing in %v", name, h)
		_, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "%s: %q", name, v)
	}
}

// §5.2, §6.3, §1: every successful non-watch response is chunked JSON with the
// store index and the raft headers. X-Deimos-Index of a write names the write
// or, by the §6.2 race, a later one; TestIndex_WriteHeaderUsuallyNamesTheWrite
// pins the "usually".
func TestHeaders_SuccessfulResponses(t *testing.T) {
	t.Parallel()
	base := dir(t)
	mustSet(t, base+"/cas", "v")
	mustSet(t, base+"/del", "v")
	cases := []struct {
		name, method, uri, body string
		status                  int
		write                   bool
	}{
		{"set", "PUT", keys(base + "/set"), "value=v", 201, true},
		{"CAS", "PUT", keys(base+"/cas", "prevValue=v"), "value=w", 200, true},
		{"POST", "POST", keys(base + "/q"), "value=v", 201, true},
		{"delete", "DELETE", keys(base + "/del"), "", 200, true},
		{"get", "GET", keys(base + "/cas"), "", 200, false},
		{"get directory", "GET", keys(base, "recursive=true&sorted=true"), "", 200, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := call{method: tc.method, uri: tc.uri, body: tc.body}
			if tc.body != "" {
				c.contentType = formType
			}
			r := do(t, c)
			res := r.ok(t, tc.status)
			raftHeaders(t, r.header)
			require.True(t, r.chunked, "responses are chunked")
			require.Empty(t, r.header.Get("Content-Length"))
			if tc.write {
				require.GreaterOrEqual(t, r.index(t), res.Node.ModifiedIndex, "X-Deimos-Index of a write is its index or a later one")
			} else {
				require.GreaterOrEqual(t, r.index(t), res.Node.ModifiedIndex, "a GET reports the store index, not the node's")
			}
		})
	}
}

// §1, §7: error responses are chunked too, and only store errors carry an index.
func TestHeaders_ErrorFraming(t *testing.T) {
	t.Parallel()
	base := dir(t)
	cases := []struct {
		name, method, uri string
		status            int
		deimosIndex       bool
	}{
		{"store error", "GET", keys(base + "/missing"), 404, true},
		{"validation error", "GET", keys(base, "sorted=x"), 400, true},
		{"404 page", "GET", "/nope", 404, false},
		{"405", "PATCH", keys(base), 405, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, call{method: tc.method, uri: tc.uri})
			require.Equal(t, tc.status, r.status)
			require.True(t, r.chunked, "error responses are chunked")
			require.Empty(t, r.header.Get("Content-Length"))
			require.Equal(t, tc.deimosIndex, r.hasHeader("X-Deimos-Index"))
			require.False(t, r.hasHeader("X-Raft-Index"), "no raft headers on errors")
			require.False(t, r.hasHeader("X-Raft-Term"), "no raft headers on errors")
		})
	}
}

// §6.1: a GET reports the current store index, which is at least the index of
// every write that finished before it, on any node.
func TestIndex_GetReportsCurrentStoreIndex(t *testing.T) {
	t.Parallel()
	base := dir(t)
	i := mustSet(t, base+"/a", "a")
	j := mustSet(t, base+"/b", "b")
	for _, ep := range tgt.endpoints {
		r := do(t, call{method: "GET", uri: keys(base + "/a"), endpoint: ep})
		r.exactly(t, http.StatusOK, result{Action: "get", Node: file(base+"/a", "a", i, i)})
		require.GreaterOrEqual(t, r.index(t), j, "reads are linearizable on every node (§13.2)")
	}
}

// §6.2, §6.4: X-Deimos-Index of a write is usually the write's own index, its
// node.modifiedIndex. A watch answered from history while the write is being
// answered can make the header name a later write, never an earlier one (each
// write checks that), so a server passes once the header is exact.
// Not parallel: the other tests' history watches are what the race feeds on.
func TestIndex_WriteHeaderUsuallyNamesTheWrite(t *testing.T) {
	k := dir(t)
	var raced []string
	for n := 0; n < 20; n++ {
		r := put(t, keys(k), form("value", strconv.Itoa(n)))
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, r.status, "%q", r.body)
		i := r.written(t)
		if r.index(t) == i {
			return
		}
		raced = append(raced, fmt.Sprintf("%d named %d", i, r.index(t)))
	}
	t.Fatalf("X-Deimos-Index never named the write itself in 20 writes: %v", raced)
}

// contiguous runs steps, each returning the index it observed (0 for "must not
// consume an index"), and reports whether the successful ones were consecutive.
// Other writers (late reaping of an earlier run's keys on a real cluster) can
// break one attempt, so callers retry; a server that consumes or skips indexes
// fails every attempt.
func contiguous(t *testing.T, steps []func(t *testing.T) uint64) (bool, []uint64) {
	t.Helper()
	var seen []uint64
	for _, s := range steps {
		if i := s(t); i != 0 {
			seen = append(seen, i)
		}
	}
	for n := 1; n < len(seen); n++ {
		if seen[n] != seen[n-1]+1 {
			return false, seen
		}
	}
	return true, seen
}

func retryContiguous(t *testing.T, build func(t *testing.T, attempt string) []func(t *testing.T) uint64) {
	t.Helper()
	var seen []uint64
	for attempt := 0; attempt < 5; attempt++ {
		ok, s := contiguous(t, build(t, strconv.Itoa(attempt)))
		if ok {
			return
		}
		seen = s
	}
	t.Fatalf("indexes of successive writes are not consecutive in 5 attempts; last: %v", seen)
}

// §6.1: every successful mutation adds exactly one to the store index, whatever its kind.
// Not parallel: other tests' writes would interleave.
func TestIndex_EachMutationAddsExactlyOne(t *testing.T) {
	base := dir(t)
	retryContiguous(t, func(t *testing.T, a string) []func(t *testing.T) uint64 {
		k := base + "/" + a
		w := func(c call, status int) func(t *testing.T) uint64 {
			return func(t *testing.T) uint64 {
				if c.body != "" {
					c.contentType = formType
				}
				r := do(t, c)
				r.ok(t, status)
				return r.written(t)
			}
		}
		return []func(t *testing.T) uint64{
			w(call{method: "PUT", uri: keys(k + "/f"), body: "value=1"}, 201),                   // set (with implicit parents)
			w(call{method: "PUT", uri: keys(k+"/f", "prevExists=true"), body: "value=2"}, 200),  // update
			w(call{method: "PUT", uri: keys(k+"/f", "prevValue=2"), body: "value=3"}, 200),      // compareAndSwap
			w(call{method: "PUT", uri: keys(k+"/g", "prevExists=false"), body: "value=1"}, 201), // create
			w(call{method: "POST", uri: keys(k + "/q"), body: "value=1"}, 201),                  // in-order create
			w(call{method: "DELETE", uri: keys(k+"/f", "prevValue=3")}, 200),                    // compareAndDelete
			w(call{method: "DELETE", uri: keys(k + "/g")}, 200),                                 // delete
			w(call{method: "PUT", uri: keys(k+"/d", "dir=true")}, 201),                          // directory
			w(call{method: "DELETE", uri: keys(k+"/d", "dir=true")}, 200),                       // directory delete
			w(call{method: "PUT", uri: keys(k + "/f"), body: "value=again"}, 201),               // set
		}
	})
}

// §6.1: failed mutations, GETs and watches answered from history do not change the store index.
// Not parallel: other tests' writes would interleave.
func TestIndex_FailuresAndReadsDoNotConsumeIndexes(t *testing.T) {
	base := dir(t)
	retryContiguous(t, func(t *testing.T, a string) []func(t *testing.T) uint64 {
		k := base + "/" + a
		mustSet(t, k+"/f", "v")
		mustMkdir(t, k+"/d")
		var first uint64
		fail := func(method, uri, body string, status int) func(t *testing.T) uint64 {
			return func(t *testing.T) uint64 {
				c := call{method: method, uri: uri, body: body}
				if body != "" {
					c.contentType = formType
				}
				r := do(t, c)
				require.Equal(t, status, r.status, "%s %s: %q", method, uri, r.body)
				return 0
			}
		}
		return []func(t *testing.T) uint64{
			func(t *testing.T) uint64 { first = mustSet(t, k+"/f", "v"); return first },
			fail("PUT", keys(k+"/f", "prevValue=no"), "value=x", 412),
			fail("PUT", keys(k+"/f", "prevExists=false"), "value=x", 412),
			fail("PUT", keys(k+"/missing", "prevExists=true"), "value=x", 404),
			fail("PUT", keys(k+"/d"), "value=x", 403),
			fail("DELETE", keys(k+"/d"), "", 403),
			fail("POST", keys(k+"/f/x"), "value=x", 400),
			fail("PUT", keys(k+"/f", "ttl=x"), "value=x", 400),
			fail("GET", keys(k+"/f"), "", 200),
			fail("GET", keys(k+"/missing"), "", 404),
			func(t *testing.T) uint64 {
				// On a node that has applied first, so that its history answers (§13.2).
				ep := tgt.endpoint()
				catchUp(t, ep, k+"/f")
				r := do(t, call{method: "GET", uri: keys(k+"/f", "wait=true&waitIndex="+itoa(first)), endpoint: ep})
				var ev result
				canonical(t, r.body, &ev)
				require.Equal(t, first, ev.Node.ModifiedIndex, "the watch is answered from history")
				return 0
			},
			func(t *testing.T) uint64 { return mustSet(t, k+"/f", "w") },
		}
	})
}
