package discovery_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

var strategies = []discovery.Strategy{discovery.RoundRobin, discovery.Random,
	discovery.WeightedRoundRobin, discovery.PowerOfTwoChoices, discovery.ConsistentHash}

// benchService registers n instances (weights 1..4) and returns a resolver
// that lists them.
func benchService(b *testing.B, n int) *discovery.Resolver {
	b.Helper()
	c := deimostest.NewCluster(b, 1)
	k := newKV(b, c.Endpoints()...)
	for i := range n {
		inst := instance("bench", fmt.Sprintf("i%04d", i))
		inst.Weight = 1 + i%4
		register(b, k, inst, 0)
	}
	r, err := discovery.NewResolver(b.Context(), k, "bench")
	require.NoError(b, err)
	b.Cleanup(r.Close)
	require.Eventually(b, func() bool { return len(r.Snapshot().Instances) == n }, 30*time.Second, time.Millisecond)
	return r
}

// hashContexts are contexts carrying different hash keys, built up front.
func hashContexts(n int) []context.Context {
	out := make([]context.Context, n)
	for i := range out {
		out[i] = discovery.WithHashKey(context.Background(), fmt.Sprint("user-", i))
	}
	return out
}

// BenchmarkPick measures one Pick and its done, per strategy and set size.
func BenchmarkPick(b *testing.B) {
	ctxs := hashContexts(1024)
	for _, n := range []int{10, 100, 1000} {
		r := benchService(b, n)
		for _, s := range strategies {
			bal, err := discovery.NewBalancer(r, s)
			require.NoError(b, err)
			b.Run(fmt.Sprintf("%s/n=%d", s, n), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					_, done, err := bal.Pick(ctxs[i&1023])
					if err != nil {
						b.Fatal(err)
					}
					done(nil)
					i++
				}
			})
			bal.Close()
		}
	}
}

// BenchmarkPickParallel measures Pick under contention from every P.
func BenchmarkPickParallel(b *testing.B) {
	r := benchService(b, 100)
	ctxs := hashContexts(1024)
	for _, s := range strategies {
		bal, err := discovery.NewBalancer(r, s)
		require.NoError(b, err)
		b.Run(fmt.Sprintf("%s/n=100", s), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					_, done, err := bal.Pick(ctxs[i&1023])
					if err != nil {
						b.Error(err)
						return
					}
					done(nil)
					i++
				}
			})
		})
		bal.Close()
	}
}

// BenchmarkWriteToVisible measures the time from a registration (a create
// with a TTL) until it is in the snapshot of every one of N resolvers,
// against the floor: the same write seen by one raw long poll.
func BenchmarkWriteToVisible(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	k := newKV(b, c.Endpoints()...)
	b.Run("floor=one-poll", func(b *testing.B) { benchPollFloor(b, k) })
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("resolvers=%d", n), func(b *testing.B) { benchVisible(b, k, n) })
	}
}

func benchPollFloor(b *testing.B, k *kv.KV) {
	ctx := b.Context()
	dir := "/deimos/services/floor"
	last, err := k.Set(ctx, dir+"/seed", "x")
	require.NoError(b, err)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		got := make(chan time.Time, 1)
		go func(after uint64) {
			_, _ = k.WaitEvent(ctx, dir, after+1, true)
			got <- time.Now()
		}(last.Index)
		start := time.Now()
		last, err = k.Create(ctx, fmt.Sprintf("%s/i%d", dir, i), "v", kv.WithTTL(30*time.Second))
		require.NoError(b, err)
		lat = append(lat, (<-got).Sub(start))
		i++
	}
	reportPercentiles(b, lat)
}

// visibility is what the readers of N resolvers' Updates wait for.
type visibility struct {
	id    string
	start time.Time
	seen  []time.Duration
	wg    sync.WaitGroup
}

func benchVisible(b *testing.B, k *kv.KV, n int) {
	ctx := b.Context()
	service := fmt.Sprint("vis", n)
	var current atomic.Pointer[visibility]
	var readers sync.WaitGroup
	var resolvers []*discovery.Resolver
	defer func() {
		for _, r := range resolvers {
			r.Close() // ends the readers' range over Updates
		}
		readers.Wait()
	}()
	for i := range n {
		r, err := discovery.NewResolver(ctx, k, service)
		require.NoError(b, err)
		resolvers = append(resolvers, r)
		readers.Add(1)
		go func() {
			defer readers.Done()
			var done *visibility
			for s := range r.Updates() {
				if v := current.Load(); v != nil && v != done {
					if _, ok := s.Lookup(v.id); ok {
						v.seen[i] = time.Since(v.start)
						done = v
						v.wg.Done()
					}
				}
			}
		}()
	}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		v := &visibility{id: fmt.Sprint("i", i), seen: make([]time.Duration, n)}
		v.wg.Add(n)
		current.Store(v)
		v.start = time.Now()
		inst := instance(service, v.id)
		resp := register(b, k, inst, 30*time.Second)
		v.wg.Wait()
		lat = append(lat, v.seen...)
		_, err := k.Delete(ctx, resp.Node.Key) // keep the set small
		require.NoError(b, err)
		i++
	}
	reportPercentiles(b, lat)
}

// BenchmarkCrashToRemoval measures how long after its expiration an
// instance that stopped heartbeating leaves a resolver's snapshot while the
// server never reaps it: only the resolver's expiry check removes it.
func BenchmarkCrashToRemoval(b *testing.B) {
	c := deimostest.NewCluster(b, 3, deimostest.WithReapDelay(time.Hour, time.Hour))
	k := newKV(b, c.Endpoints()...)
	r, err := discovery.NewResolver(b.Context(), k, "crash")
	require.NoError(b, err)
	defer r.Close()
	var afterExpiry []time.Duration
	i := 0
	for b.Loop() {
		id := fmt.Sprint("i", i)
		resp := register(b, k, instance("crash", id), time.Second)
		require.Eventually(b, func() bool { _, ok := r.Snapshot().Lookup(id); return ok }, 10*time.Second, time.Millisecond)
		require.Eventually(b, func() bool { _, ok := r.Snapshot().Lookup(id); return !ok }, 30*time.Second, time.Millisecond)
		afterExpiry = append(afterExpiry, time.Since(*resp.Node.Expiration))
		i++
	}
	slices.Sort(afterExpiry)
	b.ReportMetric(float64(afterExpiry[len(afterExpiry)/2].Milliseconds()), "ms-after-expiry-p50")
	b.ReportMetric(float64(afterExpiry[len(afterExpiry)-1].Milliseconds()), "ms-after-expiry-max")
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "µs-p50")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "µs-p99")
}
