package deimostest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

const deletePD8 = `{"action":"delete","node":{"key":"/pd","dir":true,"modifiedIndex":8,"createdIndex":7},"prevNode":{"key":"/pd","dir":true,"modifiedIndex":7,"createdIndex":7}}` + "\n"

func deleteDir(c *client, dir string) {
	c.t.Helper()
	require.Equal(c.t, 200, c.do(http.MethodDelete, "/keys"+dir+"?recursive=true", nil).status)
}

// A recursive delete with a live watcher on a key inside the directory: the real node
// would crash (docs/protocol.md §12.7); the emulator records it and delivers the delete.
func TestCrashHazardDeleteWithLiveWatcher(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	c.ExpectCrashHazards()
	cl := newClient(t, c)
	cl.put("/pd/child", "c")
	n1 := cl.at(c.Endpoints()[1])
	exact := pending(n1.startWatch(context.Background(), "/pd/child?wait=true"))
	rec := pending(n1.startWatch(context.Background(), "/pd/child?wait=true&recursive=true"))
	onDir := pending(cl.at(c.Endpoints()[2]).startWatch(context.Background(), "/pd?wait=true&recursive=true"))
	deleteDir(cl, "/pd")
	assert.Equal(t, deletePD8, receive(t, exact))
	assert.Equal(t, deletePD8, receive(t, rec))
	assert.Equal(t, deletePD8, receive(t, onDir))
	want := deimostest.CrashHazard{Node: "node2", Dir: "/pd", Action: "delete", Index: 8, Watched: []string{"/pd/child"}}
	assert.Equal(t, []deimostest.CrashHazard{want}, c.CrashHazards(), "node 3 only watched the directory itself")
	assert.Equal(t, "node2 would have crashed: recursive delete of directory /pd at index 8 while it had watches inside it on /pd/child", want.String())
}

// Watches on the directory itself, on an ancestor, beside it, or on a key that does not
// exist inside it are safe (the server only notifies the paths of the nodes it removes).
// This cluster does not expect hazards: its cleanup would fail the test.
func TestNoCrashHazardForSafeWatches(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	cl := newClient(t, c)
	cl.put("/pd/child", "c")
	cl.put("/pdx/child", "c")
	var bodies []<-chan string
	for _, q := range []string{"/pd?wait=true", "/pd?wait=true&recursive=true", "/?wait=true&recursive=true",
		"/pdx/child?wait=true", "/pd/missing?wait=true", "/pd/child/below?wait=true"} {
		bodies = append(bodies, pending(cl.startWatch(context.Background(), q)))
	}
	deleteDir(cl, "/pd")
	assert.Empty(t, c.CrashHazards())
	for _, b := range bodies[:3] {
		assert.Contains(t, receive(t, b), `"action":"delete","node":{"key":"/pd"`)
	}
	// A file delete with a watcher on the file is the ordinary case.
	w := pending(cl.startWatch(context.Background(), "/pdx/child?wait=true"))
	require.Equal(t, 200, cl.do(http.MethodDelete, "/keys/pdx/child", nil).status)
	assert.Contains(t, receive(t, w), `"action":"delete"`)
	assert.Empty(t, c.CrashHazards())
}

// A directory with a TTL that expires while a watcher waits inside it.
func TestCrashHazardExpireWithWatcher(t *testing.T) {
	c := deimostest.NewCluster(t, 2)
	c.ExpectCrashHazards()
	cl := newClient(t, c)
	require.Equal(t, 201, cl.do(http.MethodPut, "/keys/td?dir=true", nil).status) // 7
	cl.put("/td/sub/child", "c")                                                  // 8
	w := pending(cl.at(c.Endpoints()[1]).startWatch(context.Background(), "/td/sub/child?wait=true"))
	// ttl=0 on the directory: it expires now and is reaped at once.
	require.Equal(t, 200, cl.do(http.MethodPut, "/keys/td?dir=true&prevExists=true&ttl=0", nil).status) // 9
	assert.Contains(t, receive(t, w), `"action":"expire","node":{"key":"/td","modifiedIndex":10`)
	assert.Equal(t, []deimostest.CrashHazard{{Node: "node2", Dir: "/td", Action: "expire", Index: 10,
		Watched: []string{"/td/sub/child"}}}, c.CrashHazards())
	assert.Contains(t, c.CrashHazards()[0].String(), "node2 would have crashed: expiry of directory /td at index 10")
}

// abandon starts a watch and disconnects its client.
func abandon(t *testing.T, c *deimostest.Cluster, cl *client, q string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cl.startWatch(ctx, q)
	cancel()
	require.Eventually(t, func() bool { return c.Watchers() == 0 }, 5*time.Second, time.Millisecond,
		"the server notices the disconnect")
}

// A watcher whose client disconnected still exists on the real server until an event
// consumes it or its watch timeout ends it.
func TestCrashHazardAbandonedWatcher(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	c.ExpectCrashHazards()
	cl := newClient(t, c)
	cl.put("/pd/child", "c") // 7
	cl.put("/pe/child", "c") // 8
	abandon(t, c, cl, "/pd/child?wait=true")
	abandon(t, c, cl, "/pe/child?wait=true")
	cl.put("/pe/child", "again") // 9: consumes the abandoned watcher on /pe/child
	deleteDir(cl, "/pe")         // 10: safe
	deleteDir(cl, "/pd")         // 11
	assert.Equal(t, []deimostest.CrashHazard{{Node: "node1", Dir: "/pd", Action: "delete", Index: 11,
		Watched: []string{"/pd/child"}}}, c.CrashHazards())
}

// An abandoned watcher is gone once its watch timeout would have ended it.
func TestNoCrashHazardAfterAbandonedWatcherTimedOut(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithWatchTimeout(100*time.Millisecond))
	cl := newClient(t, c)
	cl.put("/pd/child", "c")
	abandon(t, c, cl, "/pd/child?wait=true")
	// A watch started after it ends at its timeout: by then the abandoned one timed out.
	assert.Equal(t, "", cl.get("/sync?wait=true").body)
	deleteDir(cl, "/pd")
	assert.Empty(t, c.CrashHazards())
}

// A stopped node loses its watchers, abandoned ones too.
func TestNoCrashHazardAfterNodeRestart(t *testing.T) {
	c := deimostest.NewCluster(t, 2)
	cl := newClient(t, c)
	cl.put("/pd/child", "c")
	n1 := cl.at(c.Endpoints()[1])
	abandon(t, c, n1, "/pd/child?wait=true")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := n1.startWatch(ctx, "/pd/child?wait=true")
	c.Node(1).Stop()
	_, _ = io.ReadAll(live.Body)
	require.NoError(t, c.Node(1).Start())
	deleteDir(cl, "/pd")
	assert.Empty(t, c.CrashHazards())
}

// Lag plus §12.7 (docs/protocol.md §13.2): the delete is acknowledged by node 1; a watch on
// a child with waitIndex = the delete's index reaches node 2 before it applied the delete,
// so it registers inside the directory, and applying the delete would crash node 2.
func TestCrashHazardLagPlusDelete(t *testing.T) {
	c := deimostest.NewCluster(t, 2)
	c.ExpectCrashHazards()
	cl := newClient(t, c)
	lagging := c.Node(1)
	lagging.SetWatchLag(longLag)
	cl.put("/pd/child", "c") // 7
	deleteDir(cl, "/pd")     // 8
	body := pending(cl.at(lagging.URL()).startWatch(context.Background(), "/pd/child?wait=true&waitIndex=8"))
	assert.Equal(t, 1, lagging.Watchers())
	assert.Empty(t, c.CrashHazards(), "not yet: node 2 has not applied the delete")
	lagging.ClearWatchLag()
	assert.Equal(t, deletePD8, receive(t, body))
	assert.Equal(t, []deimostest.CrashHazard{{Node: "node2", Dir: "/pd", Action: "delete", Index: 8,
		Watched: []string{"/pd/child"}}}, c.CrashHazards())
}

// Without lag the same pattern is safe: the node has applied the delete, and the watch
// (whose history scan does not report ancestor deletions) waits outside any directory.
func TestNoCrashHazardDeleteThenWatchWithoutLag(t *testing.T) {
	c := deimostest.NewCluster(t, 2)
	cl := newClient(t, c)
	cl.put("/pd/child", "c")
	deleteDir(cl, "/pd")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl.at(c.Endpoints()[1]).startWatch(ctx, "/pd/child?wait=true&waitIndex=8")
	assert.Equal(t, 1, c.Node(1).Watchers())
	cl.put("/pd/other", "x")
	deleteDir(cl, "/pd") // the watched key does not exist inside it
	assert.Empty(t, c.CrashHazards())
}

// The applier of a lagging node records the hazard when it applies the delete by itself.
func TestCrashHazardOnLaggingNodeAppliedByLag(t *testing.T) {
	c := deimostest.NewCluster(t, 2, deimostest.WithWatchLag(30*time.Millisecond))
	c.ExpectCrashHazards()
	cl := newClient(t, c)
	cl.put("/pd/child", "c")                                                                                     // 7
	body := pending(cl.at(c.Endpoints()[1]).startWatch(context.Background(), "/pd/child?wait=true&waitIndex=8")) // live whatever node 2 applied
	deleteDir(cl, "/pd")                                                                                         // 8
	assert.Equal(t, deletePD8, receive(t, body))
	require.Len(t, c.CrashHazards(), 1)
	assert.Equal(t, "node2", c.CrashHazards()[0].Node)
}

// fakeTB records what NewCluster reports and runs its cleanups on demand.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

// finish runs the cleanups, last first, like testing does, and returns the errors.
func (f *fakeTB) finish() []string {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs
}

// hazardOn provokes one crash hazard on a NewCluster made for tb.
func hazardOn(t *testing.T, tb testing.TB, opts ...deimostest.Option) *deimostest.Cluster {
	c := deimostest.NewCluster(tb, 1, opts...)
	cl := newClient(t, c)
	cl.put("/pd/child", "c")
	w := pending(cl.startWatch(context.Background(), "/pd/child?wait=true"))
	deleteDir(cl, "/pd")
	receive(t, w)
	return c
}

func TestNewClusterFailsOnCrashHazards(t *testing.T) {
	ft := &fakeTB{TB: t}
	hazardOn(t, ft)
	errs := ft.finish()
	require.Len(t, errs, 1)
	for _, s := range []string{"would have crashed", "§12.7", "ExpectCrashHazards",
		"node1 would have crashed: recursive delete of directory /pd at index 8 while it had watches inside it on /pd/child"} {
		assert.Contains(t, errs[0], s)
	}
}

func TestNewClusterExpectedCrashHazards(t *testing.T) {
	ft := &fakeTB{TB: t}
	c := hazardOn(t, ft)
	c.ExpectCrashHazards()
	assert.Empty(t, ft.finish())
	assert.Len(t, c.CrashHazards(), 1, "still listed")

	ft = &fakeTB{TB: t}
	c = hazardOn(t, ft, deimostest.WithCrashHazardsAllowed())
	assert.Empty(t, ft.finish())
	assert.Len(t, c.CrashHazards(), 1)
}

// StartCluster never fails anything: programs read CrashHazards themselves.
func TestStartClusterListsCrashHazards(t *testing.T) {
	c, err := deimostest.StartCluster(1)
	require.NoError(t, err)
	defer c.Close()
	cl := newClient(t, c)
	cl.put("/pd/child", "c")
	w := pending(cl.startWatch(context.Background(), "/pd/child?wait=true"))
	deleteDir(cl, "/pd")
	receive(t, w)
	assert.Len(t, c.CrashHazards(), 1)
}
