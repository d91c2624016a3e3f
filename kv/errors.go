package kv

import (
	"github.com/marsevilspirit/deimos-client/apierror"
)

// Error is an error answered by the server ({"errorCode":...}): Code,
// Message, Cause and Index as the server sent them, and the Op, Key and
// Endpoint concerned. Match it with errors.As, or its code with errors.Is
// against the sentinels below. It is apierror.Error, where the fields are
// documented.
type Error = apierror.Error

// ClusterError is the error behind ErrClusterUnavailable: Op and Key of the
// request, Cause (the context error, if it ended) and Endpoints, each
// endpoint's last error. It is apierror.ClusterError.
type ClusterError = apierror.ClusterError

// UnknownOutcomeError is the error behind ErrUnknownOutcome: Op, Key and
// Endpoint of the write and Err, what went wrong after it was sent. It is
// apierror.UnknownOutcomeError.
type UnknownOutcomeError = apierror.UnknownOutcomeError

// Client-side input errors. No request is sent when an operation returns one.
// They are apierror's values: every package of the SDK (watch, concurrency,
// the facade) reports bad input with them, so errors.Is(err,
// kv.ErrInvalidTTL) holds whichever call was given it. Their messages carry no
// component prefix: the error that wraps one names the package, operation and
// key once, e.g. `kv: set /a: invalid TTL: 500ms (want 1s to ...)`.
var (
	// ErrInvalidKey: the key is empty, has a "." or ".." segment, control
	// characters or invalid UTF-8, is too long, or is reserved.
	ErrInvalidKey = apierror.ErrInvalidKey
	// ErrReservedKey: a write under /_deimos, the server's member registry.
	// Errors matching it also match ErrInvalidKey.
	ErrReservedKey = apierror.ErrReservedKey
	// ErrInvalidTTL: a TTL below one second or above MaxTTL.
	ErrInvalidTTL = apierror.ErrInvalidTTL
	// ErrInvalidOption: an option that does not fit the operation, a missing
	// required option (a compare without prevValue or prevIndex), or options
	// the server would silently ignore in combination.
	ErrInvalidOption = apierror.ErrInvalidOption
	// ErrDecode: a typed value could not be decoded by its codec.
	ErrDecode = apierror.ErrDecode
)

// Errors answered by the server, matched by code with errors.Is.
var (
	ErrKeyNotFound       = apierror.ErrKeyNotFound       // 100: the key or an ancestor does not exist
	ErrTestFailed        = apierror.ErrTestFailed        // 101: compare-and-swap/delete mismatch
	ErrNotFile           = apierror.ErrNotFile           // 102: a file operation on a directory
	ErrNotDir            = apierror.ErrNotDir            // 104: a path goes through a file
	ErrNodeExist         = apierror.ErrNodeExist         // 105: create on an existing key
	ErrRootReadOnly      = apierror.ErrRootReadOnly      // 107: a write on "/"
	ErrDirNotEmpty       = apierror.ErrDirNotEmpty       // 108: non-recursive delete of a non-empty directory
	ErrEventIndexCleared = apierror.ErrEventIndexCleared // 401: a watch index older than the server's history
)

// Errors of the client's request path, matched with errors.Is.
var (
	// ErrUnknownOutcome: a write may or may not have been applied (timeout
	// after sending, cut connection, server 500). Re-read before retrying, or
	// retry with Create or a compare-and-swap, which cannot apply twice.
	ErrUnknownOutcome = apierror.ErrUnknownOutcome
	// ErrClusterUnavailable: no endpoint could serve a request before the
	// context ended; the error carries each endpoint's last error.
	ErrClusterUnavailable = apierror.ErrClusterUnavailable
	// ErrResponseTooLarge: a response body above the configured limit.
	ErrResponseTooLarge = apierror.ErrResponseTooLarge
	// ErrMalformedResponse: a body that is not the JSON the protocol promises.
	ErrMalformedResponse = apierror.ErrMalformedResponse
	// ErrClosed: the client was closed.
	ErrClosed = apierror.ErrClosed
)
