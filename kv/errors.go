package kv

import (
	"errors"

	"github.com/marsevilspirit/deimos-client/internal/transport"
)

// Error is an error answered by the server ({"errorCode":...}), with the
// operation, key and endpoint it concerns. Match it with errors.As, or its code
// with errors.Is against the sentinels below.
type Error = transport.Error

// ClusterError is the error behind ErrClusterUnavailable: the request, the
// context error if it ended, and each endpoint's last error.
type ClusterError = transport.ClusterError

// UnknownOutcomeError is the error behind ErrUnknownOutcome: the write, the
// endpoint and what went wrong after it was sent.
type UnknownOutcomeError = transport.UnknownOutcomeError

// Client-side input errors. No request is sent when an operation returns one.
// Their messages carry no component prefix: the error that wraps one names
// the package, operation and key once, e.g.
// `kv: set /a: invalid TTL: 500ms (want 1s to ...)`. Every package of the SDK
// (watch, concurrency, the facade) reports bad input with these same values,
// so errors.Is(err, kv.ErrInvalidTTL) holds whichever call was given it.
var (
	// ErrInvalidKey: the key is empty, has a "." or ".." segment, control
	// characters or invalid UTF-8, is too long, or is reserved.
	ErrInvalidKey = errors.New("invalid key")
	// ErrReservedKey: a write under /_deimos, the server's member registry.
	// Errors matching it also match ErrInvalidKey.
	ErrReservedKey = errors.New("key is reserved for the server")
	// ErrInvalidTTL: a TTL below one second or above MaxTTL.
	ErrInvalidTTL = errors.New("invalid TTL")
	// ErrInvalidOption: an option that does not fit the operation, a missing
	// required option (a compare without prevValue or prevIndex), or options
	// the server would silently ignore in combination.
	ErrInvalidOption = errors.New("invalid option")
	// ErrDecode: a typed value could not be decoded by its codec.
	ErrDecode = errors.New("cannot decode value")
)

// Errors answered by the server, matched by code with errors.Is.
var (
	ErrKeyNotFound       = transport.ErrKeyNotFound       // 100: the key or an ancestor does not exist
	ErrTestFailed        = transport.ErrTestFailed        // 101: compare-and-swap/delete mismatch
	ErrNotFile           = transport.ErrNotFile           // 102: a file operation on a directory
	ErrNotDir            = transport.ErrNotDir            // 104: a path goes through a file
	ErrNodeExist         = transport.ErrNodeExist         // 105: create on an existing key
	ErrRootReadOnly      = transport.ErrRootReadOnly      // 107: a write on "/"
	ErrDirNotEmpty       = transport.ErrDirNotEmpty       // 108: non-recursive delete of a non-empty directory
	ErrEventIndexCleared = transport.ErrEventIndexCleared // 401: a watch index older than the server's history
)

// Errors of the client's request path, matched with errors.Is.
var (
	// ErrUnknownOutcome: a write may or may not have been applied (timeout
	// after sending, cut connection, server 500). Re-read before retrying, or
	// retry with Create or a compare-and-swap, which cannot apply twice.
	ErrUnknownOutcome = transport.ErrUnknownOutcome
	// ErrClusterUnavailable: no endpoint could serve a request before the
	// context ended; the error carries each endpoint's last error.
	ErrClusterUnavailable = transport.ErrClusterUnavailable
	// ErrResponseTooLarge: a response body above the configured limit.
	ErrResponseTooLarge = transport.ErrResponseTooLarge
	// ErrMalformedResponse: a body that is not the JSON the protocol promises.
	ErrMalformedResponse = transport.ErrMalformedResponse
	// ErrClosed: the client was closed.
	ErrClosed = transport.ErrClosed
)
