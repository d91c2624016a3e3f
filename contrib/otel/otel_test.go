package otel_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/marsevilspirit/deimos-client"
	deimosotel "github.com/marsevilspirit/deimos-client/contrib/otel"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

type harness struct {
	cluster *deimostest.Cluster
	client  *deimos.Client
	spans   *tracetest.SpanRecorder
	tp      *sdktrace.TracerProvider
	reader  *sdkmetric.ManualReader
}

func newHarness(t *testing.T, nodes int, opts ...deimosotel.Option) *harness {
	t.Helper()
	h := &harness{cluster: deimostest.NewCluster(t, nodes), spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() {
		require.NoError(t, h.tp.Shutdown(context.Background()))
		require.NoError(t, mp.Shutdown(context.Background()))
	})
	hooks := deimosotel.New(append(opts, deimosotel.WithTracerProvider(h.tp), deimosotel.WithMeterProvider(mp))...)
	h.client = deimos.New(deimos.WithEndpoints(h.cluster.Endpoints()...), deimos.WithHooks(hooks),
		deimos.WithRequestTimeout(time.Second), deimos.WithoutHedging())
	t.Cleanup(func() { h.client.Close() })
	return h
}

// span returns the only ended span with that name.
func (h *harness) span(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range h.spans.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans named %q", name)
	return found[0]
}

// children returns the ended spans whose parent is s, in the order they ended.
func (h *harness) children(s sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, c := range h.spans.Ended() {
		if c.Parent().SpanID() == s.SpanContext().SpanID() {
			out = append(out, c)
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func hostPort(t *testing.T, url string) (string, int64) {
	t.Helper()
	host, port, err := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return host, int64(p)
}

func TestSpans_OperationWithARetriedAttempt(t *testing.T) {
	h := newHarness(t, 1)
	ctx := context.Background()
	_, err := h.client.Set(ctx, "/a", "v")
	require.NoError(t, err)
	h.cluster.Node(0).SetHook(deimostest.FailNext("GET", "/keys/a", deimostest.Fault500, 1))
	_, err = h.client.Get(ctx, "/a")
	require.NoError(t, err)

	host, port := hostPort(t, h.cluster.Node(0).URL())
	op := h.span(t, "deimos get")
	assert.Equal(t, trace.SpanKindClient, op.SpanKind())
	assert.Equal(t, codes.Unset, op.Status().Code)
	a := attrs(op)
	assert.Equal(t, "deimos", a["db.system.name"].AsString())
	assert.Equal(t, "get", a["db.operation.name"].AsString())
	assert.Equal(t, "read", a["deimos.operation.kind"].AsString())
	assert.Equal(t, host, a["server.address"].AsString())
	assert.Equal(t, port, a["server.port"].AsInt64())
	assert.Equal(t, int64(2), a["deimos.attempts"].AsInt64())
	assert.Equal(t, "ok", a["deimos.outcome"].AsString())
	assert.NotContains(t, a, attribute.Key("deimos.key"), "keys only when asked for")

	kids := h.children(op)
	require.Len(t, kids, 2, "one span per attempt, under the operation's")
	first, second := attrs(kids[0]), attrs(kids[1])
	assert.Equal(t, "GET", kids[0].Name())
	assert.Equal(t, trace.SpanKindClient, kids[0].SpanKind())
	assert.Equal(t, "GET", first["http.request.method"].AsString())
	assert.Equal(t, int64(1), first["deimos.attempt"].AsInt64())
	assert.False(t, first["deimos.hedged"].AsBool())
	assert.Equal(t, int64(500), first["http.response.status_code"].AsInt64())
	assert.Equal(t, "retried", first["deimos.outcome"].AsString())
	assert.Equal(t, "500", first["error.type"].AsString())
	assert.Equal(t, codes.Error, kids[0].Status().Code)
	assert.Equal(t, port, first["server.port"].AsInt64())

	assert.Equal(t, int64(2), second["deimos.attempt"].AsInt64())
	assert.Equal(t, int64(1), second["http.request.resend_count"].AsInt64())
	assert.Equal(t, int64(200), second["http.response.status_code"].AsInt64())
	assert.Positive(t, second["http.response.body.size"].AsInt64())
	assert.NotContains(t, second, attribute.Key("error.type"))
	assert.Equal(t, codes.Unset, kids[1].Status().Code)
	assert.True(t, kids[0].EndTime().Before(kids[1].StartTime()) || kids[0].EndTime().Equal(kids[1].StartTime()),
		"attempts are sequential")

	set := h.span(t, "deimos set")
	sa := attrs(h.children(set)[0])
	assert.Equal(t, int64(len("value=v")), sa["http.request.body.size"].AsInt64())
}

func TestSpans_ServerErrorCarriesItsCode(t *testing.T) {
	h := newHarness(t, 1, deimosotel.WithKeys())
	_, err := h.client.Get(context.Background(), "/missing")
	require.ErrorIs(t, err, deimos.ErrKeyNotFound)

	op := h.span(t, "deimos get")
	a := attrs(op)
	assert.Equal(t, "/missing", a["deimos.key"].AsString(), "WithKeys records the key")
	assert.Equal(t, "100", a["db.response.status_code"].AsString())
	assert.Equal(t, "100", a["error.type"].AsString())
	assert.Equal(t, "server_error", a["deimos.outcome"].AsString())
	assert.Equal(t, codes.Error, op.Status().Code)
	attempt := attrs(h.children(op)[0])
	assert.Equal(t, "404", attempt["error.type"].AsString(), "an attempt's error type is its HTTP status")
}

func TestSpans_OperationIsAChildOfTheCallersSpan(t *testing.T) {
	h := newHarness(t, 1)
	ctx, parent := h.tp.Tracer("test").Start(context.Background(), "handler")
	_, err := h.client.Set(ctx, "/p", "v")
	require.NoError(t, err)
	parent.End()

	op := h.span(t, "deimos set")
	assert.Equal(t, parent.SpanContext().TraceID(), op.SpanContext().TraceID())
	assert.Equal(t, parent.SpanContext().SpanID(), op.Parent().SpanID())
}

// metricsOf collects once and indexes the metrics by name.
func (h *harness) metricsOf(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, deimosotel.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

func value(set attribute.Set, key attribute.Key) attribute.Value {
	v, _ := set.Value(key)
	return v
}

func TestMetrics_AgainstAClusterWithAStoppedNode(t *testing.T) {
	h := newHarness(t, 2)
	ctx := context.Background()
	_, err := h.client.Set(ctx, "/m", "v")
	require.NoError(t, err)
	stopped := h.cluster.Node(1)
	stopped.Stop()
	// Read until the stopped node was tried (selection decides when) and
	// taken out of rotation; every read still succeeds through the other.
	reads := 0
	require.Eventually(t, func() bool {
		_, err := h.client.Get(ctx, "/m")
		require.NoError(t, err)
		reads++
		for _, e := range h.client.Endpoints() {
			if e.URL == stopped.URL() {
				return e.State != "healthy"
			}
		}
		return false
	}, 5*time.Second, time.Millisecond)
	_, stoppedPort := hostPort(t, stopped.URL())
	_, livePort := hostPort(t, h.cluster.Node(0).URL())
	assert.Equal(t, map[int64]int64{livePort: 1, stoppedPort: 0}, h.healthByPort(t))

	// A write whose answer is lost: unknown outcome, and the node that cut
	// the connection cools down too.
	for _, n := range h.cluster.Nodes() {
		n.SetHook(deimostest.FailNext("PUT", "/keys/u", deimostest.FaultDropResponse, 1))
	}
	_, err = h.client.Set(ctx, "/u", "v")
	require.ErrorIs(t, err, deimos.ErrUnknownOutcome)
	assert.Equal(t, map[int64]int64{livePort: 0, stoppedPort: 0}, h.healthByPort(t))

	m := h.metricsOf(t)

	attempts := m[deimosotel.AttemptsName].(metricdata.Sum[int64])
	var retried, okReads int64
	for _, p := range attempts.DataPoints {
		op, out := value(p.Attributes, "db.operation.name").AsString(), value(p.Attributes, "deimos.outcome").AsString()
		if op == "get" && out == "retried" {
			retried += p.Value
			assert.Equal(t, stoppedPort, value(p.Attributes, "server.port").AsInt64(), "the stopped node's attempt failed")
		}
		if op == "get" && out == "ok" {
			okReads += p.Value
			assert.Equal(t, livePort, value(p.Attributes, "server.port").AsInt64())
		}
	}
	assert.Equal(t, int64(1), retried, "one attempt reached the stopped node before it left rotation")
	assert.Equal(t, int64(reads), okReads)

	retries := m[deimosotel.RetriesName].(metricdata.Sum[int64])
	require.Len(t, retries.DataPoints, 1)
	assert.Equal(t, int64(1), retries.DataPoints[0].Value)
	assert.Equal(t, "get", value(retries.DataPoints[0].Attributes, "db.operation.name").AsString())

	unknown := m[deimosotel.UnknownOutcomesName].(metricdata.Sum[int64])
	require.Len(t, unknown.DataPoints, 1)
	assert.Equal(t, int64(1), unknown.DataPoints[0].Value)
	assert.Equal(t, "set", value(unknown.DataPoints[0].Attributes, "db.operation.name").AsString())

	durations := m[deimosotel.OperationDurationName].(metricdata.Histogram[float64])
	var getCount uint64
	for _, p := range durations.DataPoints {
		if value(p.Attributes, "db.operation.name").AsString() == "get" {
			assert.Equal(t, "ok", value(p.Attributes, "deimos.outcome").AsString())
			getCount += p.Count
			assert.Less(t, p.Sum, float64(getCount)*5, "seconds, not milliseconds or nanoseconds")
		}
		if value(p.Attributes, "deimos.outcome").AsString() == "unknown_outcome" {
			assert.Equal(t, "unknown_outcome", value(p.Attributes, "error.type").AsString())
		}
	}
	assert.Equal(t, uint64(reads), getCount)

}

// healthByPort reads the endpoint health gauge, by server.port.
func (h *harness) healthByPort(t *testing.T) map[int64]int64 {
	t.Helper()
	g, ok := h.metricsOf(t)[deimosotel.EndpointHealthName].(metricdata.Gauge[int64])
	require.True(t, ok)
	byPort := map[int64]int64{}
	for _, p := range g.DataPoints {
		byPort[value(p.Attributes, "server.port").AsInt64()] = p.Value
	}
	return byPort
}

func TestMetrics_HealthFollowsTheEndpointBack(t *testing.T) {
	h := newHarness(t, 2)
	ctx := context.Background()
	stopped := h.cluster.Node(1)
	stopped.Stop()
	require.Eventually(t, func() bool {
		_, err := h.client.Get(ctx, "/x")
		require.ErrorIs(t, err, deimos.ErrKeyNotFound)
		return h.healthOf(t, stopped.URL()) == 0
	}, 5*time.Second, time.Millisecond)
	require.NoError(t, stopped.Start())
	require.Eventually(t, func() bool {
		_, _ = h.client.Get(ctx, "/x") // picks end cool-downs and start probes
		return h.healthOf(t, stopped.URL()) == 1
	}, 10*time.Second, 5*time.Millisecond)
}

func (h *harness) healthOf(t *testing.T, url string) int64 {
	t.Helper()
	_, port := hostPort(t, url)
	if v, ok := h.healthByPort(t)[port]; ok {
		return v
	}
	return -1
}
