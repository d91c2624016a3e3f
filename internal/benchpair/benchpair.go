// Package benchpair runs side-by-side benchmarks: two or more ways of doing
// the same work ("sides"), measured in alternating short rounds within one
// benchmark run, so that load from elsewhere on the machine hits every side
// alike. It reports the first side's figures and its ratio to each other
// side.
//
// Reported metrics, for the first side: ns/op, cpu-ns/op, B/op, allocs/op,
// p50-ms, p99-ms and max-ms (when it records latencies); and for every other side <s>: cpu/<s>,
// allocs/<s>, B/<s>, p50/<s>, p99/<s>, max/<s> (the first side's figure
// divided by the other's: lower is better) and thru/<s> (operations per
// second, the first side's over the other's: higher is better). CPU is the
// process's own (getrusage), so work done in the same process on every side,
// such as an in-process server's, is included on every side.
//
// It is a test-support package: only benchmarks import it.
package benchpair

import (
	"context"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Side is one way of doing the benchmarked work. Exactly one of Op and Round
// is set.
type Side struct {
	// Name names the side in the ratio metrics.
	Name string
	// Op does one operation; it is timed, and its latency recorded, one call
	// at a time.
	Op func(ctx context.Context) error
	// Round does a whole round of n operations and records the latencies it
	// measures itself with lat (as many or as few as it has: one per round
	// is fine). It suits work whose operations are not separate calls, such
	// as events delivered by a stream.
	Round func(ctx context.Context, n int, lat func(time.Duration)) error
	// Prepare, when set, runs before each of the side's measured rounds,
	// outside the measurement, with the round's size.
	Prepare func(ctx context.Context, n int) error
}

// Config shapes a comparison.
type Config struct {
	// Workers is how many goroutines share a round's operations (Op sides
	// only); 0 means 1.
	Workers int
	// RoundSize is the number of operations per round; 0 means 50, or 10 per
	// worker with several workers.
	RoundSize int
}

// Compare runs b.N operations of each side in alternating rounds (each side
// going first in turn) and reports the first side's figures and its ratios
// to the others. Every side runs one unmeasured round first, to warm
// connection pools.
func Compare(b *testing.B, cfg Config, sides ...Side) {
	b.Helper()
	workers := max(cfg.Workers, 1)
	round := cfg.RoundSize
	if round <= 0 {
		round = 50
		if workers > 1 {
			round = 10 * workers
		}
	}
	ctx := context.Background()
	for _, s := range sides {
		var warm tally
		if err := measure(ctx, s, workers, round, &warm); err != nil {
			b.Fatalf("%s: warm-up: %v", s.Name, err)
		}
	}
	tallies := make([]tally, len(sides))
	b.ResetTimer()
	for done, r := 0, 0; done < b.N; r++ {
		n := min(round, b.N-done)
		for i := range sides {
			j := (i + r) % len(sides)
			if err := measure(ctx, sides[j], workers, n, &tallies[j]); err != nil {
				b.Fatalf("%s: %v", sides[j].Name, err)
			}
		}
		done += n
	}
	b.StopTimer()
	report(b, sides, tallies)
}

// tally is what one side cost over the rounds it ran.
type tally struct {
	ops           int
	wall, cpu     time.Duration
	allocs, bytes uint64
	lat           latencies
}

func (t *tally) perOp(v float64) float64 { return v / float64(t.ops) }

// measure runs one round of n operations of s and adds its cost to t.
func measure(ctx context.Context, s Side, workers, n int, t *tally) error {
	if s.Prepare != nil {
		if err := s.Prepare(ctx, n); err != nil {
			return err
		}
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0, start := cpuTime(), time.Now()
	err := runRound(ctx, s, workers, n, &t.lat)
	t.wall += time.Since(start)
	t.cpu += cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	t.allocs += m1.Mallocs - m0.Mallocs
	t.bytes += m1.TotalAlloc - m0.TotalAlloc
	t.ops += n
	return err
}

// runRound does n operations of s, recording latencies in lat when it is not
// nil.
func runRound(ctx context.Context, s Side, workers, n int, lat *latencies) error {
	record := func(time.Duration) {}
	if lat != nil {
		record = lat.add
	}
	if s.Round != nil {
		return s.Round(ctx, n, record)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for w := range workers {
		share := n / workers
		if w < n%workers {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range share {
				start := time.Now()
				err := s.Op(ctx)
				record(time.Since(start))
				if err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func report(b *testing.B, sides []Side, tallies []tally) {
	ref := &tallies[0]
	if ref.ops == 0 {
		return
	}
	b.ReportMetric(ref.perOp(float64(ref.wall)), "ns/op")
	b.ReportMetric(ref.perOp(float64(ref.cpu)), "cpu-ns/op")
	b.ReportMetric(ref.perOp(float64(ref.bytes)), "B/op")
	b.ReportMetric(ref.perOp(float64(ref.allocs)), "allocs/op")
	qs := []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}, {"max", 1}}
	if ref.lat.quantile(1) == 0 {
		qs = nil // a Round side that records no latencies
	}
	for _, q := range qs {
		b.ReportMetric(ms(ref.lat.quantile(q.q)), q.name+"-ms")
	}
	for i, s := range sides[1:] {
		o := &tallies[i+1]
		for _, q := range qs {
			b.ReportMetric(ratio(float64(ref.lat.quantile(q.q)), float64(o.lat.quantile(q.q))), q.name+"/"+s.Name)
		}
		b.ReportMetric(ratio(ref.perOp(float64(ref.cpu)), o.perOp(float64(o.cpu))), "cpu/"+s.Name)
		b.ReportMetric(ratio(ref.perOp(float64(ref.allocs)), o.perOp(float64(o.allocs))), "allocs/"+s.Name)
		b.ReportMetric(ratio(ref.perOp(float64(ref.bytes)), o.perOp(float64(o.bytes))), "B/"+s.Name)
		b.ReportMetric(ratio(o.perOp(float64(o.wall)), ref.perOp(float64(ref.wall))), "thru/"+s.Name)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// latencies is a histogram of latencies in buckets of about 9 % (eight per
// power of two), filled without locks or allocations.
type latencies [64 * 8]atomic.Int64

func (l *latencies) add(d time.Duration) {
	n := uint64(max(d, 1))
	top := bits.Len64(n) - 1
	sub := 0
	if top >= 3 {
		sub = int(n>>(top-3)) & 7
	}
	l[top*8+sub].Add(1)
}

// quantile returns the upper bound of the bucket holding quantile q (q = 1:
// the largest latency's bucket); 0 when nothing was recorded.
func (l *latencies) quantile(q float64) time.Duration {
	var total int64
	for i := range l {
		total += l[i].Load()
	}
	if total == 0 {
		return 0
	}
	want := min(int64(q*float64(total)), total-1)
	var seen int64
	for i := range l {
		if seen += l[i].Load(); seen > want {
			top, sub := i/8, i%8
			if top < 3 {
				return time.Duration(1) << (top + 1)
			}
			return time.Duration(8+sub+1) << (top - 3)
		}
	}
	return 0
}
