package deimostest_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// longLag is a lag no test waits out: a node with it applies only when a test makes it
// (ClearWatchLag, a GET or a write on it), so the order of events is deterministic.
const longLag = time.Hour

// pending reads a watch body in the background.
func pending(res *http.Response) <-chan string {
	ch := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(res.Body)
		ch <- string(b)
	}()
	return ch
}

// notYet asserts that nothing arrived on ch so far.
func notYet(t *testing.T, ch <-chan string) {
	t.Helper()
	select {
	case b := <-ch:
		t.Fatalf("the watch was answered too early: %q", b)
	default:
	}
}

func receive(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("the watch was not answered")
		return ""
	}
}

const setK7 = `{"action":"set","node":{"key":"/k","value":"v","modifiedIndex":7,"createdIndex":7}}` + "\n"

// A set acknowledged by node 1, then a watch without waitIndex on a node that has not
// applied it: the watch is answered with that very set (docs/protocol.md §13.2).
func TestWatchLagSetThenWatchRace(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	cl := newClient(t, c)
	lagging := c.Node(1)
	lagging.SetWatchLag(longLag)
	require.Equal(t, 201, cl.put("/k", "v").status)
	assert.EqualValues(t, 7, c.Node(0).AppliedIndex(), "the node that answered the write applied it")
	assert.EqualValues(t, 7, c.Node(2).AppliedIndex())
	assert.EqualValues(t, 6, lagging.AppliedIndex())

	body := pending(cl.at(lagging.URL()).startWatch(context.Background(), "/k?wait=true"))
	assert.Equal(t, 1, lagging.Watchers(), "registered live: the node's history has no index 7")
	notYet(t, body)
	lagging.ClearWatchLag() // back to the cluster's lag, 0: it applies index 7 now
	assert.Equal(t, setK7, receive(t, body))
	assert.EqualValues(t, 7, lagging.AppliedIndex())
}

// Without lag the same pattern waits for the next write, as the set is already applied.
func TestWatchNoLagNoSetThenWatchRace(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	cl := newClient(t, c)
	require.Equal(t, 201, cl.put("/k", "v").status)
	body := pending(cl.at(c.Endpoints()[1]).startWatch(context.Background(), "/k?wait=true"))
	cl.put("/k", "w")
	assert.Contains(t, receive(t, body), `"value":"w","modifiedIndex":8`)
}

// With WithWatchLag the race shows up on its own: a watch that reaches the follower
// before the lag passed is answered with the write, once the follower applies it.
func TestWatchLagClusterWideRace(t *testing.T) {
	c := deimostest.NewCluster(t, 2, deimostest.WithWatchLag(50*time.Millisecond))
	cl := newClient(t, c)
	follower := c.Node(1)
	for attempt := 0; attempt < 20; attempt++ {
		set := cl.put("/k", "v").event(t)
		idx := set.Node.ModifiedIndex
		assert.Equal(t, idx, c.Node(0).AppliedIndex())
		ctx, cancel := context.WithCancel(context.Background())
		res := cl.at(follower.URL()).startWatch(ctx, "/k?wait=true")
		if follower.AppliedIndex() >= idx { // the lag passed before the watch registered
			cancel()
			continue
		}
		// Registered (headers come after registration) while the follower lagged.
		ev := resp{body: receive(t, pending(res))}.event(t)
		cancel()
		assert.Equal(t, idx, ev.Node.ModifiedIndex, "answered with the acknowledged set")
		require.Eventually(t, func() bool { return follower.AppliedIndex() == c.Index() },
			5*time.Second, time.Millisecond, "the follower catches up by itself")
		return
	}
	t.Fatal("no watch reached the follower within 50 ms of a write in 20 attempts")
}

// A GET goes through raft: afterwards the node has applied everything, and a watch
// without waitIndex there is not answered with the old write.
func TestWatchLagGetAndWriteCatchUp(t *testing.T) {
	c := deimostest.NewCluster(t, 2)
	cl := newClient(t, c)
	lagging := c.Node(1)
	lagging.SetWatchLag(longLag)
	cl.put("/k", "v")
	lc := cl.at(lagging.URL())
	assert.Contains(t, lc.get("/k").body, `"value":"v"`, "GETs are linearizable")
	assert.EqualValues(t, 7, lagging.AppliedIndex(), "the GET caught the node up")
	body := pending(lc.startWatch(context.Background(), "/k?wait=true"))
	cl.put("/k", "w") // index 8; the lagging node has not applied it
	assert.Equal(t, 1, lagging.Watchers())
	notYet(t, body)
	// A write answered by the lagging node makes it apply everything too.
	lc.put("/other", "x")
	assert.EqualValues(t, 9, lagging.AppliedIndex())
	assert.Contains(t, receive(t, body), `"value":"w","modifiedIndex":8`)
	// A failed write goes through raft as well.
	cl.put("/k", "y")
	assert.Equal(t, 412, lc.do(http.MethodPut, "/keys/k?prevValue=nope", vals("value", "z")).status)
	assert.EqualValues(t, 10, lagging.AppliedIndex())
}

// A waitIndex above what the node applied registers a live watcher there, even when the
// committed history already has the event; the node delivers it when it applies it.
func TestWatchLagWaitIndexAboveApplied(t *testing.T) {
	c := deimostest.NewCluster(t, 2)
	cl := newClient(t, c)
	lagging := c.Node(1)
	lagging.SetWatchLag(longLag)
	cl.put("/k", "v")
	assert.Equal(t, setK7, cl.get("/k?wait=true&waitIndex=7").body, "node 0 answers from history")
	body := pending(cl.at(lagging.URL()).startWatch(context.Background(), "/k?wait=true&waitIndex=7"))
	assert.Equal(t, 1, lagging.Watchers())
	notYet(t, body)
	lagging.ClearWatchLag()
	assert.Equal(t, setK7, receive(t, body))
}

// The applier delivers by itself once the cluster's lag has passed.
func TestWatchLagAppliedAfterLag(t *testing.T) {
	c := deimostest.NewCluster(t, 2, deimostest.WithWatchLag(30*time.Millisecond))
	cl := newClient(t, c)
	follower := c.Node(1)
	body := pending(cl.at(follower.URL()).startWatch(context.Background(), "/k?wait=true&waitIndex=7"))
	require.Equal(t, 1, follower.Watchers())
	start := time.Now()
	cl.put("/k", "v")
	assert.Equal(t, setK7, receive(t, body))
	// A lower bound, which no slow machine can break: the event is applied lag after it
	// was committed, and it was committed after start.
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond, "not before the lag")
	// Events are applied in index order, each after the lag.
	for i := 0; i < 5; i++ {
		cl.put("/k", "v")
	}
	require.Eventually(t, func() bool { return follower.AppliedIndex() == 12 }, 5*time.Second, time.Millisecond)
}

// SetWatchLag affects one node; ClearWatchLag returns it to the cluster's WithWatchLag.
func TestSetWatchLagPerNode(t *testing.T) {
	c := deimostest.NewCluster(t, 3, deimostest.WithWatchLag(longLag))
	cl := newClient(t, c)
	n0, n1, n2 := c.Node(0), c.Node(1), c.Node(2)
	n2.SetWatchLag(0)
	cl.put("/k", "v")
	assert.EqualValues(t, 7, c.Index())
	assert.EqualValues(t, 7, n0.AppliedIndex(), "answered the write")
	assert.EqualValues(t, 6, n1.AppliedIndex(), "the cluster's lag")
	assert.EqualValues(t, 7, n2.AppliedIndex(), "its own lag: none")

	n2.ClearWatchLag() // back to the cluster's hour
	cl.put("/k", "w")
	assert.EqualValues(t, 7, n2.AppliedIndex())
	n1.SetWatchLag(0) // applies everything pending at once
	assert.EqualValues(t, 8, n1.AppliedIndex())
	n1.SetWatchLag(20 * time.Millisecond)
	cl.put("/k", "x")
	require.Eventually(t, func() bool { return n1.AppliedIndex() == 9 }, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 7, n2.AppliedIndex())
}

// Each node checks outdated indexes against what it applied (docs/protocol.md §12.5).
func TestWatchOutdatedIndexPerNode(t *testing.T) {
	c := deimostest.NewCluster(t, 2, deimostest.WithStartIndex(1000))
	cl := newClient(t, c)
	lagging := c.Node(1)
	lagging.SetWatchLag(longLag)
	for i := 0; i < 5; i++ {
		cl.put("/k", "v")
	}
	r := cl.get("/k?wait=true&waitIndex=3")
	require.Equal(t, 400, r.status)
	code, cause, idx := r.apiErr(t)
	assert.Equal(t, 401, code)
	assert.Equal(t, "the requested history has been cleared [6/3]", cause)
	assert.EqualValues(t, 1005, idx)

	// The lagging node is at 1000: index 3 is still in its history, so it waits.
	lc := cl.at(lagging.URL())
	res := lc.startWatch(context.Background(), "/k?wait=true&waitIndex=3")
	assert.Equal(t, 200, res.StatusCode)
	body := pending(res)
	lagging.ClearWatchLag()
	assert.Contains(t, receive(t, body), `"modifiedIndex":1001`)
	r = lc.get("/k?wait=true&waitIndex=3")
	require.Equal(t, 400, r.status, "caught up, it has cleared index 3 too")
	_, cause, idx = r.apiErr(t)
	assert.Equal(t, "the requested history has been cleared [6/3]", cause)
	assert.EqualValues(t, 1005, idx)
}

// A stopped node catches up when it starts, as a restarted member replays its log.
func TestWatchLagRestartCatchesUp(t *testing.T) {
	c := deimostest.NewCluster(t, 2)
	cl := newClient(t, c)
	n := c.Node(1)
	n.SetWatchLag(longLag)
	cl.put("/k", "v")
	n.Stop()
	require.NoError(t, n.Start())
	assert.Equal(t, c.Index(), n.AppliedIndex())
}
