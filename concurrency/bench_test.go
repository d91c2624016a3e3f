package concurrency_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/internal/benchpair"
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

// readmeLocker is the README's DistributedLock.
type readmeLocker struct{ l *concurrency.DistributedLock }

func (r readmeLocker) lock(ctx context.Context) error   { return r.l.Lock(ctx) }
func (r readmeLocker) unlock(ctx context.Context) error { return r.l.Unlock(ctx) }

// contend runs b.N acquisitions in all, spread over lockers running at
// once, calling held while each holds the lock. It fails b on an error.
func contend(b *testing.B, lockers []locker, held func()) {
	ctx := b.Context()
	var left atomic.Int64
	var failed atomic.Value
	left.Store(int64(b.N))
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
				held()
				if err := l.unlock(ctx); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

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
		mu       sync.Mutex
		released time.Time
		handoffs []time.Duration
	)
	before := c.Requests("")
	b.ResetTimer()
	start := time.Now()
	contend(b, lockers, func() {
		mu.Lock()
		defer mu.Unlock()
		if !released.IsZero() {
			handoffs = append(handoffs, time.Since(released))
		}
		released = time.Now()
	})
	elapsed := time.Since(start)
	b.StopTimer()
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

// BenchmarkDistributedLock_Requests drives the README's lock (a fresh
// session per acquisition) with 1 to 16 contenders and reports the HTTP
// requests the cluster received per acquisition, in total and by kind.
func BenchmarkDistributedLock_Requests(b *testing.B) {
	for _, n := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprintf("contenders=%d", n), func(b *testing.B) {
			benchDistributedLock(b, n)
		})
	}
}

func benchDistributedLock(b *testing.B, contenders int) {
	c := deimostest.NewCluster(b, 3)
	lockers := make([]locker, contenders)
	for i := range lockers {
		lockers[i] = readmeLocker{concurrency.NewDistributedLock(newClient(b, c, i), "/bench/dl", fmt.Sprint("c", i))}
	}
	methods := []string{"", "POST", "GET", "PUT", "DELETE"}
	before := make([]int64, len(methods))
	for i, m := range methods {
		before[i] = c.Requests(m)
	}
	b.ResetTimer()
	contend(b, lockers, func() {})
	b.StopTimer()
	for i, m := range methods {
		unit := "req/acq"
		if m != "" {
			unit = m + "/acq"
		}
		b.ReportMetric(float64(c.Requests(m)-before[i])/float64(b.N), unit)
	}
}

// BenchmarkMutex_Unlock measures how long Unlock takes after a 1 ms critical
// section with nobody waiting, side by side (internal/benchpair) with two
// baselines: the one compare-and-delete Unlock sends, alone, on a key held
// as long; and the same on a key one watch waits on, as the holder's guard
// waits on its own entry (the server then answers that watch too). Only the
// unlock is timed: the p50/ and p99/ ratios are those of their latencies
// (the CPU and allocation ratios cover the whole cycle, lock and critical
// section included).
func BenchmarkMutex_Unlock(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	s, err := concurrency.NewSession(newClient(b, c, 0))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	m := concurrency.NewMutex(s, "/bench/unlock")
	k := newClient(b, c, 0).KV()
	cycles := func(cycle func(ctx context.Context) (time.Duration, error)) func(context.Context, int, func(time.Duration)) error {
		return func(ctx context.Context, n int, lat func(time.Duration)) error {
			for range n {
				d, err := cycle(ctx)
				if err != nil {
					return err
				}
				lat(d)
			}
			return nil
		}
	}
	benchpair.Compare(b, benchpair.Config{RoundSize: 20},
		benchpair.Side{Name: "mutex", Round: cycles(func(ctx context.Context) (time.Duration, error) {
			if err := m.Lock(ctx); err != nil {
				return 0, err
			}
			time.Sleep(time.Millisecond) // the critical section
			start := time.Now()
			err := m.Unlock(ctx)
			return time.Since(start), err
		})},
		benchpair.Side{Name: "watched-cad", Round: cycles(func(ctx context.Context) (time.Duration, error) {
			entry, err := k.CreateInOrder(ctx, "/bench/unlock-watched", "token", kv.WithTTL(15*time.Second))
			if err != nil {
				return 0, err
			}
			watchers := c.Watchers()
			woken := make(chan error, 1)
			go func() {
				_, err := k.WaitEvent(ctx, entry.Node.Key, entry.Node.ModifiedIndex+1, false)
				woken <- err
			}()
			for c.Watchers() == watchers {
				runtime.Gosched() // until the watch is registered
			}
			time.Sleep(time.Millisecond)
			start := time.Now()
			_, err = k.CompareAndDelete(ctx, entry.Node.Key, kv.WithPrevValue("token"))
			took := time.Since(start)
			return took, errors.Join(err, <-woken)
		})},
		benchpair.Side{Name: "compare-and-delete", Round: cycles(func(ctx context.Context) (time.Duration, error) {
			if _, err := k.CreateInOrder(ctx, "/bench/unlock-baseline", "token", kv.WithTTL(15*time.Second)); err != nil {
				return 0, err
			}
			resp, err := k.List(ctx, "/bench/unlock-baseline")
			if err != nil {
				return 0, err
			}
			time.Sleep(time.Millisecond)
			start := time.Now()
			_, err = k.CompareAndDelete(ctx, resp.Node.Nodes[0].Key, kv.WithPrevValue("token"))
			return time.Since(start), err
		})},
	)
}
