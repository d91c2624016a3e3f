package transport

import (
	"context"
	"testing"

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
