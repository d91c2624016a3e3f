package transport

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Client-side errors; matched with errors.Is.
var (
	// ErrUnknownOutcome: a write may or may not have been applied (it was sent,
	// but no trustworthy answer came back). Re-read before retrying it.
	ErrUnknownOutcome = errors.New("deimos: outcome of the write is unknown")
	// ErrClusterUnavailable: no endpoint could serve the request; see
	// *ClusterError for each endpoint's last error.
	ErrClusterUnavailable = errors.New("deimos: no endpoint could serve the request")
	// ErrResponseTooLarge: the body exceeded Config.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("deimos: response body too large")
	// ErrMalformedResponse: the answer is not what the protocol allows (bad or
	// truncated JSON, an unexpected plain-text status such as a 404 page or 405).
	ErrMalformedResponse = errors.New("deimos: malformed response")
	// ErrClosed: the transport was closed.
	ErrClosed = errors.New("deimos: client closed")
	// ErrServerUnavailable: a plain 5xx without a JSON error, which the server
	// sends when a request timed out inside the cluster (no leader or quorum).
	ErrServerUnavailable = errors.New("deimos: server could not complete the request")
	// ErrAttemptTimeout: one attempt got no answer within Config.RequestTimeout.
	ErrAttemptTimeout = errors.New("deimos: no answer within the attempt timeout")
	// ErrEndpointUnresponsive: the endpoint holding a long poll stopped
	// answering probes, so the poll was abandoned.
	ErrEndpointUnresponsive = errors.New("deimos: endpoint stopped answering")
)

// Error is an error answered by the server as JSON ({"errorCode":...}). It
// matches the sentinel of its code with errors.Is, e.g.
// errors.Is(err, ErrKeyNotFound).
type Error struct {
	Code     int    // errorCode
	Message  string // message, e.g. "Key not found"
	Cause    string // cause, e.g. the missing key
	Index    uint64 // index: the store index (0 for validation errors)
	Op       string // the operation that failed, e.g. "set"
	Key      string // the key it was about
	Endpoint string // the endpoint that answered
}

// Error formats the error as
// `deimos: set /a on http://127.0.0.1:4001: Key not found (/a) [100]`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("deimos: ")
	writeContext(&b, e.Op, e.Key, e.Endpoint)
	b.WriteString(clip(e.Message))
	if e.Cause != "" {
		b.WriteString(" (")
		b.WriteString(clip(e.Cause))
		b.WriteString(")")
	}
	b.WriteString(" [")
	b.WriteString(strconv.Itoa(e.Code))
	b.WriteString("]")
	return b.String()
}

// Is matches another *Error with the same code, so the sentinels below work
// with errors.Is whatever the context fields hold.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Server error sentinels, one per error code the server produces.
var (
	ErrKeyNotFound       = &Error{Code: 100, Message: "Key not found"}
	ErrTestFailed        = &Error{Code: 101, Message: "Compare failed"}
	ErrNotFile           = &Error{Code: 102, Message: "Not a file"}
	ErrNotDir            = &Error{Code: 104, Message: "Not a directory"}
	ErrNodeExist         = &Error{Code: 105, Message: "Key already exists"}
	ErrRootReadOnly      = &Error{Code: 107, Message: "Root is read only"}
	ErrDirNotEmpty       = &Error{Code: 108, Message: "Directory not empty"}
	ErrTTLNaN            = &Error{Code: 202, Message: "The given TTL in POST form is not a number"}
	ErrIndexNaN          = &Error{Code: 203, Message: "The given index in POST form is not a number"}
	ErrInvalidField      = &Error{Code: 209, Message: "Invalid field"}
	ErrInvalidForm       = &Error{Code: 210, Message: "Invalid POST form"}
	ErrEventIndexCleared = &Error{Code: 401, Message: "The event in requested index is outdated and cleared"}
)

// EndpointError is the last error one endpoint gave during a request.
type EndpointError struct {
	Endpoint string
	Err      error
}

// ClusterError says that no endpoint could serve a request: it matches
// ErrClusterUnavailable, unwraps to the context error when the context ended,
// and lists each endpoint's last error.
type ClusterError struct {
	Op, Key   string
	Endpoints []EndpointError
	Cause     error // the context error, or nil when attempts ran out
}

// Error names the request and each endpoint's last error.
func (e *ClusterError) Error() string {
	var b strings.Builder
	b.WriteString("deimos: ")
	writeContext(&b, e.Op, e.Key, "")
	b.WriteString("no endpoint could serve the request")
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	for i, ee := range e.Endpoints {
		if i == 0 {
			b.WriteString("; last errors: ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(ee.Endpoint)
		b.WriteString(": ")
		b.WriteString(describe(ee.Err))
	}
	return b.String()
}

// Is reports target == ErrClusterUnavailable.
func (e *ClusterError) Is(target error) bool { return target == ErrClusterUnavailable }

// Unwrap returns the context error, if the context ended.
func (e *ClusterError) Unwrap() error { return e.Cause }

// UnknownOutcomeError says a write was sent but may or may not have been
// applied. It matches ErrUnknownOutcome and unwraps to what went wrong (a
// timeout, a cut connection, a plain 500, a context error...).
type UnknownOutcomeError struct {
	Op, Key, Endpoint string
	Err               error
}

// Error names the write, the endpoint and the cause.
func (e *UnknownOutcomeError) Error() string {
	var b strings.Builder
	b.WriteString("deimos: ")
	writeContext(&b, e.Op, e.Key, e.Endpoint)
	b.WriteString("outcome unknown, the write may have been applied: ")
	b.WriteString(describe(e.Err))
	return b.String()
}

// Is reports target == ErrUnknownOutcome.
func (e *UnknownOutcomeError) Is(target error) bool { return target == ErrUnknownOutcome }

// Unwrap returns the cause.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// ResponseError is an answer the client could not use: a non-JSON error
// status, a body that is not valid JSON or is truncated, or one that is too
// large. It unwraps to its Kind (ErrMalformedResponse, ErrResponseTooLarge or
// ErrServerUnavailable) and to the underlying decoding error, if any.
type ResponseError struct {
	Op, Key, Endpoint string
	StatusCode        int
	Snippet           string // at most about 200 bytes of the body, for diagnosis
	Kind              error
	Err               error

	retry bool // another endpoint may answer better (safe requests only)
}

// Error names the request, the status and a bounded snippet of the body.
func (e *ResponseError) Error() string {
	var b strings.Builder
	b.WriteString("deimos: ")
	writeContext(&b, e.Op, e.Key, e.Endpoint)
	b.WriteString(strings.TrimPrefix(e.Kind.Error(), "deimos: "))
	if e.StatusCode != 0 {
		b.WriteString(": status ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteString(" ")
			b.WriteString(t)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(clip(e.Err.Error()))
	}
	if e.Snippet != "" {
		b.WriteString(": body ")
		b.WriteString(strconv.Quote(e.Snippet))
	}
	return b.String()
}

// Unwrap returns the kind and the underlying error.
func (e *ResponseError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// RequestError is a failed exchange below HTTP (connection refused, reset,
// attempt timeout...), named with the request and the endpoint.
type RequestError struct {
	Op, Key, Endpoint string
	Err               error
}

// Error names the request, the endpoint and the cause.
func (e *RequestError) Error() string {
	var b strings.Builder
	b.WriteString("deimos: ")
	writeContext(&b, e.Op, e.Key, e.Endpoint)
	b.WriteString(clip(e.Err.Error()))
	return b.String()
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// writeContext writes "op key on endpoint: " with the parts that are set.
func writeContext(b *strings.Builder, op, key, endpoint string) {
	if op == "" && key == "" && endpoint == "" {
		return
	}
	n := b.Len()
	if op != "" {
		b.WriteString(op)
	}
	if key != "" {
		if b.Len() > n {
			b.WriteString(" ")
		}
		b.WriteString(clip(key))
	}
	if endpoint != "" {
		if b.Len() > n {
			b.WriteString(" ")
		}
		b.WriteString("on ")
		b.WriteString(endpoint)
	}
	b.WriteString(": ")
}

// describe is the message of an error inside a list, without the context the
// enclosing error already gives.
func describe(err error) string {
	switch e := err.(type) {
	case *RequestError:
		return clip(e.Err.Error())
	case *ResponseError:
		c := *e
		c.Op, c.Key, c.Endpoint = "", "", ""
		return strings.TrimPrefix(c.Error(), "deimos: ")
	case nil:
		return "<nil>"
	}
	return clip(err.Error())
}

const snippetMax = 200

// clip bounds text from the server or the user quoted in messages.
func clip(s string) string {
	if len(s) <= snippetMax {
		return s
	}
	cut := snippetMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
