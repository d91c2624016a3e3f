package watch_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

// BenchmarkStream measures one recursive watcher against the in-process
// server.
//
// throughput: events delivered per second while a writer writes as fast as
// it can (staying at most 500 events ahead, inside the server's 1000-event
// history), and floor_ratio = events/s divided by sequential GETs/s measured
// on the same server in the same run: the protocol's floor is one HTTP round
// trip per event, so 1.0 would be a stream as fast as back-to-back reads.
//
// latency: one write at a time, each waiting for its event: the time from
// sending the write to receiving its event, p50 and p99.
func BenchmarkStream(b *testing.B) {
	c := deimostest.NewCluster(b, 1)
	k := newKV(b, c)
	_, err := k.Set(b.Context(), "/bench/k", "v")
	require.NoError(b, err)

	b.Run("throughput", func(b *testing.B) { benchThroughput(b, k) })
	b.Run("latency", func(b *testing.B) { benchLatency(b, k) })
}

func benchThroughput(b *testing.B, k *kv.KV) {
	ctx := b.Context()
	const gets = 2000
	began := time.Now()
	for range gets {
		_, err := k.Get(ctx, "/bench/k")
		require.NoError(b, err)
	}
	getsPerSec := gets / time.Since(began).Seconds()

	s, err := watch.Watch(ctx, k, "/bench", watch.WithRecursive())
	require.NoError(b, err)
	defer s.Close()
	ahead := make(chan struct{}, 500)
	b.ResetTimer()
	start := time.Now()
	go func() {
		for i := 0; i < b.N; i++ {
			ahead <- struct{}{}
			if _, err := k.Set(ctx, fmt.Sprintf("/bench/%d", i%16), strconv.Itoa(i)); err != nil {
				return
			}
		}
	}()
	for range b.N {
		<-s.Events()
		<-ahead
	}
	elapsed := time.Since(start)
	b.StopTimer()
	eventsPerSec := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(eventsPerSec, "events/s")
	b.ReportMetric(getsPerSec, "gets/s")
	b.ReportMetric(eventsPerSec/getsPerSec, "floor_ratio")
}

func benchLatency(b *testing.B, k *kv.KV) {
	ctx := b.Context()
	s, err := watch.Watch(ctx, k, "/bench", watch.WithRecursive())
	require.NoError(b, err)
	defer s.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		sent := time.Now()
		_, err := k.Set(ctx, "/bench/lat", strconv.Itoa(i))
		require.NoError(b, err)
		ev := <-s.Events()
		lat = append(lat, time.Since(sent))
		require.Equal(b, strconv.Itoa(i), ev.Node.Value)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_µs")
}
