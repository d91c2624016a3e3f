package apierror

import (
	"strconv"
	"strings"

	"github.com/marsevilspirit/deimos-client/internal/text"
)

// Error is an error the server answered as JSON ({"errorCode":...}), with
// what the client asked. It matches the sentinel of its code with errors.Is,
// e.g. errors.Is(err, ErrKeyNotFound); read its fields with errors.As.
type Error struct {
	// Code is the server's errorCode, e.g. 100 for "Key not found".
	Code int
	// Message is the server's message for the code, e.g. "Key not found".
	Message string
	// Cause is the server's detail, e.g. the missing key or "[old != new]"
	// for a failed compare.
	Cause string
	// Index is the store index when the server refused the request (0 for
	// validation errors). After ErrEventIndexCleared it is the current index;
	// read again before watching from it, or events are lost.
	Index uint64
	// Op is the operation that failed, e.g. "set" or "compareAndSwap".
	Op string
	// Key is the key it was about.
	Key string
	// Endpoint is the node that answered.
	Endpoint string
}

// Error formats the error as
// `deimos: set /a on http://127.0.0.1:4001: Key not found (/a) [100]`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("deimos: ")
	text.WriteContext(&b, e.Op, e.Key, e.Endpoint)
	b.WriteString(text.Clip(e.Message))
	if e.Cause != "" {
		b.WriteString(" (")
		b.WriteString(text.Clip(e.Cause))
		b.WriteString(")")
	}
	b.WriteString(" [")
	b.WriteString(strconv.Itoa(e.Code))
	b.WriteString("]")
	return b.String()
}

// Is matches another *Error with the same code, so the sentinels work with
// errors.Is whatever the context fields hold.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// EndpointError is the last error one endpoint gave during a request.
type EndpointError struct {
	// Endpoint is the node's URL.
	Endpoint string
	// Err is what went wrong there: a refused or cut connection, an attempt
	// timeout, a plain 500, a malformed answer...
	Err error
}

// ClusterError says that no endpoint could serve a request. It matches
// ErrClusterUnavailable, unwraps to the context error when the context
// ended, and lists each endpoint's last error.
type ClusterError struct {
	// Op and Key name the request.
	Op, Key string
	// Endpoints holds each endpoint's last error, in the order they failed.
	Endpoints []EndpointError
	// Cause is the context error, or nil when the attempts ran out first.
	Cause error
}

// Error names the request and each endpoint's last error.
func (e *ClusterError) Error() string {
	var b strings.Builder
	b.WriteString("deimos: ")
	text.WriteContext(&b, e.Op, e.Key, "")
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
		b.WriteString(text.Describe(ee.Err))
	}
	return b.String()
}

// Is reports target == ErrClusterUnavailable.
func (e *ClusterError) Is(target error) bool { return target == ErrClusterUnavailable }

// Unwrap returns the context error, if the context ended.
func (e *ClusterError) Unwrap() error { return e.Cause }

// UnknownOutcomeError says a write was sent but may or may not have been
// applied. It matches ErrUnknownOutcome and unwraps to what went wrong.
type UnknownOutcomeError struct {
	// Op, Key and Endpoint name the write and the node it was sent to.
	Op, Key, Endpoint string
	// Err is what went wrong after sending: a timeout, a cut connection, a
	// plain 500, a context error...
	Err error
}

// Error names the write, the endpoint and the cause.
func (e *UnknownOutcomeError) Error() string {
	var b strings.Builder
	b.WriteString("deimos: ")
	text.WriteContext(&b, e.Op, e.Key, e.Endpoint)
	b.WriteString("outcome unknown, the write may have been applied: ")
	b.WriteString(text.Describe(e.Err))
	return b.String()
}

// Is reports target == ErrUnknownOutcome.
func (e *UnknownOutcomeError) Is(target error) bool { return target == ErrUnknownOutcome }

// Unwrap returns the cause.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }
