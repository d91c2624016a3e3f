// Package transport carries every HTTP exchange between the client and a
// Deimos cluster: one call path, Transport.Do, for reads, writes and watches.
//
// Do picks an endpoint (see internal/endpoints), builds the request (GET and
// DELETE parameters in the query, PUT and POST parameters as a form body),
// sends it with a per-attempt timeout, decodes only the first JSON value of
// the answer (the server may append text after it), maps errors, and feeds the
// outcome back into the endpoint's health score.
//
// Failures are handled by the request's Class:
//
//   - Safe reads are retried on other endpoints with backoff until the
//     context ends, or the operation timeout when it has no deadline (then
//     *ClusterError, matching ErrClusterUnavailable), and are hedged: a read
//     that has not answered within twice the latency the fastest other node
//     answers within is also sent to another healthy node, and the first
//     answer wins.
//   - Unsafe writes are re-sent only when they provably never reached a
//     server (connection refused, DNS, TLS handshake); any other failure
//     returns an *UnknownOutcomeError matching ErrUnknownOutcome.
//   - LongPoll watches are attempted once; the watch loop retries.
//
// That decision is one pure function, verdict (verdict.go): each attempt's
// error is sorted into an outcome kind once (classify.go, and the decoder
// for answers), and the verdict on the class and the outcome says whether
// to retry, whether a write was or may have been applied, and which error
// the call returns. Operations above the transport only set a Class, and
// may set Request.Check to refuse a 2xx answer they cannot use.
//
// The policies are function values in go-retryablehttp's manner (policy.go:
// verdict, pause, next endpoint); the loop that runs them is the call's own
// (do.go), and attempts go straight to the round tripper. A call and the
// context its attempts run in are reused from one request to the next
// (scope.go), so the request path allocates about what a hand-written
// net/http client does.
//
// Config.Hooks (package observe) and Config.Logger observe the transport
// without steering it: each operation and attempt is reported where it
// already happens (each attempt, the hedge, the retry decision, the end of
// Do), endpoint state and membership changes come from the
// endpoint set, and transitions are logged once each. Without hooks and
// logger there is no observer, and each observation point is a nil check.
package transport
