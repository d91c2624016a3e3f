package otel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/marsevilspirit/deimos-client/observe"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/marsevilspirit/deimos-client/contrib/otel"

// Option configures New.
type Option func(*config)

type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	keys           bool
}

// WithTracerProvider sets where spans go; the default is the global provider
// (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp != nil {
			c.tracerProvider = tp
		}
	}
}

// WithMeterProvider sets where metrics go; the default is the global provider
// (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if mp != nil {
			c.meterProvider = mp
		}
	}
}

// WithKeys records each operation's key as the deimos.key span attribute.
// Off by default: keys can be sensitive, and they never become metric
// attributes.
func WithKeys() Option {
	return func(c *config) { c.keys = true }
}

// New returns hooks for deimos.WithHooks that trace and measure a client.
// Instruments the meter cannot create are reported to otel.Handle and left
// out; tracing works regardless.
func New(opts ...Option) observe.Hooks {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.tracerProvider == nil {
		cfg.tracerProvider = otel.GetTracerProvider()
	}
	if cfg.meterProvider == nil {
		cfg.meterProvider = otel.GetMeterProvider()
	}
	in := &instrumentation{
		tracer: cfg.tracerProvider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		keys:   cfg.keys,
		addrs:  newAddresses(),
	}
	in.metrics = newMetrics(cfg.meterProvider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL)), in.addrs)
	return observe.Hooks{
		OperationStart: in.operationStart,
		OperationEnd:   in.operationEnd,
		AttemptStart:   in.attemptStart,
		AttemptEnd:     in.attemptEnd,
		EndpointState:  in.metrics.endpointState,
		Membership:     in.metrics.membership,
	}
}
