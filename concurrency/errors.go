package concurrency

import (
	"errors"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Session errors.
var (
	// ErrSessionExpired: a key of the session could not be refreshed before
	// its expiration, or was found removed or changed by someone else. The
	// session is over; anything held through it is lost.
	ErrSessionExpired = errors.New("session: a key of the session expired or was removed")
	// ErrSessionClosed: the session was closed (or orphaned) by its owner.
	ErrSessionClosed = errors.New("session: closed")
)

// Claim errors.
var (
	// ErrKeyTaken: Session.Claim found the key held by another owner (its
	// value is not ours). Errors matching it also match kv.ErrNodeExist.
	ErrKeyTaken = errors.New("claim: key held by another owner")
	// ErrClaimLost: a claimed key was found removed or changed by someone
	// else, or may have expired before it was refreshed. Without
	// WithRecreate the session ends with it; with WithRecreate the key is
	// being created again.
	ErrClaimLost = errors.New("claim: key lost")
)

// Mutex and semaphore errors.
var (
	// ErrLocked: TryLock found the mutex held by another contender.
	ErrLocked = errors.New("mutex: locked by another session")
	// ErrNotLocked: Unlock on a mutex this value does not hold, or Holder on
	// a mutex nobody holds.
	ErrNotLocked = errors.New("mutex: not locked")
	// ErrNoPermit: TryAcquire found every permit of the semaphore taken.
	ErrNoPermit = errors.New("semaphore: no permit available")
	// ErrNotAcquired: Release on a semaphore this value holds no permit of.
	ErrNotAcquired = errors.New("semaphore: no permit held")
	// ErrQueueEntryRemoved: the contender's queue entry disappeared while it
	// was waiting (deleted by someone else, or expired and reaped).
	ErrQueueEntryRemoved = errors.New("concurrency: queue entry removed while waiting")
)

// DistributedLock errors; the facade re-exports them (deimos.ErrLockTimeout...).
var (
	// ErrLockTimeout: Lock's context deadline passed before the lock was
	// acquired. Errors matching it also match context.DeadlineExceeded.
	ErrLockTimeout = errors.New("lock: timed out waiting for the lock")
	// ErrLockAlreadyHeld: TryLock found the lock held by another owner.
	ErrLockAlreadyHeld = errors.New("lock: already held by another owner")
	// ErrLockNotHeld: Unlock or Renew on a lock this value does not hold.
	ErrLockNotHeld = errors.New("lock: not held")
	// ErrLockLost: the lock was held but its key expired or was removed
	// behind the holder's back; another owner may hold it now.
	ErrLockLost = errors.New("lock: lost")
)

// Election errors.
var (
	// ErrNoLeader: Leader found nobody campaigning.
	ErrNoLeader = errors.New("election: no leader")
	// ErrNotLeader: Proclaim or Resign by a candidate that is not the leader.
	ErrNotLeader = errors.New("election: not the leader")
)

// Bad input, the same sentinels as package kv's (and the facade's), so one
// errors.Is test works whichever package reported it.
var (
	// ErrInvalidOption: an option value that cannot work (fewer than one
	// permit, a non-positive renewal period, an empty claim value...).
	ErrInvalidOption = kv.ErrInvalidOption
	// ErrInvalidTTL: a TTL below MinTTL or above kv.MaxTTL. Errors matching
	// it also match ErrInvalidOption.
	ErrInvalidTTL = kv.ErrInvalidTTL
)
