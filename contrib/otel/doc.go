// Package otel reports a deimos client's work to OpenTelemetry: a span per
// operation with a child span per HTTP attempt, and metrics for operation
// durations, attempts, retries, writes of unknown outcome and endpoint
// health. It is a nested module, so the client itself depends on no
// OpenTelemetry package.
//
//	hooks := otel.New() // the global tracer and meter providers
//	client := deimos.New(deimos.WithEndpoints(urls...), deimos.WithHooks(hooks))
//
// Import it under another name when go.opentelemetry.io/otel is imported
// too, e.g. deimosotel. Build one set of hooks per client: the endpoint
// health gauge reports the endpoints of the clients its hooks serve.
//
// Spans follow the OpenTelemetry semantic conventions for database clients
// (operation spans, named "deimos <operation>", with db.system.name
// "deimos" and db.operation.name) and HTTP clients (attempt spans, named by
// the HTTP method, with http.request.method, server.address, server.port,
// http.response.status_code). Failed spans carry error.type: the server's
// error code ("100" for key not found) or the outcome ("unavailable",
// "unknown_outcome", ...). Keys are recorded (deimos.key) only with
// WithKeys, since they can be sensitive.
//
// Metrics (watches are long polls: their durations are recorded under the
// operation name "watch", apart from the others):
//
//	deimos.client.operation.duration   histogram, s: db.operation.name, deimos.outcome, error.type, server.address, server.port
//	deimos.client.attempts             counter: db.operation.name, deimos.outcome, deimos.hedged, server.address, server.port
//	deimos.client.retries              counter: db.operation.name (attempts re-sent after a failure)
//	deimos.client.unknown_outcomes     counter: db.operation.name (writes that may or may not have been applied)
//	deimos.client.endpoint.health      gauge, 1 healthy / 0 not: server.address, server.port
package otel
