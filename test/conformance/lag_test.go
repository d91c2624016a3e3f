package conformance

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// How the suite copes with follower lag and the §12.7 crash.

// targetWatchLag is how far each in-process node's watch view trails the
// committed store. The real cluster lags by a few milliseconds; a much larger
// lag makes every ordering assumption fail reliably, and stays well under
// quietFor, so a wrongly delivered event still shows within a quiet window.
const targetWatchLag = 100 * time.Millisecond

// laggyOptions is the one place that lists what the shared in-process target
// adds to mimic a real cluster: follower lag visible to watches (docs/protocol.md
// §13.2) and the write-index race (§6.2).
func laggyOptions() []deimostest.Option {
	return []deimostest.Option{deimostest.WithWatchLag(targetWatchLag), deimostest.WithWriteIndexRace()}
}

// crashHazards describes every crash hazard c recorded: a watcher, on any
// node and lag included, inside a directory that was deleted or expired.
func crashHazards(c *deimostest.Cluster) []string {
	var out []string
	for _, h := range c.CrashHazards() {
		out = append(out, fmt.Sprintf("%+v", h))
	}
	return out
}

// checkCrashHazards is the end-of-run check of the shared in-process target,
// which no test owns: it fails the run when a test left a watcher inside a
// directory that was later removed.
func checkCrashHazards(c *deimostest.Cluster) error {
	if hs := crashHazards(c); len(hs) > 0 {
		return fmt.Errorf("a real node would have crashed (docs/protocol.md §12.7): %v", hs)
	}
	return nil
}

// expectCrashHazards tells c, a cluster of the calling test's own, that the
// test removes directories with watched keys inside on purpose, and checks at
// the end of the test that c saw at least one such hazard.
func expectCrashHazards(t testing.TB, c *deimostest.Cluster) {
	t.Helper()
	c.ExpectCrashHazards()
	t.Cleanup(func() {
		assert.NotEmpty(t, crashHazards(c), "the in-process server must flag what crashes the real one")
	})
}

// catchUp sends a GET for key to endpoint ep and returns the store index it
// was applied at. A GET goes through raft (§13.2), so once it is answered the
// node ep has applied every write acknowledged before it, on any node: a watch
// sent there next cannot take an earlier write for a new one, and a history
// scan there finds every earlier event.
func catchUp(t testing.TB, ep, key string) uint64 {
	t.Helper()
	r := do(t, call{method: "GET", uri: keys(key), endpoint: ep})
	require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, r.status, "GET %s: %q", key, r.body)
	return r.index(t)
}

// watchOn starts a watch on key at endpoint ep with wait=true plus the extra query.
func watchOn(t testing.TB, ep, key string, query ...string) *watcher {
	t.Helper()
	return startWatch(t, call{uri: keys(key, append([]string{"wait=true"}, query...)...), endpoint: ep})
}

// watchNext starts a watch without waitIndex ("the next event", §12.2) on a
// node that has caught up first, so that "next" comes after every write
// acknowledged so far, and not after what a lagging node happened to apply.
func watchNext(t testing.TB, key string, query ...string) *watcher {
	t.Helper()
	ep := tgt.endpoint()
	catchUp(t, ep, key)
	return watchOn(t, ep, key, query...)
}

// watchSince starts a watch with waitIndex = since on a node that has caught
// up first, so that events up to the acknowledged ones are answered from that
// node's history. On a lagging node the watch would register a live watcher
// instead: it filters hidden keys (§8.3) and, inside a directory the node has
// yet to delete, crashes the real server (§12.7, §13.2).
func watchSince(t testing.TB, key string, since uint64, query ...string) *watcher {
	t.Helper()
	ep := tgt.endpoint()
	catchUp(t, ep, key)
	return watchOn(t, ep, key, append([]string{"waitIndex=" + itoa(since)}, query...)...)
}
