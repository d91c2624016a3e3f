package transport

import (
	"context"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/observe"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// noopHooks sets every hook to a function that does nothing, so the
// benchmark measures what observing costs the transport itself.
func noopHooks() observe.Hooks {
	return observe.Hooks{
		OperationStart: func(ctx context.Context, _ observe.Operation) context.Context { return ctx },
		OperationEnd:   func(context.Context, observe.Operation, observe.Result) {},
		AttemptStart:   func(ctx context.Context, _ observe.Attempt) context.Context { return ctx },
		AttemptEnd:     func(context.Context, observe.Attempt, observe.AttemptResult) {},
		EndpointState:  func(observe.EndpointChange) {},
		Membership:     func(observe.MembershipChange) {},
	}
}

// BenchmarkObserve compares sequential GETs without hooks and with no-op
// hooks, against one shared cluster. Without hooks the transport must not
// allocate more than it did before hooks existed.
func BenchmarkObserve(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	for _, tc := range []struct {
		name  string
		hooks []observe.Hooks
	}{
		{"nohooks", nil},
		{"noop", []observe.Hooks{noopHooks()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tr, err := New(Config{Endpoints: c.Endpoints(), Hooks: tc.hooks})
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			ctx := context.Background()
			if _, err := tr.Do(ctx, putReq("/bench", map[string]string{"value": "v"}), nil); err != nil {
				b.Fatal(err)
			}
			req := getReq("/bench")
			benchOps(b, false, func() error {
				var out wireResp
				_, err := tr.Do(ctx, req, &out)
				return err
			})
		})
	}
}

// BenchmarkObservePaired alternates a GET through a transport without hooks
// and one through a transport with no-op hooks in every iteration, so load
// from other processes hits both alike; it reports each side's mean latency
// and their ratio (allocations are not split).
func BenchmarkObservePaired(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	ctx := context.Background()
	newTr := func(hooks []observe.Hooks) *Transport {
		tr, err := New(Config{Endpoints: c.Endpoints(), Hooks: hooks})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tr.Close() })
		return tr
	}
	plain, hooked := newTr(nil), newTr([]observe.Hooks{noopHooks()})
	if _, err := plain.Do(ctx, putReq("/bench", map[string]string{"value": "v"}), nil); err != nil {
		b.Fatal(err)
	}
	req := getReq("/bench")
	var pt, ht time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var out wireResp
		start := time.Now()
		if _, err := plain.Do(ctx, req, &out); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := hooked.Do(ctx, req, &out); err != nil {
			b.Fatal(err)
		}
		pt += mid.Sub(start)
		ht += time.Since(mid)
	}
	b.ReportMetric(float64(pt.Nanoseconds())/float64(b.N), "nohooks-ns/op")
	b.ReportMetric(float64(ht.Nanoseconds())/float64(b.N), "noop-ns/op")
	b.ReportMetric(float64(ht)/float64(pt), "ratio")
}
