package transport

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// doWithin runs req with a context without deadline and fails the test if
// the call has not returned long after bound: it must end by itself.
func doWithin(t *testing.T, tr *Transport, req *Request, bound time.Duration) error {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		_, err := tr.Do(context.Background(), req, nil)
		got <- err
	}()
	select {
	case err := <-got:
		return err
	case <-time.After(bound + 10*time.Second):
		t.Fatalf("%s %s still waiting long after its operation timeout of %s", req.Op, req.Key, bound)
		return nil
	}
}

// requireEveryEndpoint checks that err gives up on the cluster and names
// each endpoint with an error matching cause.
func requireEveryEndpoint(t *testing.T, c *deimostest.Cluster, err, cause error) {
	t.Helper()
	require.ErrorIs(t, err, ErrClusterUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the operation timeout is a deadline")
	assert.Contains(t, err.Error(), "operation timeout of")
	var ce *ClusterError
	require.ErrorAs(t, err, &ce)
	named := map[string]bool{}
	for _, ee := range ce.Endpoints {
		named[ee.Endpoint] = true
		assert.ErrorIs(t, ee.Err, cause, ee.Endpoint)
	}
	for _, u := range c.Endpoints() {
		assert.True(t, named[u], "%s is named in %v", u, err)
	}
}

func TestBound_ReadFromStoppedNodesGivesUpNamingEachOne(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	const bound = 500 * time.Millisecond
	tr := clusterTransport(t, c, func(cfg *Config) { cfg.OperationTimeout = bound })
	for _, n := range c.Nodes() {
		n.Stop()
	}
	err := doWithin(t, tr, getReq("/a"), bound)
	t.Log(err)
	requireEveryEndpoint(t, c, err, errRefused.Err)
}

func TestBound_ReadFromPausedNodesGivesUpNamingEachOne(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	const bound = 1500 * time.Millisecond
	tr := clusterTransport(t, c, func(cfg *Config) {
		cfg.RequestTimeout = 100 * time.Millisecond
		cfg.OperationTimeout = bound
	})
	for _, n := range c.Nodes() {
		n.Pause()
		defer n.Resume()
	}
	err := doWithin(t, tr, getReq("/a"), bound)
	t.Log(err)
	requireEveryEndpoint(t, c, err, ErrAttemptTimeout)
}

// A write to paused nodes was sent: it ends with an unknown outcome after
// one attempt, well within the bound. A write to stopped nodes is known not
// to be applied: it gives up once every node refused it.
func TestBound_WritesEndAsTheVerdictSays(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	const bound = 2 * time.Second
	tr := clusterTransport(t, c, func(cfg *Config) {
		cfg.RequestTimeout = 100 * time.Millisecond
		cfg.OperationTimeout = bound
	})
	for _, n := range c.Nodes() {
		n.Pause()
	}
	err := doWithin(t, tr, putReq("/a", map[string]string{"value": "v"}), bound)
	require.ErrorIs(t, err, ErrUnknownOutcome)
	require.ErrorIs(t, err, ErrAttemptTimeout)
	for _, n := range c.Nodes() {
		n.Resume()
		n.Stop()
	}
	err = doWithin(t, tr, putReq("/a", map[string]string{"value": "v"}), bound)
	require.ErrorIs(t, err, ErrClusterUnavailable)
	require.NotErrorIs(t, err, ErrUnknownOutcome)
}

// The caller's deadline replaces the operation timeout, even a longer one.
func TestBound_ContextDeadlineReplacesTheOperationTimeout(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	tr := clusterTransport(t, c, func(cfg *Config) { cfg.OperationTimeout = 50 * time.Millisecond })
	c.Node(0).SetLatency(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := tr.Do(ctx, getReq("/"), nil)
	require.NoError(t, err, "the answer after 200 ms is within the caller's deadline")
}

// NoOperationTimeout leaves a read to its context: it keeps trying until the
// cluster answers.
func TestBound_NoOperationTimeoutWaitsForTheCluster(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	tr := clusterTransport(t, c, func(cfg *Config) {
		cfg.OperationTimeout = NoOperationTimeout
		cfg.RetryBackoff = func(int) time.Duration { return 10 * time.Millisecond }
	})
	c.Node(0).SetHook(deimostest.FailNext("GET", "/keys/", deimostest.Fault500, 1<<30))
	got := make(chan error, 1)
	go func() {
		_, err := tr.Do(context.Background(), getReq("/"), nil)
		got <- err
	}()
	require.Eventually(t, func() bool { return c.Node(0).Requests("GET") > 20 }, 5*time.Second, time.Millisecond,
		"still retrying")
	c.Node(0).SetHook(nil)
	require.NoError(t, <-got)
}

// Long polls are exempt: they wait for their event past the bound.
func TestBound_LongPollsAreExempt(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	const bound = 100 * time.Millisecond
	tr := clusterTransport(t, c, func(cfg *Config) { cfg.OperationTimeout = bound })
	watch := &Request{Op: "watch", Method: http.MethodGet, Key: "/w", Path: "/keys/w",
		Params: map[string][]string{"wait": {"true"}}, Class: LongPoll}
	got := make(chan error, 1)
	go func() {
		_, err := tr.Do(context.Background(), watch, &wireResp{})
		got <- err
	}()
	require.Eventually(t, func() bool { return c.Watchers() == 1 }, 5*time.Second, time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("the watch ended: %v", err)
	case <-time.After(3 * bound):
	}
	set(t, tr, "/w", "event")
	require.NoError(t, <-got)
}

func TestNew_RejectsANegativeOperationTimeout(t *testing.T) {
	_, err := New(Config{Endpoints: []string{"http://a:1"}, OperationTimeout: -time.Second})
	require.Error(t, err)
	tr, err := New(Config{Endpoints: []string{"http://a:1"}, OperationTimeout: NoOperationTimeout})
	require.NoError(t, err)
	require.NoError(t, tr.Close())
}
