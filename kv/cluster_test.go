package kv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// newCluster starts a 3-node in-process cluster and a KV over a transport
// that knows every node.
func newCluster(t *testing.T, opts ...deimostest.Option) (*kv.KV, *deimostest.Cluster) {
	t.Helper()
	c := deimostest.NewCluster(t, 3, opts...)
	tr, err := transport.New(transport.Config{Endpoints: c.Endpoints()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return kv.New(tr), c
}

// requireServerError asserts err is a server error with the sentinel's code
// and names the operation, the key and the endpoint.
func requireServerError(t *testing.T, err, sentinel error, op, key string) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	var se *kv.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, op, se.Op)
	require.Equal(t, key, se.Key)
	require.NotEmpty(t, se.Endpoint)
	require.Contains(t, err.Error(), key)
}
