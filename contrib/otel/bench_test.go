package otel_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/marsevilspirit/deimos-client"
	deimosotel "github.com/marsevilspirit/deimos-client/contrib/otel"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// BenchmarkGet measures what the adapter costs a sequential GET against the
// in-process server, side by side in one run: no hooks, then the adapter with
// a recording SDK tracer (every span sampled and kept in memory) and an SDK
// meter. The server's work is on both sides; compare ns/op and allocs/op.
func BenchmarkGet(b *testing.B) {
	c := deimostest.NewCluster(b, 1)
	plain := deimos.New(deimos.WithEndpoints(c.Endpoints()...), deimos.WithoutHedging())
	defer plain.Close()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()
	traced := deimos.New(deimos.WithEndpoints(c.Endpoints()...), deimos.WithoutHedging(),
		deimos.WithHooks(deimosotel.New(deimosotel.WithTracerProvider(tp), deimosotel.WithMeterProvider(mp))))
	defer traced.Close()

	_, err := plain.Set(b.Context(), "/bench", "v")
	require.NoError(b, err)
	for _, bc := range []struct {
		name   string
		client *deimos.Client
	}{{"no-hooks", plain}, {"otel", traced}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.client.Get(b.Context(), "/bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
