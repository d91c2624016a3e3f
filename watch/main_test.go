package watch_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newKV returns a key-value client for the cluster, closed with the test.
func newKV(t testing.TB, c *deimostest.Cluster) *kv.KV {
	t.Helper()
	return newKVFor(t, c.Endpoints()...)
}

// newKVFor returns a key-value client for the given endpoints only.
func newKVFor(t testing.TB, endpoints ...string) *kv.KV {
	t.Helper()
	tr, err := transport.New(transport.Config{
		Endpoints:      endpoints,
		RequestTimeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return kv.New(tr)
}

// history returns the server's events under prefix with an index above
// after, without hidden keys, as (action, key, index) triples.
func history(c *deimostest.Cluster, prefix string, after uint64) []triple {
	var out []triple
	for _, ev := range c.History(prefix) {
		if ev.Node.ModifiedIndex <= after || hasHiddenSegment(ev.Node.Key) {
			continue
		}
		out = append(out, triple{ev.Action, ev.Node.Key, ev.Node.ModifiedIndex})
	}
	return out
}

type triple struct {
	Action string
	Key    string
	Index  uint64
}

func hasHiddenSegment(key string) bool {
	for i := 0; i+1 < len(key); i++ {
		if key[i] == '/' && key[i+1] == '_' {
			return true
		}
	}
	return false
}
