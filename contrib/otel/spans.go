package otel

import (
	"context"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/observe"
)

// Attribute keys this package adds to the semantic conventions.
const (
	// KeyKey is the operation's key; recorded only with WithKeys.
	KeyKey = attribute.Key("deimos.key")
	// OutcomeKey is how an operation or attempt ended: observe.Outcome's
	// String, e.g. "ok", "retried", "unknown_outcome".
	OutcomeKey = attribute.Key("deimos.outcome")
	// AttemptKey is an attempt's number, from 1 (a hedge has the number of
	// the attempt it doubles).
	AttemptKey = attribute.Key("deimos.attempt")
	// HedgedKey marks a hedge: a second copy of a slow read.
	HedgedKey = attribute.Key("deimos.hedged")
	// AttemptsKey is how many attempts an operation took.
	AttemptsKey = attribute.Key("deimos.attempts")
	// OperationKindKey is "read", "write" or "watch".
	OperationKindKey = attribute.Key("deimos.operation.kind")
)

const (
	systemName = "deimos"
	spanPrefix = "deimos "
)

var systemAttr = semconv.DBSystemNameKey.String(systemName)

// instrumentation holds what the hooks share.
type instrumentation struct {
	tracer  trace.Tracer
	keys    bool
	addrs   *addresses
	metrics *metrics
}

func (in *instrumentation) operationStart(ctx context.Context, op observe.Operation) context.Context {
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, systemAttr, semconv.DBOperationNameKey.String(op.Name), OperationKindKey.String(op.Kind.String()))
	if in.keys && op.Key != "" {
		attrs = append(attrs, KeyKey.String(op.Key))
	}
	ctx, _ = in.tracer.Start(ctx, spanPrefix+op.Name,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

func (in *instrumentation) operationEnd(ctx context.Context, op observe.Operation, r observe.Result) {
	in.metrics.operation(ctx, op, r)
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		span.End()
		return
	}
	addr := in.addrs.of(r.Endpoint)
	span.SetAttributes(addr.address, addr.port, OutcomeKey.String(r.Outcome.String()), AttemptsKey.Int(r.Attempts))
	if code, ok := serverCode(r.Err); ok {
		span.SetAttributes(semconv.DBResponseStatusCodeKey.String(code))
	}
	failed(span, r.Outcome, r.Err, 0)
	span.End()
}

func (in *instrumentation) attemptStart(ctx context.Context, a observe.Attempt) context.Context {
	addr := in.addrs.of(a.Endpoint)
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(a.Operation.Method),
		addr.address, addr.port, addr.scheme,
		AttemptKey.Int(a.Number),
		HedgedKey.Bool(a.Hedged),
	}
	if a.Number > 1 && !a.Hedged {
		attrs = append(attrs, semconv.HTTPRequestResendCountKey.Int(a.Number-1))
	}
	ctx, _ = in.tracer.Start(ctx, a.Operation.Method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

func (in *instrumentation) attemptEnd(ctx context.Context, a observe.Attempt, r observe.AttemptResult) {
	in.metrics.attempt(ctx, a, r)
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(OutcomeKey.String(r.Outcome.String()))
	if r.StatusCode != 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(r.StatusCode))
	}
	if r.BytesSent > 0 {
		span.SetAttributes(semconv.HTTPRequestBodySizeKey.Int64(r.BytesSent))
	}
	if r.BytesReceived > 0 {
		span.SetAttributes(semconv.HTTPResponseBodySizeKey.Int64(r.BytesReceived))
	}
	failed(span, r.Outcome, r.Err, r.StatusCode)
	span.End()
}

// failed marks span as failed unless the outcome is a success: OK, or an
// attempt that lost a hedged race. An attempt's error.type is its HTTP
// error status when it has one, as the HTTP conventions ask.
func failed(span trace.Span, out observe.Outcome, err error, status int) {
	if out == observe.OK || out == observe.Superseded {
		return
	}
	typ := errorType(out, err)
	if status >= 400 {
		typ = strconv.Itoa(status)
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(typ))
	msg := out.String()
	if err != nil {
		msg = err.Error()
	}
	span.SetStatus(codes.Error, msg)
}

// errorType is the error.type of a failure: the server's error code, else
// the outcome.
func errorType(out observe.Outcome, err error) string {
	if code, ok := serverCode(err); ok {
		return code
	}
	return out.String()
}

func serverCode(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var se *deimos.Error
	if errors.As(err, &se) {
		return strconv.Itoa(se.Code), true
	}
	return "", false
}
