package deimos_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/apierror"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// The operation timeout the tests configure; the default (four request
// timeouts, 12 s) is documented on WithOperationTimeout and too long here.
const testBound = 800 * time.Millisecond

// returnsWithin runs f and fails the test if it has not returned long after
// bound: a call with context.Background() must end by itself.
func returnsWithin(t *testing.T, bound time.Duration, f func() error) error {
	t.Helper()
	got := make(chan error, 1)
	go func() { got <- f() }()
	select {
	case err := <-got:
		return err
	case <-time.After(bound + 10*time.Second):
		t.Fatalf("still waiting long after the operation timeout of %s", bound)
		return nil
	}
}

// requireNamesEachEndpoint checks that err gives up on the cluster, as the
// operation timeout's deadline, and names every endpoint.
func requireNamesEachEndpoint(t *testing.T, c *deimostest.Cluster, err error) {
	t.Helper()
	require.ErrorIs(t, err, deimos.ErrClusterUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var ce *apierror.ClusterError
	require.ErrorAs(t, err, &ce)
	named := map[string]bool{}
	for _, ee := range ce.Endpoints {
		named[ee.Endpoint] = ee.Err != nil
	}
	for _, u := range c.Endpoints() {
		assert.True(t, named[u], "%s and its error are named in %v", u, err)
	}
}

func TestConnect_BackgroundContextAgainstStoppedNodesEndsWithinTheBound(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	for _, n := range c.Nodes() {
		n.Stop()
	}
	var logs deimostest.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err := returnsWithin(t, testBound, func() error {
		client, err := deimos.Connect(context.Background(), deimos.WithEndpoints(c.Endpoints()...),
			deimos.WithOperationTimeout(testBound), deimos.WithLogger(logger))
		assert.Nil(t, client)
		return err
	})
	requireNamesEachEndpoint(t, c, err)
	assert.Contains(t, err.Error(), "connection refused")
	assert.Contains(t, logs.String(), "deimos all endpoints failing", "a warning, not silence")
}

func TestConnect_BackgroundContextAgainstPausedNodesEndsWithinTheBound(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	for _, n := range c.Nodes() {
		n.Pause()
		defer n.Resume()
	}
	err := returnsWithin(t, testBound, func() error {
		client, err := deimos.Connect(context.Background(), deimos.WithEndpoints(c.Endpoints()...),
			deimos.WithOperationTimeout(testBound), deimos.WithRequestTimeout(100*time.Millisecond))
		assert.Nil(t, client)
		return err
	})
	requireNamesEachEndpoint(t, c, err)
	assert.ErrorIs(t, err.(*apierror.ClusterError).Endpoints[0].Err, apierror.ErrAttemptTimeout)
}

func TestGet_BackgroundContextAgainstStoppedNodesEndsWithinTheBound(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...), deimos.WithOperationTimeout(testBound))
	defer client.Close()
	for _, n := range c.Nodes() {
		n.Stop()
	}
	err := returnsWithin(t, testBound, func() error {
		_, err := client.Get(context.Background(), "/a")
		return err
	})
	requireNamesEachEndpoint(t, c, err)
	assert.True(t, strings.HasPrefix(err.Error(), "deimos: get /a: "), err.Error())
}

func TestGet_BackgroundContextAgainstPausedNodesEndsWithinTheBound(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...), deimos.WithOperationTimeout(testBound),
		deimos.WithRequestTimeout(100*time.Millisecond))
	defer client.Close()
	for _, n := range c.Nodes() {
		n.Pause()
		defer n.Resume()
	}
	err := returnsWithin(t, testBound, func() error {
		_, err := client.Get(context.Background(), "/a")
		return err
	})
	requireNamesEachEndpoint(t, c, err)
}

// Waiting forever is there for those who ask for it: WithOperationTimeout(0)
// leaves a read with context.Background() waiting until a node answers.
func TestGet_WithoutOperationTimeoutWaitsUntilANodeAnswers(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...), deimos.WithOperationTimeout(0),
		deimos.WithRequestTimeout(100*time.Millisecond))
	defer client.Close()
	c.Node(0).Pause()
	got := make(chan error, 1)
	go func() {
		_, err := client.Get(context.Background(), "/")
		got <- err
	}()
	require.Eventually(t, func() bool { return c.Node(0).Requests("GET") >= 3 }, 10*time.Second, time.Millisecond,
		"retrying past several attempt timeouts")
	c.Node(0).Resume()
	require.NoError(t, <-got)
}

func TestNew_ConfigurationErrorsCarryEachPrefixOnce(t *testing.T) {
	for _, opt := range []deimos.Option{
		deimos.WithEndpoints("localhost:4001"),
		deimos.WithEndpoints("a://b", "http://x/y"),
		deimos.WithRequestTimeout(-time.Second),
		deimos.WithOperationTimeout(-time.Second),
	} {
		_, err := deimos.New(opt).Get(t.Context(), "/a")
		require.ErrorIs(t, err, deimos.ErrInvalidConfig)
		msg := err.Error()
		assert.True(t, strings.HasPrefix(msg, "deimos: invalid configuration: "), msg)
		assert.Equal(t, 1, strings.Count(msg, "deimos:"), msg)
		assert.LessOrEqual(t, strings.Count(msg, "endpoints:"), 1, msg)
	}
}
