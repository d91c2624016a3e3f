package conformance

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/stretchr/testify/require"
)

const (
	// eventWait bounds the wait for an event that a write already caused.
	eventWait = 10 * time.Second
	// quietFor is how long a watch must stay silent to count as "still waiting".
	quietFor = 300 * time.Millisecond
)

// §12.3, §6.2, §6.3: a watch answers 200 with JSON content type and the raft
// headers at once, before any event exists, and never carries X-Deimos-Index.
func TestWatch_HeadersFlushedBeforeTheEvent(t *testing.T) {
	t.Parallel()
	k := dir(t)
	w := watchKey(t, k)
	require.Equal(t, http.StatusOK, w.resp.StatusCode)
	require.Equal(t, jsonType, w.resp.Header.Get("Content-Type"))
	_, has := w.resp.Header["X-Deimos-Index"]
	require.False(t, has, "watch responses have no X-Deimos-Index")
	raftHeaders(t, w.resp.Header)
	w.quiet(t, quietFor)

	r := put(t, keys(k), "value=v")
	_, b := w.event(t, eventWait)
	require.Equal(t, string(r.body), string(b), "the event is the write's response body")
}

// §12.2: a watcher on a key receives every kind of event on it, and the event
// is byte for byte the body of the write that caused it. The watch goes to a
// node that has caught up, so that it cannot take the setup write for the
// next event (§13.2).
func TestWatch_EventEqualsWriteResponse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		setup  func(t *testing.T, k string)
		query  string // watch query besides wait=true
		method string
		uri    func(k string) string
		body   string
	}{
		{"set new", nil, "", "PUT", func(k string) string { return keys(k) }, "value=v"},
		{"set replacing", func(t *testing.T, k string) { mustSet(t, k, "old") }, "", "PUT", func(k string) string { return keys(k) }, "value=v"},
		{"set directory", nil, "", "PUT", func(k string) string { return keys(k, "dir=true") }, ""},
		{"update", func(t *testing.T, k string) { mustSet(t, k, "old") }, "", "PUT", func(k string) string { return keys(k, "prevExists=true") }, "value=v"},
		{"create", nil, "", "PUT", func(k string) string { return keys(k, "prevExists=false") }, "value=v"},
		{"compareAndSwap", func(t *testing.T, k string) { mustSet(t, k, "old") }, "", "PUT", func(k string) string { return keys(k, "prevValue=old") }, "value=v"},
		{"delete", func(t *testing.T, k string) { mustSet(t, k, "old") }, "", "DELETE", func(k string) string { return keys(k) }, ""},
		{"compareAndDelete", func(t *testing.T, k string) { mustSet(t, k, "old") }, "", "DELETE", func(k string) string { return keys(k, "prevValue=old") }, ""},
		{"delete of the watched directory", func(t *testing.T, k string) { mustSet(t, k+"/c", "x") }, "", "DELETE", func(k string) string { return keys(k, "recursive=true") }, ""},
		{"in-order create seen recursively", nil, "recursive=true", "POST", func(k string) string { return keys(k) }, "value=v"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := dir(t)
			if tc.setup != nil {
				tc.setup(t, k)
			}
			var q []string
			if tc.query != "" {
				q = append(q, tc.query)
			}
			w := watchNext(t, k, q...)
			c := call{method: tc.method, uri: tc.uri(k), body: tc.body}
			if tc.body != "" {
				c.contentType = formType
			}
			r := do(t, c)
			require.Less(t, r.status, 300, "%q", r.body)
			res, b := w.event(t, eventWait)
			require.Equal(t, string(r.body), string(b))
			require.GreaterOrEqual(t, r.index(t), res.Node.ModifiedIndex, "the write's X-Deimos-Index names it or a later write (§6.2)")
		})
	}
}

// §12.3: one event per response, even when more are ready; the next watch
// continues at modifiedIndex+1 and finds the rest in history.
func TestWatch_OneEventPerResponse(t *testing.T) {
	t.Parallel()
	k := dir(t)
	w := watchKey(t, k)
	i := mustSet(t, k, "1")
	j := mustSet(t, k, "2")
	res, _ := w.event(t, eventWait)
	require.Equal(t, i, res.Node.ModifiedIndex)

	w2 := watchSince(t, k, res.Node.ModifiedIndex+1)
	res, _ = w2.event(t, eventWait)
	require.Equal(t, j, res.Node.ModifiedIndex)
	require.Equal(t, "2", *res.Node.Value)
}

// §12.2: with waitIndex the history is searched for the first matching event
// with index >= waitIndex; a later waitIndex waits for the future; 0 means "next".
// Every watch goes to one node that has caught up after the writes, so that
// history, not a lagging node's live watcher, answers, and "next" is after r3 (§13.2).
func TestWatch_WaitIndexScansHistory(t *testing.T) {
	t.Parallel()
	k := dir(t) + "/k"
	r1 := put(t, keys(k), "value=1")
	i1 := r1.written(t)
	mustSet(t, dir(t)+"/other", "x")
	r3 := put(t, keys(k), "value=3")
	i3 := r3.written(t)
	ep := tgt.endpoint()
	catchUp(t, ep, k)

	at := func(i uint64) string { return "waitIndex=" + strconv.FormatUint(i, 10) }
	_, b := watchOn(t, ep, k, at(i1)).event(t, eventWait)
	require.Equal(t, string(r1.body), string(b), "exact index")
	_, b = watchOn(t, ep, k, at(i1+1)).event(t, eventWait)
	require.Equal(t, string(r3.body), string(b), "the first matching event after waitIndex, skipping other keys")
	_, b = watchOn(t, ep, k, at(i3)).event(t, eventWait)
	require.Equal(t, string(r3.body), string(b))

	future := watchOn(t, ep, k, at(i3+1))
	zero := watchOn(t, ep, k, "waitIndex=0")
	future.quiet(t, quietFor)
	zero.quiet(t, quietFor)
	r4 := put(t, keys(k), "value=4")
	_, b = future.event(t, eventWait)
	require.Equal(t, string(r4.body), string(b))
	_, b = zero.event(t, eventWait)
	require.Equal(t, string(r4.body), string(b))
}

// §12.2: a recursive watch sees the key and everything below it; a plain watch
// on a directory does not see its children.
func TestWatch_RecursiveDelivery(t *testing.T) {
	t.Parallel()
	d := dir(t)
	mustMkdir(t, d)
	rec := watchNext(t, d, "recursive=true") // caught up: the mkdir is not "next" (§13.2)
	plain := watchNext(t, d)
	r := put(t, keys(d+"/x/y"), "value=deep")
	_, b := rec.event(t, eventWait)
	require.Equal(t, string(r.body), string(b))
	plain.quiet(t, quietFor)

	// The plain watcher sits on the directory key itself, which is safe to
	// delete (§12.7 concerns watchers strictly inside).
	r = del(t, keys(d, "recursive=true"))
	res, b := plain.event(t, eventWait)
	require.Equal(t, string(r.body), string(b))
	require.Equal(t, "delete", res.Action)
	require.True(t, res.Node.Dir)
}

// §12.2: the implicit creation of the watched key as a parent directory is not delivered.
func TestWatch_ImplicitParentCreationIsNotDelivered(t *testing.T) {
	t.Parallel()
	p := dir(t) + "/p"
	w := watchKey(t, p)
	mustSet(t, p+"/child", "v")
	w.quiet(t, quietFor)
	r := del(t, keys(p, "recursive=true")) // safe: nothing watches inside p
	res, b := w.event(t, eventWait)
	require.Equal(t, string(r.body), string(b))
	require.Equal(t, "delete", res.Action)
}

// §8.3, §12.2: live recursive watchers do not see hidden descendants, but hidden
// keys can be watched directly, and a hidden segment above the watched key
// does not matter.
func TestWatch_HiddenKeysAndLiveWatchers(t *testing.T) {
	t.Parallel()
	t.Run("hidden descendants are skipped", func(t *testing.T) {
		d := dir(t)
		mustMkdir(t, d)
		w := watchNext(t, d, "recursive=true") // caught up: the mkdir is not "next" (§13.2)
		mustSet(t, d+"/_h", "hidden")
		mustSet(t, d+"/s/_h", "hidden")
		mustSet(t, d+"/_hd/x", "hidden")
		r := put(t, keys(d+"/v"), "value=visible")
		_, b := w.event(t, eventWait)
		require.Equal(t, string(r.body), string(b))
	})
	t.Run("hidden key watched directly", func(t *testing.T) {
		k := dir(t) + "/_h"
		w := watchKey(t, k)
		r := put(t, keys(k), "value=v")
		_, b := w.event(t, eventWait)
		require.Equal(t, string(r.body), string(b))
	})
	t.Run("recursive watch on a hidden directory", func(t *testing.T) {
		d := dir(t) + "/_hd"
		mustMkdir(t, d)
		w := watchNext(t, d, "recursive=true")
		r := put(t, keys(d+"/x"), "value=v")
		_, b := w.event(t, eventWait)
		require.Equal(t, string(r.body), string(b))
	})
}

// §8.3 BUG: a watch answered from history does not filter hidden keys. It must
// reach a node that has applied the write: a lagging one would register a live
// watcher, which does filter them (§13.2).
func TestWatch_HistoryScanDoesNotFilterHiddenKeys(t *testing.T) {
	t.Parallel()
	d := dir(t)
	mustMkdir(t, d)
	r := put(t, keys(d+"/_h"), "value=hidden")
	_, b := watchSince(t, d, r.written(t), "recursive=true").event(t, eventWait)
	require.Equal(t, string(r.body), string(b))
}

// §12.2: a history scan does not report the deletion of an ancestor; the watch
// waits for the next event on the key itself. The watch inside pd goes to a
// node that has applied the delete: on a node that had not, it would be a live
// watcher inside pd when the delete arrives, which crashes the real server
// (§12.7, §13.2). Nothing deletes pd again.
func TestWatch_HistoryScanIgnoresAncestorDeletion(t *testing.T) {
	t.Parallel()
	pd := dir(t) + "/pd"
	mustSet(t, pd+"/child", "v")
	d := del(t, keys(pd, "recursive=true")).written(t) // no watcher exists inside pd yet
	w := watchSince(t, pd+"/child", d)
	w.quiet(t, quietFor)
	r := put(t, keys(pd+"/child"), "value=again")
	_, b := w.event(t, eventWait)
	require.Equal(t, string(r.body), string(b))
}

// §12.5, §7.2: a waitIndex older than the 1000-event history is errorCode 401
// with HTTP 400, the current index in the body and X-Deimos-Index, the
// trailing line, and the cause "[<oldest>/<asked>]" with oldest = index-999.
// Not parallel: its 1000 writes would push other tests' waitIndexes out of history.
func TestWatch_OutdatedWaitIndexIs401(t *testing.T) {
	base := dir(t)
	old := mustSet(t, base+"/old", "v")
	flood(t, base, 1000)
	// A node still applying the flood would find old in its history (§13.2).
	ep := tgt.endpoint()
	catchUp(t, ep, base+"/old")

	for _, q := range []string{"", "&recursive=true"} {
		r := do(t, call{method: "GET", uri: keys(base+"/old", "wait=true&waitIndex="+strconv.FormatUint(old, 10)+q), endpoint: ep})
		oldest := r.firstError(t).Index - 999
		idx := r.storeError(t, http.StatusBadRequest, 401, msgOutdated,
			fmt.Sprintf("the requested history has been cleared [%d/%d]", oldest, old))
		require.GreaterOrEqual(t, idx, old+1000)
	}
}

// flood writes n keys under base with a few concurrent writers.
func flood(t *testing.T, base string, n int) {
	t.Helper()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				r, err := send(call{method: "PUT", uri: keys(base + "/flood/" + strconv.Itoa(i%50)), body: "value=x", contentType: formType})
				if err != nil {
					errs <- fmt.Sprintf("flood write %d: %v", i, err)
					return
				}
				if r.status != http.StatusOK && r.status != http.StatusCreated {
					errs <- fmt.Sprintf("flood write %d: %d %q", i, r.status, r.body)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// §12.6 QUIRK: stream=true delivers one event and then keeps the connection
// open and idle; the test closes it.
func TestWatch_StreamTrueDeliversOneEventThenIdles(t *testing.T) {
	t.Parallel()
	k := dir(t)
	w := watchKey(t, k, "stream=true")
	r := put(t, keys(k), "value=1")
	require.Equal(t, string(r.body), string(w.line(t, eventWait)))
	mustSet(t, k, "2")
	w.quiet(t, quietFor) // no second event, and the response has not ended
}

// §12.4: when the server's watch duration runs out it ends the response with
// 200 and an empty body.
func TestWatch_EmptyBodyWhenServerEndsTheWatch(t *testing.T) {
	c := freshCluster(t, "the real server holds a watch for 5 minutes", deimostest.WithWatchTimeout(300*time.Millisecond))
	w := startWatch(t, call{uri: keys("/nothing", "wait=true"), endpoint: c.Endpoints()[1]})
	require.Equal(t, http.StatusOK, w.resp.StatusCode)
	_, has := w.resp.Header["X-Deimos-Index"]
	require.False(t, has)
	require.Empty(t, w.body(t, eventWait))
}
