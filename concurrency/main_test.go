package concurrency_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newClient returns a client of c whose first endpoint is node first, with
// short attempt timeouts so a paused node costs little.
func newClient(t testing.TB, c *deimostest.Cluster, first int) *deimos.Client {
	t.Helper()
	eps := c.Endpoints()
	eps = append(eps[first%len(eps):], eps[:first%len(eps)]...)
	client := deimos.New(deimos.WithEndpoints(eps...), deimos.WithRequestTimeout(500*time.Millisecond))
	t.Cleanup(func() { _ = client.Close() })
	return client
}
