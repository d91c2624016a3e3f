// Package observe defines the hooks through which a client reports what it
// does: every operation and each HTTP attempt it makes for it, endpoint health
// changes and member list changes. It depends on the standard library only,
// so tracing and metrics adapters (such as the OpenTelemetry one in
// contrib/otel) live in their own modules.
//
// Hooks is a struct of optional functions; a nil field costs nothing, and a
// client without hooks does no observation work at all:
//
//	var slow atomic.Int64
//	client := deimos.New(
//		deimos.WithEndpoints("http://127.0.0.1:4001"),
//		deimos.WithHooks(observe.Hooks{
//			OperationEnd: func(_ context.Context, op observe.Operation, r observe.Result) {
//				if r.Duration > 100*time.Millisecond {
//					slow.Add(1)
//				}
//			},
//		}),
//	)
//
// A start hook returns a context that is handed to its end hook and, for an
// operation, to the start hooks of its attempts, so a tracer can open a span
// per operation with a child span per attempt. That context is only for the
// hooks: requests keep using the caller's context.
package observe
