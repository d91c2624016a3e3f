package watch_test

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

// BenchmarkStream measures events delivered per second to one recursive
// watcher while a writer writes as fast as it can, the write-to-event latency,
// and how close the stream gets to the protocol's floor of one HTTP round trip
// per event: floor_ratio = events/s divided by sequential GETs/s measured on
// the same server in the same run.
func BenchmarkStream(b *testing.B) {
	c := deimostest.NewCluster(b, 1)
	k := newKV(b, c)
	ctx := b.Context()
	_, err := k.Set(ctx, "/bench/k", "v")
	require.NoError(b, err)

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

	var mu sync.Mutex
	sent := make([]time.Time, b.N)
	// The writer stays at most 500 events ahead so the stream never falls
	// out of the server's 1000-event history.
	ahead := make(chan struct{}, 500)
	b.ResetTimer()
	start := time.Now()
	go func() {
		for i := 0; i < b.N; i++ {
			ahead <- struct{}{}
			mu.Lock()
			sent[i] = time.Now()
			mu.Unlock()
			if _, err := k.Set(ctx, fmt.Sprintf("/bench/%d", i%16), strconv.Itoa(i)); err != nil {
				return
			}
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	for range b.N {
		ev := <-s.Events()
		now := time.Now()
		<-ahead
		if i, err := strconv.Atoi(ev.Node.Value); err == nil {
			mu.Lock()
			lat = append(lat, now.Sub(sent[i]))
			mu.Unlock()
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()

	eventsPerSec := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(eventsPerSec, "events/s")
	b.ReportMetric(getsPerSec, "gets/s")
	b.ReportMetric(eventsPerSec/getsPerSec, "floor_ratio")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_µs")
	}
}
