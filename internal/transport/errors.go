package transport

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/marsevilspirit/deimos-client/apierror"
	"github.com/marsevilspirit/deimos-client/internal/text"
)

// The errors of the request path are apierror's, so what the transport
// returns matches the sentinels every public package re-exports. These
// aliases are internal: the public documentation is apierror's.
var (
	ErrUnknownOutcome       = apierror.ErrUnknownOutcome
	ErrClusterUnavailable   = apierror.ErrClusterUnavailable
	ErrResponseTooLarge     = apierror.ErrResponseTooLarge
	ErrMalformedResponse    = apierror.ErrMalformedResponse
	ErrClosed               = apierror.ErrClosed
	ErrServerUnavailable    = apierror.ErrServerUnavailable
	ErrAttemptTimeout       = apierror.ErrAttemptTimeout
	ErrEndpointUnresponsive = apierror.ErrEndpointUnresponsive

	ErrKeyNotFound       = apierror.ErrKeyNotFound
	ErrTestFailed        = apierror.ErrTestFailed
	ErrNotFile           = apierror.ErrNotFile
	ErrNotDir            = apierror.ErrNotDir
	ErrNodeExist         = apierror.ErrNodeExist
	ErrRootReadOnly      = apierror.ErrRootReadOnly
	ErrDirNotEmpty       = apierror.ErrDirNotEmpty
	ErrTTLNaN            = apierror.ErrTTLNaN
	ErrIndexNaN          = apierror.ErrIndexNaN
	ErrInvalidField      = apierror.ErrInvalidField
	ErrInvalidForm       = apierror.ErrInvalidForm
	ErrEventIndexCleared = apierror.ErrEventIndexCleared
)

type (
	// Error is a JSON error answered by the server.
	Error = apierror.Error
	// EndpointError is one endpoint's last error.
	EndpointError = apierror.EndpointError
	// ClusterError says no endpoint could serve a request.
	ClusterError = apierror.ClusterError
	// UnknownOutcomeError says a write may or may not have been applied.
	UnknownOutcomeError = apierror.UnknownOutcomeError
)

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

	kind outcomeKind // what the answer means for retrying (see verdict)
}

// Error names the request, the status and a bounded snippet of the body.
func (e *ResponseError) Error() string {
	var b strings.Builder
	b.WriteString("deimos: ")
	text.WriteContext(&b, e.Op, e.Key, e.Endpoint)
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

// Detail is the message without the request and endpoint, for lists of
// errors whose enclosing error names them.
func (e *ResponseError) Detail() string {
	c := *e
	c.Op, c.Key, c.Endpoint = "", "", ""
	return strings.TrimPrefix(c.Error(), "deimos: ")
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
	text.WriteContext(&b, e.Op, e.Key, e.Endpoint)
	b.WriteString(clip(e.Err.Error()))
	return b.String()
}

// Detail is the cause alone, for lists of errors whose enclosing error
// names the request and endpoint.
func (e *RequestError) Detail() string {
	return clip(strings.TrimPrefix(e.Err.Error(), "deimos: "))
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// clip bounds text from the server or the user quoted in messages.
func clip(s string) string { return text.Clip(s) }
