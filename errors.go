package deimos

import (
	"errors"

	"github.com/marsevilspirit/deimos-client/apierror"
	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/kv"
)

// Error is an error answered by the server: Code, Message, Cause and Index
// as the server sent them, and the Op, Key and Endpoint concerned. Use
// errors.As to read it, errors.Is with the sentinels below to test its code.
// It is apierror.Error, where the fields are documented; apierror also holds
// ClusterError and UnknownOutcomeError, the errors behind
// ErrClusterUnavailable and ErrUnknownOutcome.
type Error = apierror.Error

// ErrInvalidConfig: a client option was invalid. New reports it on every call;
// Connect returns it at once.
var ErrInvalidConfig = errors.New("deimos: invalid configuration")

// Errors answered by the server, matched by code with errors.Is.
var (
	ErrKeyNotFound       = kv.ErrKeyNotFound       // 100: the key or an ancestor does not exist
	ErrTestFailed        = kv.ErrTestFailed        // 101: compare-and-swap/delete mismatch
	ErrNotFile           = kv.ErrNotFile           // 102: a file operation on a directory
	ErrNotDir            = kv.ErrNotDir            // 104: a path goes through a file
	ErrNodeExist         = kv.ErrNodeExist         // 105: create on an existing key
	ErrRootReadOnly      = kv.ErrRootReadOnly      // 107: a write on "/"
	ErrDirNotEmpty       = kv.ErrDirNotEmpty       // 108: non-recursive delete of a non-empty directory
	ErrEventIndexCleared = kv.ErrEventIndexCleared // 401: a watch index older than the server's history
)

// Errors of the client itself, matched with errors.Is.
var (
	// ErrUnknownOutcome: a write may or may not have been applied. Re-read
	// before retrying, or retry with a create or compare-and-swap.
	ErrUnknownOutcome = kv.ErrUnknownOutcome
	// ErrClusterUnavailable: no endpoint answered before the context ended.
	ErrClusterUnavailable = kv.ErrClusterUnavailable
	// ErrResponseTooLarge: an answer above WithMaxResponseBytes.
	ErrResponseTooLarge = kv.ErrResponseTooLarge
	// ErrMalformedResponse: an answer that is not what the protocol promises.
	ErrMalformedResponse = kv.ErrMalformedResponse
	// ErrClosed: the client was closed.
	ErrClosed = kv.ErrClosed
	// ErrInvalidKey: an empty key, a "." or ".." segment, control characters,
	// or a write under /_deimos. Nothing was sent.
	ErrInvalidKey = kv.ErrInvalidKey
	// ErrReservedKey: a write under /_deimos; also matches ErrInvalidKey.
	ErrReservedKey = kv.ErrReservedKey
	// ErrInvalidTTL: a TTL below one second or above kv.MaxTTL. Nothing was sent.
	ErrInvalidTTL = kv.ErrInvalidTTL
	// ErrInvalidOption: options that do not fit the call. Nothing was sent.
	ErrInvalidOption = kv.ErrInvalidOption
)

// Lock errors (see NewDistributedLock), matched with errors.Is.
var (
	// ErrLockTimeout: Lock's context deadline passed first; the error also
	// matches context.DeadlineExceeded.
	ErrLockTimeout = concurrency.ErrLockTimeout
	// ErrLockAlreadyHeld: TryLock found the lock held by another owner.
	ErrLockAlreadyHeld = concurrency.ErrLockAlreadyHeld
	// ErrLockNotHeld: Unlock or Renew on a lock this value does not hold.
	ErrLockNotHeld = concurrency.ErrLockNotHeld
	// ErrLockLost: the held lock's key expired or was removed behind the
	// holder's back.
	ErrLockLost = concurrency.ErrLockLost
)
