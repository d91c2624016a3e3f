package config_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/config"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Settings is the configuration type of the tests.
type Settings struct {
	Host  string            `json:"host,omitempty"`
	Port  int               `json:"port,omitempty"`
	Debug bool              `json:"debug,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
}

// eventually is how long a test waits for the Value to catch up.
const eventually = 10 * time.Second

const tick = 10 * time.Millisecond

// newClient returns a client of the given nodes only, closed with the test.
func newClient(t testing.TB, endpoints ...string) *deimos.Client {
	t.Helper()
	c := deimos.New(deimos.WithEndpoints(endpoints...), deimos.WithRequestTimeout(300*time.Millisecond))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testOptions probe often, so outages show within a second.
func testOptions(extra ...config.Option[Settings]) []config.Option[Settings] {
	return append([]config.Option[Settings]{
		config.WithProbeInterval[Settings](500 * time.Millisecond),
		config.WithInitialTimeout[Settings](3 * time.Second),
	}, extra...)
}

// watchSettings starts a Value, closed with the test.
func watchSettings(t testing.TB, c *deimos.Client, key string, opts ...config.Option[Settings]) *config.Value[Settings] {
	t.Helper()
	v, err := config.Watch(t.Context(), c, key, testOptions(opts...)...)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v
}

// put stores s as JSON at key and returns the write's index.
func put(t testing.TB, c *deimos.Client, key string, s Settings, opts ...deimos.SetOption) uint64 {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return putRaw(t, c, key, string(b), opts...)
}

func putRaw(t testing.TB, c *deimos.Client, key, raw string, opts ...deimos.SetOption) uint64 {
	t.Helper()
	resp, err := c.Set(t.Context(), key, raw, opts...)
	require.NoError(t, err)
	return resp.Node.ModifiedIndex
}

// waitProcessed waits until the Value has read the write at index, whether
// or not it changed the value.
func waitProcessed[T any](t testing.TB, v *config.Value[T], index uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return v.Snapshot().ModifiedIndex >= index }, eventually, tick)
}

// change is one OnChange call.
type change[T any] struct{ Old, New T }

// recorder collects OnChange calls.
type recorder[T any] struct {
	mu    sync.Mutex
	calls []change[T]
}

func record[T any](v *config.Value[T]) *recorder[T] {
	r := &recorder[T]{}
	v.OnChange(r.callback)
	return r
}

func (r *recorder[T]) callback(old, new T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, change[T]{old, new})
}

func (r *recorder[T]) get() []change[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]change[T](nil), r.calls...)
}

// waitFor waits until the last call delivered want.
func (r *recorder[T]) waitFor(t testing.TB, want T, same func(a, b T) bool) []change[T] {
	t.Helper()
	require.Eventually(t, func() bool {
		calls := r.get()
		return len(calls) > 0 && same(calls[len(calls)-1].New, want)
	}, eventually, tick)
	return r.get()
}

func sameSettings(a, b Settings) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func newCluster(t testing.TB, opts ...deimostest.Option) *deimostest.Cluster {
	t.Helper()
	return deimostest.NewCluster(t, 3, opts...)
}
