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

// startWatch sends a watch and returns once the headers arrived, before any event.
func (c *client) startWatch(ctx context.Context, pathQuery string) *http.Response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", c.url+"/keys"+pathQuery, nil)
	require.NoError(c.t, err)
	res, err := c.hc.Do(req)
	require.NoError(c.t, err)
	c.t.Cleanup(func() { res.Body.Close() })
	return res
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func TestWatchHeadersBeforeEvent(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	cl := newClient(t, c)
	res := cl.startWatch(context.Background(), "/w?wait=true")
	assert.Equal(t, 200, res.StatusCode)
	assert.Empty(t, res.Header.Get("X-Deimos-Index"))
	assert.NotEmpty(t, res.Header.Get("X-Raft-Index"))
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	cl.at(c.Endpoints()[2]).put("/w", "x")
	assert.Equal(t, `{"action":"set","node":{"key":"/w","value":"x","modifiedIndex":7,"createdIndex":7}}`+"\n", readAll(t, res))
}

func TestWatchHistoryAndHiddenKeys(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	cl := newClient(t, c)
	// History scans leak hidden keys (the server's bug, reproduced).
	ev := cl.get("/?wait=true&recursive=true&waitIndex=1").event(t)
	assert.Equal(t, "create", ev.Action)
	assert.Contains(t, ev.Node.Key, "/_deimos/machines/")
	cl.put("/a/b", "1")
	cl.put("/a/c", "2")
	ev = cl.get("/a?wait=true&recursive=true&waitIndex=8").event(t)
	assert.Equal(t, "/a/c", ev.Node.Key)
	// A future waitIndex waits for that index.
	res := cl.startWatch(context.Background(), "/a?wait=true&recursive=true&waitIndex=11")
	cl.put("/a/d", "3")  // 9: too early
	cl.put("/a/_h", "h") // 10: hidden, skipped anyway
	cl.put("/a/e", "4")  // 11
	assert.Contains(t, readAll(t, res), `"key":"/a/e"`)
	// Live recursive watchers skip hidden descendants, but an exact watch sees them.
	res = cl.startWatch(context.Background(), "/?wait=true&recursive=true")
	exact := cl.startWatch(context.Background(), "/a/_h?wait=true")
	cl.put("/a/_h", "again")
	cl.put("/z", "z")
	assert.Contains(t, readAll(t, res), `"key":"/z"`)
	assert.Contains(t, readAll(t, exact), `"value":"again"`)
	// A non-recursive watch on a directory ignores its children.
	cl.put("/a/f", "x")
	dirWatch := cl.startWatch(context.Background(), "/a?wait=true")
	cl.put("/a/g", "x")
	cl.do("DELETE", "/keys/a?recursive=true", nil)
	assert.Contains(t, readAll(t, dirWatch), `"action":"delete","node":{"key":"/a","dir":true`)
}

func TestWatchOutdatedIndex(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(1002))
	cl := newClient(t, c)
	r := cl.get("/?wait=true&waitIndex=2")
	assert.Equal(t, 400, r.status)
	assert.Equal(t, `{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [3/2]","index":1002}`+"\nInternal Server Error\n", r.body)
	assert.Equal(t, "1002", r.header.Get("X-Deimos-Index"))
	// waitIndex=3 is still retained: it waits.
	ctx, cancel := context.WithCancel(context.Background())
	res := cl.startWatch(ctx, "/?wait=true&waitIndex=3&recursive=true")
	assert.Equal(t, 200, res.StatusCode)
	cancel()
}

func TestWatchRingKeepsLast1000(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(0))
	cl := newClient(t, c)
	for i := 0; i < 1001; i++ {
		cl.put("/k", "v")
	}
	assert.Equal(t, 400, cl.get("/k?wait=true&waitIndex=1").status)
	ev := cl.get("/k?wait=true&waitIndex=2").event(t)
	assert.EqualValues(t, 2, ev.Node.ModifiedIndex)
	assert.Len(t, c.History("/k"), 1001, "History keeps every event")
}

func TestWatchTimeoutAndStream(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithWatchTimeout(300*time.Millisecond))
	cl := newClient(t, c)
	r := cl.get("/none?wait=true")
	assert.Equal(t, 200, r.status)
	assert.Empty(t, r.body)

	res := cl.startWatch(context.Background(), "/s?wait=true&stream=true")
	cl.put("/s", "1")
	cl.put("/s", "2")
	body := readAll(t, res) // ends only at the watch timeout
	assert.Equal(t, `{"action":"set","node":{"key":"/s","value":"1","modifiedIndex":7,"createdIndex":7}}`+"\n", body)
}

func TestWatchDescendantOfDeletedDirectory(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	c.ExpectCrashHazards() // the real node would have crashed: see hazard_test.go
	cl := newClient(t, c)
	cl.put("/pd/child", "c")
	res := cl.startWatch(context.Background(), "/pd/child?wait=true")
	rec := cl.startWatch(context.Background(), "/pd/child?wait=true&recursive=true")
	cl.do("DELETE", "/keys/pd?recursive=true", nil)
	want := `{"action":"delete","node":{"key":"/pd","dir":true,"modifiedIndex":8,"createdIndex":7},"prevNode":{"key":"/pd","dir":true,"modifiedIndex":7,"createdIndex":7}}` + "\n"
	assert.Equal(t, want, readAll(t, res))
	assert.Equal(t, want, readAll(t, rec))
	// History scans do not report ancestor deletions: this one waits.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	late := cl.startWatch(ctx, "/pd/child?wait=true&waitIndex=8")
	_, err := io.ReadAll(late.Body)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestWatchEndsWhenClientLeavesOrClusterCloses(t *testing.T) {
	c, err := deimostest.StartCluster(2)
	require.NoError(t, err)
	cl := newClient(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	cl.startWatch(ctx, "/gone?wait=true")
	require.Equal(t, 1, c.Watchers())
	cancel()
	require.Eventually(t, func() bool { return c.Watchers() == 0 }, 5*time.Second, 5*time.Millisecond)

	res := cl.startWatch(context.Background(), "/k?wait=true")
	c.Close()
	_, err = io.ReadAll(res.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the 200 is cut when the node goes away")
	c.Close() // idempotent
	_, err = cl.try(context.Background(), "GET", "/keys/k", nil)
	assert.Error(t, err, "connection refused after Close")
}

// A paused node answers nothing, like a SIGSTOPped process: a watch that was already
// waiting does not end at the watch timeout while the node is paused, but once it resumes.
func TestPausedNodeDoesNotEndWaitingWatches(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithWatchTimeout(250*time.Millisecond))
	cl := newClient(t, c)
	// The timeout leaves ample time to pause the node before the watch would end.
	res := cl.startWatch(context.Background(), "/p?wait=true")
	c.Node(0).Pause()
	body := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(res.Body)
		body <- string(b)
	}()
	select {
	case b := <-body:
		t.Fatalf("a paused node ended a watch: %q", b)
	case <-time.After(750 * time.Millisecond): // three watch timeouts
	}
	c.Node(0).Resume()
	select {
	case b := <-body:
		assert.Empty(t, b, "the watch ends empty once the node resumes")
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end after Resume")
	}
}
