package benchpair

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var sink atomic.Pointer[[64]byte]

func TestQuantile(t *testing.T) {
	var l latencies
	assert.Zero(t, l.quantile(0.5), "nothing recorded")
	for i := 1; i <= 100; i++ {
		l.add(time.Duration(i) * time.Millisecond)
	}
	// Buckets are about 9 % wide and quantile gives a bucket's upper bound.
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := l.quantile(tc.q)
		assert.GreaterOrEqual(t, got, tc.want, "q=%v", tc.q)
		assert.LessOrEqual(t, float64(got), float64(tc.want)*1.13, "q=%v", tc.q)
	}
}

// Compare reports the first side's ratios to the others: a side that
// allocates twice what the other does per operation shows allocs/<other>
// near 2, and each Round side sees rounds that add up to b.N, each prepared
// with its size.
func TestCompare_Ratios(t *testing.T) {
	var prepared, rounds int
	res := testing.Benchmark(func(b *testing.B) {
		prepared, rounds = 0, 0
		Compare(b, Config{Workers: 2, RoundSize: 20},
			Side{Name: "two", Op: func(context.Context) error {
				sink.Store(new([64]byte))
				sink.Store(new([64]byte))
				return nil
			}},
			Side{Name: "one", Op: func(context.Context) error {
				sink.Store(new([64]byte))
				return nil
			}},
			Side{Name: "rounds",
				Prepare: func(_ context.Context, n int) error { prepared += n; return nil },
				Round: func(_ context.Context, n int, lat func(time.Duration)) error {
					rounds += n
					for range n {
						sink.Store(new([64]byte))
						lat(time.Millisecond)
					}
					return nil
				}},
		)
		require.Equal(b, prepared, rounds, "every round was prepared with its size")
		require.Equal(b, 20+b.N, rounds, "the warm-up round and b.N operations")
	})
	require.NotZero(t, res.N)
	assert.InDelta(t, 2.0, res.Extra["allocs/one"], 0.3)
	assert.InDelta(t, 2.0, res.Extra["allocs/rounds"], 0.3)
	assert.Contains(t, res.Extra, "thru/one")
	assert.Contains(t, res.Extra, "p99/rounds")
	assert.Positive(t, res.Extra["max-ms"])
}
