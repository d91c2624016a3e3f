package deimostest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestStopStartSamePort(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	cl := newClient(t, c).at(c.Endpoints()[1])
	n := c.Node(1)
	url := n.URL()
	res := cl.startWatch(context.Background(), "/k?wait=true")
	n.Stop()
	_, err := io.ReadAll(res.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "a watch in progress is cut")
	_, err = cl.try(context.Background(), "GET", "/keys/", nil)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.False(t, n.Running())
	n.Stop() // no-op
	require.NoError(t, n.Start())
	require.NoError(t, n.Start()) // no-op
	assert.Equal(t, url, n.URL())
	assert.Equal(t, 200, cl.get("/").status)
	assert.EqualValues(t, 7, c.Index(), "a restart republishes the member record")
}

func TestPauseResume(t *testing.T) {
	c := deimostest.NewCluster(t, 2, deimostest.WithStartIndex(0))
	cl := newClient(t, c)
	n := c.Node(0)
	n.Pause()
	// A client that gives up: nothing is applied, even after Resume.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := cl.try(ctx, "PUT", "/keys/p", vals("value", "lost"))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualValues(t, 1, n.Requests("PUT"), "received and counted, but not answered")
	// A request in flight is served once the node resumes.
	done := make(chan resp, 1)
	go func() {
		r, _ := cl.try(context.Background(), "PUT", "/keys/p", vals("value", "kept"))
		done <- r
	}()
	require.Eventually(t, func() bool { return n.Requests("PUT") == 2 }, 5*time.Second, 5*time.Millisecond)
	select {
	case <-done:
		t.Fatal("answered while paused")
	default:
	}
	assert.Equal(t, 200, cl.at(c.Endpoints()[1]).get("/").status, "other nodes still answer")
	n.Resume()
	r := <-done
	assert.Equal(t, 201, r.status)
	assert.Len(t, c.History("/p"), 1, "the abandoned write was never applied")
	n.Resume() // no-op
}

func TestLatency(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	cl := newClient(t, c)
	c.Node(0).SetLatency(100 * time.Millisecond)
	start := time.Now()
	cl.get("/")
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	c.Node(0).SetLatency(0)
}

func TestHookFaults(t *testing.T) {
	c := deimostest.NewCluster(t, 2, deimostest.WithStartIndex(0))
	cl := newClient(t, c)
	n := c.Node(0)

	n.SetHook(deimostest.FailNext("PUT", "/keys/a", deimostest.Fault500, 1))
	r := cl.put("/a", "1")
	assert.Equal(t, 500, r.status)
	assert.Equal(t, "Internal Server Error\nInternal Server Error\n", r.body)
	assert.Equal(t, 404, cl.get("/a").status, "500 did not touch the store")
	assert.Equal(t, 201, cl.put("/a", "1").status, "FailNext fails only count requests")

	n.SetHook(deimostest.FailNext("", "", deimostest.FaultDropResponse, 1))
	_, err := cl.try(context.Background(), "PUT", "/keys/drop", vals("value", "d"))
	assert.Error(t, err)
	assert.Equal(t, "d", *cl.get("/drop").event(t).Node.Value, "dropped response, applied write")
	assert.EqualValues(t, 1, c.Requests("PUT")-2, "sent exactly once")

	n.SetHook(deimostest.FailNext("PUT", "", deimostest.FaultReset, 1))
	_, err = cl.try(context.Background(), "PUT", "/keys/reset", vals("value", "r"))
	assert.Error(t, err)
	assert.Equal(t, 404, cl.get("/reset").status, "reset: not applied")

	n.SetHook(deimostest.FailNext("GET", "", deimostest.FaultTruncate, 1))
	res, err := http.Get(c.Endpoints()[0] + "/keys/a")
	require.NoError(t, err)
	assert.Equal(t, 200, res.StatusCode)
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.NotEmpty(t, b)
	http.DefaultClient.CloseIdleConnections()

	n.SetHook(deimostest.FailNext("GET", "", deimostest.FaultGarbage, 1))
	r = cl.get("/a")
	assert.Equal(t, 200, r.status)
	assert.NotEqual(t, byte('{'), r.body[0])

	var seqs []int64
	n.SetHook(func(r deimostest.Request) deimostest.Fault {
		seqs = append(seqs, r.Seq)
		assert.Equal(t, "v", r.Query.Get("q"))
		return deimostest.FaultNone
	})
	cl.get("/a?q=v")
	cl.get("/a?q=v")
	n.SetHook(nil)
	assert.Equal(t, []int64{n.Requests("") - 1, n.Requests("")}, seqs)
	assert.EqualValues(t, 0, c.Node(1).Requests(""))
	assert.Equal(t, n.Requests("GET"), c.Requests("GET"))
}

func TestLoseQuorum(t *testing.T) {
	c := deimostest.NewCluster(t, 3, deimostest.WithStartIndex(0),
		deimostest.WithServerTimeout(150*time.Millisecond))
	cl := newClient(t, c)
	cl.put("/before", "1")
	c.LoseQuorum()
	c.LoseQuorum() // no-op
	r := cl.put("/q", "held")
	assert.Equal(t, 500, r.status)
	assert.Equal(t, "Internal Server Error\nInternal Server Error\n", r.body)
	assert.Empty(t, r.header.Get("X-Deimos-Index"))
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	assert.Equal(t, 500, cl.at(c.Endpoints()[1]).get("/before").status, "reads need quorum")
	assert.Equal(t, 200, cl.do("GET", "/machines", nil).status, "/machines does not")
	assert.Equal(t, 400, cl.do("PUT", "/keys/x?ttl=x", nil).status, "validation happens before consensus")
	ev := cl.get("/before?wait=true&waitIndex=1").event(t)
	assert.Equal(t, "/before", ev.Node.Key, "watches work without quorum")
	assert.EqualValues(t, 1, c.Index(), "the held write is not applied yet")

	// A write still waiting when quorum returns gets its real answer.
	done := make(chan resp, 1)
	go func() {
		r, _ := cl.try(context.Background(), "PUT", "/keys/q", vals("value", "second"))
		done <- r
	}()
	require.Eventually(t, func() bool { return c.Requests("PUT") == 3 }, 5*time.Second, time.Millisecond)
	c.RestoreQuorum()
	c.RestoreQuorum() // no-op
	second := <-done
	h := c.History("/q")
	require.Len(t, h, 2, "both writes applied, in order")
	assert.Equal(t, "held", *h[0].Node.Value)
	assert.Equal(t, "second", *h[1].Node.Value)
	if second.status != 500 { // it may have timed out just before the restore
		assert.Equal(t, 200, second.status)
		assert.Equal(t, "3", second.header.Get("X-Deimos-Index"))
	}
	assert.Equal(t, "second", *cl.get("/q").event(t).Node.Value)
}

func TestClosedClusterRefusesStart(t *testing.T) {
	c, err := deimostest.StartCluster(1)
	require.NoError(t, err)
	c.Close()
	assert.Error(t, c.Node(0).Start())
	_, err = c.AddNode()
	assert.Error(t, err)
	_, err = deimostest.StartCluster(0)
	assert.Error(t, err)
}

func TestAddNode(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	cl := newClient(t, c)
	n, err := c.AddNode()
	require.NoError(t, err)
	assert.Len(t, c.Endpoints(), 2)
	assert.Contains(t, cl.do("GET", "/machines", nil).body, n.URL())
	assert.EqualValues(t, 8, c.Index(), "member add and publish")
	assert.Equal(t, 200, cl.at(n.URL()).get("/").status)
}

var _ = errors.Is

// A request that was already being processed when its node was paused is answered only
// after Resume: a paused node sends nothing, even for a write that was applied meanwhile.
func TestPausedNodeHoldsTheAnswerOfARequestInFlight(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(0),
		deimostest.WithServerTimeout(10*time.Second))
	cl := newClient(t, c)
	n := c.Node(0)
	c.LoseQuorum()
	done := make(chan resp, 1)
	go func() {
		r, _ := cl.try(context.Background(), "PUT", "/keys/f", vals("value", "v"))
		done <- r
	}()
	require.Eventually(t, func() bool { return n.Requests("PUT") == 1 }, 5*time.Second, time.Millisecond)
	n.Pause()
	c.RestoreQuorum()
	require.Eventually(t, func() bool { return c.Index() == 1 }, 5*time.Second, time.Millisecond,
		"the held write is applied when quorum returns")
	select {
	case r := <-done:
		t.Fatalf("a paused node answered: %d %q", r.status, r.body)
	case <-time.After(200 * time.Millisecond):
	}
	n.Resume()
	r := <-done
	assert.Equal(t, 201, r.status)
}

// A Recorder sees only the requests its predicate picks: Listings picks a
// key's recursive reads, not plain reads, other keys or watches.
func TestRecorder_Listings(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	rec := deimostest.NewRecorder(deimostest.Listings("/dir"))
	c.Node(0).SetHook(rec.Hook())
	base := c.Endpoints()[0]
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	// A key in /dir, so that the watch below is answered from the history.
	req, err := http.NewRequest(http.MethodPut, base+"/keys/dir/a?value=1", nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	for _, path := range []string{"/keys/dir?recursive=true", "/keys/dir", "/keys/other?recursive=true",
		"/keys/dir?recursive=true&wait=true&waitIndex=1", "/keys/dir?recursive=true"} {
		resp, err := hc.Get(base + path)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	at := rec.Times()
	require.Len(t, at, 2)
	assert.False(t, at[1].Before(at[0]), "earliest first")
}

// A node at capacity makes the next request wait its turn, but not a watch:
// one request held inside the node (by a hook that blocks) keeps a second
// from being worked on until it is done, while a watch sent meanwhile
// registers at once.
func TestCapacity(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	cl := newClient(t, c)
	cl.put("/k", "v")
	n := c.Node(0)
	n.SetCapacity(1)
	hold, inside := make(chan struct{}), make(chan int64, 4)
	release := sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release) // before the cluster's cleanup, even when the test fails
	n.SetHook(func(r deimostest.Request) deimostest.Fault {
		if r.Method == http.MethodGet && r.Query.Get("wait") == "" {
			inside <- r.Seq
			if r.Query.Get("hold") == "true" {
				<-hold
			}
		}
		return deimostest.FaultNone
	})
	gets := n.Requests(http.MethodGet)
	send := func(pathQuery string) <-chan resp {
		out := make(chan resp, 1)
		go func() {
			r, err := cl.try(context.Background(), http.MethodGet, "/keys"+pathQuery, nil)
			if err != nil {
				r.status = -1
			}
			out <- r
		}()
		return out
	}
	first := send("/k?hold=true")
	<-inside
	second := send("/k")
	watchers := c.Watchers()
	watch := send("/k?wait=true")
	require.Eventually(t, func() bool { return c.Watchers() == watchers+1 }, 5*time.Second, time.Millisecond,
		"a watch does not wait for a turn")
	require.Eventually(t, func() bool { return n.Requests(http.MethodGet) == gets+3 }, 5*time.Second, time.Millisecond,
		"both reads and the watch arrived")
	require.Never(t, func() bool { return len(inside) > 0 }, 100*time.Millisecond, time.Millisecond,
		"the second read is not worked on while the node is at capacity")

	release()
	require.Equal(t, 200, (<-first).status)
	<-inside // the second read's turn
	require.Equal(t, 200, (<-second).status)
	cl.put("/k", "w") // ends the watch
	require.Equal(t, 200, (<-watch).status)

	n.SetCapacity(0)
	n.SetHook(nil)
	require.Equal(t, 200, cl.get("/k").status, "no limit any more")
}
