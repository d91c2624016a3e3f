package discovery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newKV returns a client of the given endpoints, closed with the test, with
// short attempt timeouts so a dead or paused node costs little.
func newKV(t testing.TB, endpoints ...string) *kv.KV {
	t.Helper()
	tr, err := transport.New(transport.Config{
		Endpoints:      endpoints,
		RequestTimeout: 300 * time.Millisecond,
		DisableHedging: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return kv.New(tr)
}

// register writes inst in the default layout with a TTL (0: permanent), as a
// registration would.
func register(t testing.TB, k *kv.KV, inst discovery.Instance, ttl time.Duration) *kv.Response {
	t.Helper()
	return registerIn(t, k, discovery.DefaultLayout(), inst, ttl)
}

func registerIn(t testing.TB, k *kv.KV, l discovery.Layout, inst discovery.Instance, ttl time.Duration) *kv.Response {
	t.Helper()
	key, err := l.Key(inst)
	require.NoError(t, err)
	value, err := l.Encode(inst)
	require.NoError(t, err)
	var opts []kv.SetOption
	if ttl > 0 {
		opts = append(opts, kv.WithTTL(ttl))
	}
	resp, err := k.Set(t.Context(), key, value, opts...)
	require.NoError(t, err)
	return resp
}

func instance(service, id string) discovery.Instance {
	return discovery.Instance{Service: service, ID: id, Addr: id + ".local:80"}
}

func keyOf(t testing.TB, inst discovery.Instance) string {
	t.Helper()
	key, err := discovery.DefaultLayout().Key(inst)
	require.NoError(t, err)
	return key
}

// newResolver starts a resolver closed with the test.
func newResolver(t testing.TB, k *kv.KV, service string, opts ...discovery.ResolverOption) *discovery.Resolver {
	t.Helper()
	opts = append([]discovery.ResolverOption{discovery.WithListTimeout(500 * time.Millisecond)}, opts...)
	r, err := discovery.NewResolver(t.Context(), k, service, opts...)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	return r
}

func ids(s discovery.Snapshot) []string {
	out := []string{}
	for _, inst := range s.Instances {
		out = append(out, inst.ID)
	}
	return out
}

// waitFor waits until the resolver's snapshot satisfies cond.
func waitFor(t testing.TB, r *discovery.Resolver, what string, cond func(discovery.Snapshot) bool) discovery.Snapshot {
	t.Helper()
	require.Eventually(t, func() bool { return cond(r.Snapshot()) }, 15*time.Second, 5*time.Millisecond, what)
	return r.Snapshot()
}

func waitForIDs(t testing.TB, r *discovery.Resolver, want ...string) discovery.Snapshot {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	return waitFor(t, r, "instances "+joinIDs(want), func(s discovery.Snapshot) bool {
		return !s.Stale && equalStrings(ids(s), want)
	})
}

func joinIDs(v []string) string {
	out := ""
	for i, s := range v {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return "[" + out + "]"
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// recorder reads every snapshot a resolver publishes on Updates.
type recorder struct {
	mu    sync.Mutex
	snaps []discovery.Snapshot
	done  chan struct{}
}

func record(r *discovery.Resolver) *recorder {
	rec := &recorder{done: make(chan struct{})}
	go func() {
		defer close(rec.done)
		for s := range r.Updates() {
			rec.mu.Lock()
			rec.snaps = append(rec.snaps, s)
			rec.mu.Unlock()
		}
	}()
	return rec
}

// minCount returns the fewest instances of any snapshot seen after the
// first one that had want instances.
func (rec *recorder) minCountAfter(want int) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	low, seen := want, false
	for _, s := range rec.snaps {
		if len(s.Instances) == want {
			seen = true
		}
		if seen {
			low = min(low, len(s.Instances))
		}
	}
	return low
}

func (rec *recorder) snapshots() []discovery.Snapshot {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]discovery.Snapshot(nil), rec.snaps...)
}

func (rec *recorder) sawStale() bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, s := range rec.snaps {
		if i > 0 && s.Stale {
			return true
		}
	}
	return false
}

// cluster is shorthand for a 3-node test cluster.
func cluster(t testing.TB, opts ...deimostest.Option) *deimostest.Cluster {
	return deimostest.NewCluster(t, 3, opts...)
}

// heartbeat refreshes inst's key (same value, new TTL) every interval until
// ctx ends, as a registration does; failures are ignored. The returned
// channel is closed when it has stopped.
func heartbeat(ctx context.Context, k *kv.KV, inst discovery.Instance, ttl, every time.Duration) <-chan struct{} {
	l := discovery.DefaultLayout()
	key, _ := l.Key(inst)
	value, _ := l.Encode(inst)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_, _ = k.CompareAndSwap(ctx, key, value, kv.WithPrevValue(value), kv.WithTTL(ttl))
			}
		}
	}()
	return done
}
