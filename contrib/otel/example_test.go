package otel_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/marsevilspirit/deimos-client"
	deimosotel "github.com/marsevilspirit/deimos-client/contrib/otel"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func ExampleNew() {
	cluster, err := deimostest.StartCluster(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close()

	// In a program: sdktrace.WithBatcher(exporter), and a meter provider.
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())

	client := deimos.New(
		deimos.WithEndpoints(cluster.Endpoints()...),
		deimos.WithHooks(deimosotel.New(deimosotel.WithTracerProvider(tp))),
	)
	defer client.Close()
	ctx := context.Background()
	_, _ = client.Set(ctx, "/greeting", "hello")
	_, _ = client.Get(ctx, "/greeting")

	for _, s := range spans.Ended() {
		fmt.Println(s.Name())
	}
	// Output:
	// PUT
	// deimos set
	// GET
	// deimos get
}
