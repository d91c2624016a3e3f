package apierror

import "errors"

// Client-side input errors. No request is sent when a call returns one. The
// messages carry no component: the error that wraps one names the package,
// operation and key once, e.g. `kv: set /a: invalid TTL: 500ms (want 1s to ...)`.
var (
	// ErrInvalidKey: the key is empty, has a "." or ".." segment, control
	// characters or invalid UTF-8, is too long, or is reserved.
	ErrInvalidKey = errors.New("invalid key")
	// ErrReservedKey: a write under /_deimos, the server's member registry.
	// Errors matching it also match ErrInvalidKey.
	ErrReservedKey = errors.New("key is reserved for the server")
	// ErrInvalidTTL: a TTL below one second or above the client's maximum.
	ErrInvalidTTL = errors.New("invalid TTL")
	// ErrInvalidOption: an option that does not fit the call, a missing
	// required option (a compare without prevValue or prevIndex), options the
	// server would silently ignore in combination, or a value that cannot work
	// (a negative buffer, no permits).
	ErrInvalidOption = errors.New("invalid option")
	// ErrDecode: a typed value could not be decoded by its codec.
	ErrDecode = errors.New("cannot decode value")
)

// Errors of the client's request path, matched with errors.Is.
var (
	// ErrUnknownOutcome: a write was sent but no trustworthy answer came back
	// (a timeout after sending, a cut connection, a plain 500), so it may or
	// may not have been applied. Re-read before retrying, or retry with a
	// create or compare-and-swap, which cannot apply twice. The error is an
	// *UnknownOutcomeError.
	ErrUnknownOutcome = errors.New("deimos: outcome of the write is unknown")
	// ErrClusterUnavailable: no endpoint could serve the request before the
	// context ended or the attempts ran out. The error is a *ClusterError
	// with each endpoint's last error.
	ErrClusterUnavailable = errors.New("deimos: no endpoint could serve the request")
	// ErrResponseTooLarge: a response body above the configured limit.
	ErrResponseTooLarge = errors.New("deimos: response body too large")
	// ErrMalformedResponse: an answer that is not what the protocol allows
	// (bad or truncated JSON, a plain-text page such as a 404 or 405).
	ErrMalformedResponse = errors.New("deimos: malformed response")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("deimos: client closed")
	// ErrServerUnavailable: a plain 5xx without a JSON error, which the server
	// sends when a request timed out inside the cluster (no leader or quorum).
	ErrServerUnavailable = errors.New("deimos: server could not complete the request")
	// ErrAttemptTimeout: one attempt got no answer within the request timeout.
	ErrAttemptTimeout = errors.New("deimos: no answer within the attempt timeout")
	// ErrEndpointUnresponsive: the endpoint holding a long poll stopped
	// answering probes, so the poll was abandoned.
	ErrEndpointUnresponsive = errors.New("deimos: endpoint stopped answering")
)

// Server error sentinels, one per error code the server produces; they match
// any *Error with the same Code.
var (
	ErrKeyNotFound       = &Error{Code: 100, Message: "Key not found"}                                        // the key or an ancestor does not exist
	ErrTestFailed        = &Error{Code: 101, Message: "Compare failed"}                                       // compare-and-swap/delete mismatch
	ErrNotFile           = &Error{Code: 102, Message: "Not a file"}                                           // a file operation on a directory
	ErrNotDir            = &Error{Code: 104, Message: "Not a directory"}                                      // a path goes through a file
	ErrNodeExist         = &Error{Code: 105, Message: "Key already exists"}                                   // create on an existing key
	ErrRootReadOnly      = &Error{Code: 107, Message: "Root is read only"}                                    // a write on "/"
	ErrDirNotEmpty       = &Error{Code: 108, Message: "Directory not empty"}                                  // non-recursive delete of a non-empty directory
	ErrTTLNaN            = &Error{Code: 202, Message: "The given TTL in POST form is not a number"}           // a TTL the server cannot parse
	ErrIndexNaN          = &Error{Code: 203, Message: "The given index in POST form is not a number"}         // a prevIndex or waitIndex the server cannot parse
	ErrInvalidField      = &Error{Code: 209, Message: "Invalid field"}                                        // a parameter the server refuses
	ErrInvalidForm       = &Error{Code: 210, Message: "Invalid POST form"}                                    // a form the server cannot parse
	ErrEventIndexCleared = &Error{Code: 401, Message: "The event in requested index is outdated and cleared"} // a watch index older than the server's history
)
