package concurrency_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// locker is what the benchmark drives: the fair Mutex or the naive baseline.
type locker interface {
	lock(ctx context.Context) error
	unlock(ctx context.Context) error
}

type fairLocker struct{ m *concurrency.Mutex }

func (f fairLocker) lock(ctx context.Context) error   { return f.m.Lock(ctx) }
func (f fairLocker) unlock(ctx context.Context) error { return f.m.Unlock(ctx) }

// naiveLocker is the lock peers ship: create the key if absent; when it
// exists, watch it until it is deleted and try again. Every waiter wakes on
// every release and races to create the key.
type naiveLocker struct {
	kv    *kv.KV
	key   string
	token string
}

func (n naiveLocker) lock(ctx context.Context) error {
	for {
		_, err := n.kv.Create(ctx, n.key, n.token, kv.WithTTL(15*time.Second))
		var se *kv.Error
		if !errors.As(err, &se) || !errors.Is(err, kv.ErrNodeExist) {
			return err
		}
		for idx := se.Index + 1; ; {
			ev, err := n.kv.WaitEvent(ctx, n.key, idx, false)
			if err != nil {
				return err
			}
			if ev == nil {
				continue
			}
			if ev.Action == kv.ActionDelete || ev.Action == kv.ActionCompareAndDelete || ev.Action == kv.ActionExpire {
				break
			}
			idx = ev.Node.ModifiedIndex + 1
		}
	}
}

func (n naiveLocker) unlock(ctx context.Context) error {
	_, err := n.kv.CompareAndDelete(ctx, n.key, kv.WithPrevValue(n.token))
	return err
}

// BenchmarkLock measures acquisitions per second, HTTP requests received by
// the cluster per acquisition, and handoff latency (a holder starts to
// release -> the next holder has the lock), for the fair queue lock and the
// naive create-or-watch lock, with 1, 4 and 16 contenders.
func BenchmarkLock(b *testing.B) {
	for _, kind := range []string{"fair", "naive"} {
		for _, n := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/contenders=%d", kind, n), func(b *testing.B) {
				benchLock(b, kind, n)
			})
		}
	}
}

func benchLock(b *testing.B, kind string, contenders int) {
	c := deimostest.NewCluster(b, 3)
	ctx := b.Context()
	lockers := make([]locker, contenders)
	for i := range lockers {
		client := newClient(b, c, i)
		if kind == "fair" {
			s, err := concurrency.NewSession(client)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			lockers[i] = fairLocker{concurrency.NewMutex(s, "/bench/fair")}
		} else {
			lockers[i] = naiveLocker{kv: client.KV(), key: "/bench/naive", token: fmt.Sprint("c", i)}
		}
	}
	var (
		left     atomic.Int64
		mu       sync.Mutex
		released time.Time
		handoffs []time.Duration
		failed   atomic.Value
	)
	left.Store(int64(b.N))
	before := c.Requests("")
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range lockers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if err := l.lock(ctx); err != nil {
					failed.Store(err)
					return
				}
				mu.Lock()
				if !released.IsZero() {
					handoffs = append(handoffs, time.Since(released))
				}
				released = time.Now()
				mu.Unlock()
				if err := l.unlock(ctx); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	reqs := c.Requests("") - before
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "acq/s")
	b.ReportMetric(float64(reqs)/float64(b.N), "req/acq")
	if len(handoffs) > 0 {
		slices.Sort(handoffs)
		b.ReportMetric(float64(handoffs[len(handoffs)/2].Microseconds())/1000, "p50-handoff-ms")
		b.ReportMetric(float64(handoffs[len(handoffs)*99/100].Microseconds())/1000, "p99-handoff-ms")
	}
	b.ReportMetric(0, "ns/op") // acq/s says it better
}
