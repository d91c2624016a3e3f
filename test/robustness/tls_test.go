package robustness

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// tlsCluster serves a 1-node cluster over TLS with the given server certificate; with
// clientCAs set it requires and verifies client certificates.
func tlsCluster(t *testing.T, cert tls.Certificate, clientCAs *testCA) *deimostest.Cluster {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAs != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = clientCAs.pool
	}
	return deimostest.NewCluster(t, 1, deimostest.WithTLS(cfg))
}

func TestTLS(t *testing.T) {
	ca := newTestCA(t, "deimos test CA")
	otherCA := newTestCA(t, "somebody else's CA")
	serverCert := ca.validLeaf(t, "deimos node", true)
	clientCert := ca.validLeaf(t, "deimos client", false)
	expired := ca.issue(t, "expired node", true, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))

	mtls := tlsCluster(t, serverCert, ca)
	require.True(t, strings.HasPrefix(mtls.Endpoints()[0], "https://"))
	stale := tlsCluster(t, expired, nil)

	cases := []struct {
		name    string
		cluster *deimostest.Cluster
		cfg     *tls.Config
		ok      bool
	}{
		{"happy path with client certificate", mtls, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{clientCert}}, true},
		{"wrong CA", mtls, &tls.Config{RootCAs: otherCA.pool, Certificates: []tls.Certificate{clientCert}}, false},
		{"missing client certificate", mtls, &tls.Config{RootCAs: ca.pool}, false},
		{"client certificate from another CA", mtls, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{otherCA.validLeaf(t, "intruder", false)}}, false},
		{"expired server certificate", stale, &tls.Config{RootCAs: ca.pool}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := deimos.New(deimos.WithEndpoints(tc.cluster.Endpoints()...), deimos.WithTLSConfig(tc.cfg),
				deimos.WithRequestTimeout(500*time.Millisecond))
			defer c.Close()
			before := tc.cluster.Requests("")
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			key := "/tls/" + strings.ReplaceAll(tc.name, " ", "-")
			_, setErr := c.Set(ctx, key, "v")
			resp, getErr := c.Get(ctx, key)
			if tc.ok {
				require.NoError(t, setErr)
				require.NoError(t, getErr)
				assert.Equal(t, "v", resp.Node.Value)
				return
			}
			require.Error(t, setErr, "the write must be refused")
			require.Error(t, getErr, "the read must be refused")
			for _, err := range []error{setErr, getErr} {
				// A refused handshake proves the request was never read: even the
				// write is known not to be applied, so it is not an unknown outcome.
				assert.ErrorIs(t, err, kv.ErrClusterUnavailable)
				assert.NotErrorIs(t, err, kv.ErrUnknownOutcome)
				assert.Contains(t, err.Error(), "tls", "the error names the TLS failure: %v", err)
			}
			assert.Equal(t, before, tc.cluster.Requests(""), "no HTTP request got past the handshake")
			t.Logf("write: %v", setErr)
		})
	}
}
