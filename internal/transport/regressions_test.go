package transport

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// A JSON error whose body is cut by a dying node is a failed exchange, not a
// malformed answer: a read must try another endpoint, which answers the
// real error.
func TestDo_TruncatedErrorBodyIsRetriedForReads(t *testing.T) {
	const errBody = `{"errorCode":100,"message":"Key not found","cause":"/a","index":9}` + "\nInternal Server Error\n"
	var n atomic.Int64
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if n.Add(1) == 1 {
			io.WriteString(w, errBody[:len(errBody)/3])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, errBody)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := tr.Do(ctx, getReq("/a"), nil)
	require.ErrorIs(t, err, ErrKeyNotFound)
	assert.Equal(t, int64(2), n.Load())
}

// The server's JSON error is the answer even when the caller's context ends
// while the rest of the body is still being read: it must not turn into
// "no endpoint could serve the request".
func TestDo_ServerErrorWinsOverContextEndingAfterIt(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errorCode":100,"message":"Key not found","cause":"/a","index":9}`+"\n")
		w.(http.Flusher).Flush()
		select { // the trailing line comes late
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := tr.Do(ctx, getReq("/a"), nil)
	require.ErrorIs(t, err, ErrKeyNotFound)
	assert.NotErrorIs(t, err, ErrClusterUnavailable)
}

// A hedge that loses to its primary gets a grace period to answer, so its
// connection goes back to the pool. Callers usually cancel their context as
// soon as the call returns; that must not cut the losing hedge and cost a
// connection per hedged read.
func TestHedge_LoserSurvivesTheCallersCancel(t *testing.T) {
	var seq atomic.Int64
	h := func(w http.ResponseWriter, r *http.Request) {
		// Calls are sequential: odd requests are primaries, even ones hedges.
		d := 80 * time.Millisecond
		if seq.Add(1)%2 == 0 {
			d = 60 * time.Millisecond // sent 50 ms late, so it loses
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, okBody)
	}
	tr, dials, idle := newHedgeRig(t, h, 50*time.Millisecond)
	const calls = 6
	for i := 0; i < calls; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		_, err := tr.Do(ctx, getReq("/a"), nil)
		cancel()
		require.NoError(t, err)
		require.Eventually(t, idle, 2*time.Second, time.Millisecond, "the losing hedge ends")
	}
	require.Equal(t, int64(calls), tr.hedgesSent.Load())
	require.Zero(t, tr.primariesLost.Load())
	assert.LessOrEqual(t, dials.Load(), int64(2), "one connection per server, reused")
}

// Close ends a waiting long poll at once, even while its liveness probe is
// waiting on a hung node; the probe must not keep a goroutine and a request
// alive for a whole attempt timeout after Close, nor blame the endpoint.
func TestLongPoll_CloseCutsAProbeInFlight(t *testing.T) {
	probing := make(chan struct{}, 1)
	probeDone := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			select {
			case probing <- struct{}{}:
			default:
			}
			<-r.Context().Done() // a hung node
			select {
			case probeDone <- struct{}{}:
			default:
			}
			return
		}
		w.WriteHeader(http.StatusOK) // a watch waiting for its event
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	const timeout = 5 * time.Second
	tu := defaultTuning(timeout)
	tu.pollProbeInterval = 10 * time.Millisecond
	tr, err := newTransport(Config{Endpoints: []string{srv.URL}, RequestTimeout: timeout}, &tu)
	require.NoError(t, err)
	watch := &Request{Op: "watch", Method: http.MethodGet, Key: "/w", Path: "/keys/w",
		Params: map[string][]string{"wait": {"true"}}, Class: LongPoll}
	got := make(chan error, 1)
	go func() {
		_, err := tr.Do(context.Background(), watch, &wireResp{})
		got <- err
	}()
	<-probing
	start := time.Now()
	require.NoError(t, tr.Close())
	require.ErrorIs(t, <-got, ErrClosed)
	select {
	case <-probeDone:
	case <-time.After(timeout / 2):
		t.Fatal("the probe outlived Close")
	}
	assert.Less(t, time.Since(start), timeout/2)
	assert.Equal(t, "healthy", tr.Endpoints()[0].State, "closing is not the endpoint's fault")
}

// A brand-new cluster answers /machines with an empty body until its members
// have published themselves (PROTOCOL.md §13.5). That is a valid answer, not
// a malformed one: Sync keeps the endpoints and succeeds, so Connect works
// against a fresh cluster. Garbage still fails.
func TestSync_EmptyMemberListIsIgnoredWithoutError(t *testing.T) {
	tr, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	})
	require.NoError(t, tr.Sync(context.Background()))
	require.Len(t, tr.Endpoints(), 1)
	assert.Equal(t, srv.URL, tr.Endpoints()[0].URL)
}

// A write whose attempt timed out while still dialling (a host that drops
// connection attempts, with a request timeout at or below the dial timeout)
// never left the client: it fails over instead of reporting an unknown
// outcome, and the live node applies it exactly once.
func TestDo_WriteCutWhileDiallingFailsOver(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	const blackhole = "127.0.0.1:9" // never dialled for real: the dialer below hangs
	var hung atomic.Int64
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == blackhole {
				hung.Add(1)
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	tr, err := New(Config{
		Endpoints:      []string{"http://" + blackhole, c.Endpoints()[0]},
		HTTPClient:     hc,
		RequestTimeout: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	defer tr.Close()

	for i := range 10 {
		key := fmt.Sprintf("/w%d", i)
		_, err := tr.Do(context.Background(), putReq(key, map[string]string{"value": "v"}), nil)
		require.NoError(t, err, "write %d", i)
	}
	require.Positive(t, hung.Load(), "some write tried the hanging endpoint first")
	assert.Equal(t, int64(10), c.Node(0).Requests(http.MethodPut), "each write reached the live node exactly once")
}

// Many long polls waiting on one endpoint share one liveness prober: the
// endpoint gets one probe per interval, not one per waiting poll.
func TestLongPoll_WaitingPollsShareOneProbe(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	tune := defaultTuning(time.Second)
	tune.pollProbeInterval = 20 * time.Millisecond
	tr, err := newTransport(Config{Endpoints: c.Endpoints(), RequestTimeout: time.Second}, &tune)
	require.NoError(t, err)
	defer tr.Close()

	const polls = 20
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, polls)
	for i := range polls {
		go func() {
			defer func() { done <- struct{}{} }()
			key := fmt.Sprintf("/shared%d", i)
			req := &Request{Op: "watch", Method: http.MethodGet, Key: key, Path: "/keys" + key,
				Params: map[string][]string{"wait": {"true"}}, Class: LongPoll}
			_, _ = tr.Do(ctx, req, nil)
		}()
	}
	require.Eventually(t, func() bool { return c.Watchers() == polls }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return c.Node(0).Requests(http.MethodHead) >= 5 }, 5*time.Second, time.Millisecond)
	cancel()
	for range polls {
		<-done
	}
	// One prober per poll would have sent a whole round of 20 probes at the
	// first tick already.
	assert.Less(t, c.Node(0).Requests(http.MethodHead), int64(polls))
}

// A watch polls again as soon as its poll returns: the endpoint's guard must
// outlive each poll, or every event would cost a new guard (a goroutine, a
// ticker and a table). It lingers while polls come back, and retires once a
// short grace after the last poll finds none waiting.
func TestLongPoll_GuardOutlivesEachPollAndRetiresWhenIdle(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	newTr := func(grace time.Duration) *Transport {
		tune := defaultTuning(time.Second)
		tune.pollProbeInterval = time.Hour // no tick: only the grace retires a guard
		tune.pollIdleGrace = grace
		tr, err := newTransport(Config{Endpoints: c.Endpoints(), RequestTimeout: time.Second}, &tune)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}
	guard := func(tr *Transport) *pollGuard {
		tr.polls.mu.Lock()
		defer tr.polls.mu.Unlock()
		for _, g := range tr.polls.guards {
			return g
		}
		return nil
	}
	var written atomic.Int64
	poll := func(tr *Transport) {
		t.Helper()
		waiters := c.Watchers()
		done := make(chan error, 1)
		go func() {
			req := &Request{Op: "watch", Method: http.MethodGet, Key: "/g", Path: "/keys/g",
				Query: "wait=true", Class: LongPoll}
			_, err := tr.Do(context.Background(), req, &wireResp{})
			done <- err
		}()
		require.Eventually(t, func() bool { return c.Watchers() > waiters }, 5*time.Second, time.Millisecond)
		_, err := tr.Do(context.Background(), putReq("/g", map[string]string{"value": fmt.Sprint(written.Add(1))}), &wireResp{})
		require.NoError(t, err)
		require.NoError(t, <-done)
	}

	lingering := newTr(time.Hour)
	poll(lingering)
	first := guard(lingering)
	require.NotNil(t, first, "the guard outlives the poll that started it")
	for i := range 3 {
		poll(lingering)
		assert.Same(t, first, guard(lingering), "poll %d reuses the lingering guard", i+2)
	}

	retiring := newTr(20 * time.Millisecond)
	poll(retiring)
	require.Eventually(t, func() bool { return guard(retiring) == nil }, 5*time.Second, time.Millisecond,
		"the guard retires once the grace after the last poll finds none waiting")
}
