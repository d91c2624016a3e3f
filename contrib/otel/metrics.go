package otel

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"

	"github.com/marsevilspirit/deimos-client/observe"
)

// Metric names.
const (
	// OperationDurationName is the histogram of operation durations, in seconds.
	OperationDurationName = "deimos.client.operation.duration"
	// AttemptsName counts HTTP attempts, hedges included.
	AttemptsName = "deimos.client.attempts"
	// RetriesName counts attempts re-sent after a failure (not hedges).
	RetriesName = "deimos.client.retries"
	// UnknownOutcomesName counts writes whose outcome is unknown.
	UnknownOutcomesName = "deimos.client.unknown_outcomes"
	// EndpointHealthName is the gauge of each endpoint's health: 1 healthy,
	// 0 cooling down or being probed.
	EndpointHealthName = "deimos.client.endpoint.health"
)

// durationBuckets suit a key-value store on a network: from a millisecond
// to the longest watches.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type metrics struct {
	duration metric.Float64Histogram
	attempts metric.Int64Counter
	retries  metric.Int64Counter
	unknown  metric.Int64Counter
	addrs    *addresses
}

func newMetrics(m metric.Meter, addrs *addresses) *metrics {
	ms := &metrics{addrs: addrs}
	var err error
	ms.duration, err = m.Float64Histogram(OperationDurationName, metric.WithUnit("s"),
		metric.WithDescription("Duration of deimos client operations, retries included."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	ms.duration = orNoop[metric.Float64Histogram](ms.duration, err, noop.Float64Histogram{})
	ms.attempts, err = m.Int64Counter(AttemptsName, metric.WithUnit("{attempt}"),
		metric.WithDescription("HTTP attempts sent by deimos client operations, hedges included."))
	ms.attempts = orNoop[metric.Int64Counter](ms.attempts, err, noop.Int64Counter{})
	ms.retries, err = m.Int64Counter(RetriesName, metric.WithUnit("{retry}"),
		metric.WithDescription("Attempts re-sent after a failed one."))
	ms.retries = orNoop[metric.Int64Counter](ms.retries, err, noop.Int64Counter{})
	ms.unknown, err = m.Int64Counter(UnknownOutcomesName, metric.WithUnit("{operation}"),
		metric.WithDescription("Writes that may or may not have been applied."))
	ms.unknown = orNoop[metric.Int64Counter](ms.unknown, err, noop.Int64Counter{})
	_, err = m.Int64ObservableGauge(EndpointHealthName, metric.WithUnit("1"),
		metric.WithDescription("1 while an endpoint takes traffic, 0 while it cools down or is probed."),
		metric.WithInt64Callback(ms.observeHealth))
	if err != nil {
		otel.Handle(err)
	}
	return ms
}

// orNoop returns inst, or fallback after reporting err.
func orNoop[T any](inst T, err error, fallback T) T {
	if err != nil {
		otel.Handle(err)
		return fallback
	}
	return inst
}

func (ms *metrics) operation(ctx context.Context, op observe.Operation, r observe.Result) {
	addr := ms.addrs.of(r.Endpoint)
	name := semconv.DBOperationNameKey.String(op.Name)
	attrs := []attribute.KeyValue{systemAttr, name, OutcomeKey.String(r.Outcome.String()), addr.address, addr.port}
	if r.Outcome != observe.OK {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(r.Outcome, r.Err)))
	}
	ms.duration.Record(ctx, r.Duration.Seconds(), metric.WithAttributes(attrs...))
	if retries := r.Attempts - r.Hedges - 1; retries > 0 {
		ms.retries.Add(ctx, int64(retries), metric.WithAttributes(systemAttr, name))
	}
	if r.Outcome == observe.UnknownOutcome {
		ms.unknown.Add(ctx, 1, metric.WithAttributes(systemAttr, name))
	}
}

func (ms *metrics) attempt(ctx context.Context, a observe.Attempt, r observe.AttemptResult) {
	addr := ms.addrs.of(a.Endpoint)
	ms.attempts.Add(ctx, 1, metric.WithAttributes(systemAttr,
		semconv.DBOperationNameKey.String(a.Operation.Name), OutcomeKey.String(r.Outcome.String()),
		HedgedKey.Bool(a.Hedged), addr.address, addr.port))
}

func (ms *metrics) endpointState(c observe.EndpointChange) {
	ms.addrs.setHealthy(c.Endpoint, c.To == observe.Healthy)
}

func (ms *metrics) membership(c observe.MembershipChange) {
	ms.addrs.membership(c.Added, c.Removed)
}

func (ms *metrics) observeHealth(_ context.Context, o metric.Int64Observer) error {
	ms.addrs.health(func(addr *address, v int64) {
		o.Observe(v, metric.WithAttributeSet(addr.set))
	})
	return nil
}
