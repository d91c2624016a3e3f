package deimos_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// One option value satisfies the option interfaces of every call it fits.
var (
	_ kv.SetOption            = deimos.WithTTL(time.Second)
	_ kv.CreateOption         = deimos.WithTTL(time.Second)
	_ kv.UpdateOption         = deimos.WithTTL(time.Second)
	_ kv.CompareAndSwapOption = deimos.WithTTL(time.Second)
	_ kv.CreateInOrderOption  = deimos.WithTTL(time.Second)
	_ kv.MkdirOption          = deimos.WithTTL(time.Second)
	_ kv.GetOption            = deimos.WithRecursive()
	_ kv.DeleteOption         = deimos.WithRecursive()
	_ kv.GetOption            = deimos.WithSorted()
	_ kv.ListOption           = deimos.WithSorted()
	_ kv.DeleteOption         = deimos.WithPrevValue("v")
	_ kv.CompareAndSwapOption = deimos.WithPrevIndex(1)
	_ kv.SetOption            = deimos.WithPrevExist(true)
	_ kv.DeleteOption         = deimos.WithDir()
)

func newClient(t *testing.T, opts ...deimos.Option) (*deimos.Client, *deimostest.Cluster) {
	t.Helper()
	c := deimostest.NewCluster(t, 3)
	client := deimos.New(append([]deimos.Option{deimos.WithEndpoints(c.Endpoints()...)}, opts...)...)
	t.Cleanup(func() { _ = client.Close() })
	return client, c
}

func TestNew_InvalidOptionSurfacesOnFirstUse(t *testing.T) {
	for name, opt := range map[string]deimos.Option{
		"request timeout": deimos.WithRequestTimeout(-time.Second),
		"dial timeout":    deimos.WithDialTimeout(0),
		"auto-sync":       deimos.WithAutoSync(-time.Second),
		"max bytes":       deimos.WithMaxResponseBytes(0),
		"http client":     deimos.WithHTTPClient(nil),
		"backoff":         deimos.WithRetryBackoff(nil),
		"endpoint":        deimos.WithEndpoints("not a url"),
	} {
		t.Run(name, func(t *testing.T) {
			client := deimos.New(opt)
			defer client.Close()
			_, err := client.Get(t.Context(), "/a")
			assert.ErrorIs(t, err, deimos.ErrInvalidConfig)
			_, err = client.KV().Create(t.Context(), "/a", "v")
			assert.ErrorIs(t, err, deimos.ErrInvalidConfig)
			assert.ErrorIs(t, client.Sync(t.Context()), deimos.ErrInvalidConfig)
			assert.Empty(t, client.Endpoints())

			_, err = deimos.Connect(t.Context(), opt)
			assert.ErrorIs(t, err, deimos.ErrInvalidConfig)
		})
	}
}

func TestNew_DefaultsToLocalEndpoint(t *testing.T) {
	client := deimos.New()
	defer client.Close()
	eps := client.Endpoints()
	require.Len(t, eps, 1)
	assert.Equal(t, deimos.DefaultEndpoint, eps[0].URL)
}

func TestConnect_ReachesTheCluster(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client, err := deimos.Connect(t.Context(), deimos.WithEndpoints(c.Endpoints()[0]))
	require.NoError(t, err)
	defer client.Close()

	var urls []string
	for _, ep := range client.Endpoints() {
		urls = append(urls, ep.URL)
		assert.NotEmpty(t, ep.State)
	}
	slices.Sort(urls)
	want := slices.Clone(c.Endpoints())
	slices.Sort(want)
	assert.Equal(t, want, urls, "members learnt from /machines")
}

func TestConnect_FailsWhenNothingAnswers(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	url := c.Endpoints()[0]
	c.Node(0).Stop()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	client, err := deimos.Connect(ctx, deimos.WithEndpoints(url))
	require.Error(t, err)
	assert.Nil(t, client)
}

func TestClient_SetGetDelete(t *testing.T) {
	client, _ := newClient(t)
	ctx := t.Context()

	set, err := client.Set(ctx, "/foo", "bar", deimos.WithTTL(10*time.Second))
	require.NoError(t, err)
	assert.Equal(t, deimos.ActionSet, set.Action)
	assert.Equal(t, int64(10), set.Node.TTL)

	got, err := client.Get(ctx, "/foo")
	require.NoError(t, err)
	assert.Equal(t, "bar", got.Node.Value)
	assert.NotZero(t, got.Index)

	del, err := client.Delete(ctx, "/foo")
	require.NoError(t, err)
	assert.Equal(t, deimos.ActionDelete, del.Action)
	_, err = client.Get(ctx, "/foo")
	assert.ErrorIs(t, err, deimos.ErrKeyNotFound)
	assert.True(t, errors.Is(err, kv.ErrKeyNotFound), "the facade's sentinels are kv's")
}

func TestClient_ConditionalOptions(t *testing.T) {
	client, _ := newClient(t)
	ctx := t.Context()

	created, err := client.Set(ctx, "/c", "1", deimos.WithPrevExist(false))
	require.NoError(t, err)
	assert.Equal(t, deimos.ActionCreate, created.Action)
	_, err = client.Set(ctx, "/c", "1", deimos.WithPrevExist(false))
	assert.ErrorIs(t, err, deimos.ErrNodeExist)

	updated, err := client.Set(ctx, "/c", "2", deimos.WithPrevExist(true))
	require.NoError(t, err)
	assert.Equal(t, deimos.ActionUpdate, updated.Action)

	_, err = client.Set(ctx, "/c", "3", deimos.WithPrevValue("1"))
	assert.ErrorIs(t, err, deimos.ErrTestFailed)
	swapped, err := client.Set(ctx, "/c", "3", deimos.WithPrevValue("2"), deimos.WithPrevIndex(updated.Node.ModifiedIndex))
	require.NoError(t, err)
	assert.Equal(t, deimos.ActionCompareAndSwap, swapped.Action)

	_, err = client.Delete(ctx, "/c", deimos.WithPrevIndex(updated.Node.ModifiedIndex))
	assert.ErrorIs(t, err, deimos.ErrTestFailed)
	cad, err := client.Delete(ctx, "/c", deimos.WithPrevValue("3"))
	require.NoError(t, err)
	assert.Equal(t, deimos.ActionCompareAndDelete, cad.Action)
}

func TestClient_DirectoryOptions(t *testing.T) {
	client, _ := newClient(t)
	ctx := t.Context()

	_, err := client.Set(ctx, "/d", "", deimos.WithDir())
	require.NoError(t, err)
	_, err = client.Set(ctx, "/d/b", "2")
	require.NoError(t, err)
	_, err = client.Set(ctx, "/d/a/x", "1")
	require.NoError(t, err)

	tree, err := client.Get(ctx, "/d", deimos.WithRecursive(), deimos.WithSorted())
	require.NoError(t, err)
	require.Len(t, tree.Node.Nodes, 2)
	assert.Equal(t, "/d/a", tree.Node.Nodes[0].Key)
	assert.Equal(t, "/d/a/x", tree.Node.Nodes[0].Nodes[0].Key)

	_, err = client.Delete(ctx, "/d", deimos.WithDir())
	assert.ErrorIs(t, err, deimos.ErrDirNotEmpty)
	_, err = client.Delete(ctx, "/d", deimos.WithRecursive())
	require.NoError(t, err)
}

func TestClient_InvalidInputSendsNothing(t *testing.T) {
	client, c := newClient(t)
	ctx := t.Context()
	before := c.Requests("")
	_, err := client.Set(ctx, "/a/./b", "v")
	assert.ErrorIs(t, err, deimos.ErrInvalidKey)
	_, err = client.Set(ctx, "/_deimos/machines/x", "v")
	assert.ErrorIs(t, err, deimos.ErrReservedKey)
	_, err = client.Set(ctx, "/a", "v", deimos.WithTTL(500*time.Millisecond))
	assert.ErrorIs(t, err, deimos.ErrInvalidTTL)
	_, err = client.Set(ctx, "/a", "v", deimos.WithPrevExist(true), deimos.WithPrevIndex(3))
	assert.ErrorIs(t, err, deimos.ErrInvalidOption)
	_, err = client.Delete(ctx, "")
	assert.ErrorIs(t, err, deimos.ErrInvalidKey)
	_, err = client.Key("/a").Sorted().Set(ctx, "v")
	assert.ErrorIs(t, err, deimos.ErrInvalidOption)
	assert.Equal(t, before, c.Requests(""))
}

func TestClient_ServerErrorNamesOperationKeyAndEndpoint(t *testing.T) {
	client, c := newClient(t)
	_, err := client.Get(t.Context(), "/nope")
	var se *deimos.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 100, se.Code)
	assert.Equal(t, "/nope", se.Key)
	assert.Contains(t, c.Endpoints(), se.Endpoint)
	assert.Contains(t, err.Error(), "/nope")
}

func TestClient_CloseEndsCalls(t *testing.T) {
	client, _ := newClient(t)
	require.NoError(t, client.Close())
	_, err := client.Get(t.Context(), "/a")
	assert.ErrorIs(t, err, deimos.ErrClosed)
}

func TestClient_SyncLearnsAddedMember(t *testing.T) {
	client, c := newClient(t)
	node, err := c.AddNode()
	require.NoError(t, err)
	require.NoError(t, client.Sync(t.Context()))
	var urls []string
	for _, ep := range client.Endpoints() {
		urls = append(urls, ep.URL)
	}
	assert.Contains(t, urls, node.URL())
}

func TestClient_UsesGivenHTTPClientAndUserAgent(t *testing.T) {
	var seen []string
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.Header.Get("User-Agent"))
		return base.RoundTrip(r)
	})}
	client, _ := newClient(t, deimos.WithHTTPClient(hc), deimos.WithUserAgent("deimos-test/1"))
	_, err := client.Set(t.Context(), "/ua", "v")
	require.NoError(t, err)
	require.NotEmpty(t, seen)
	assert.Equal(t, "deimos-test/1", seen[len(seen)-1])
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
