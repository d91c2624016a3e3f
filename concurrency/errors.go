package concurrency

import "errors"

// Session errors.
var (
	// ErrSessionExpired: a key of the session could not be refreshed before
	// its expiration, or was found removed or changed by someone else. The
	// session is over; anything held through it is lost.
	ErrSessionExpired = errors.New("session: a key of the session expired or was removed")
	// ErrSessionClosed: the session was closed (or orphaned) by its owner.
	ErrSessionClosed = errors.New("session: closed")
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

// ErrInvalidOption: an option value that cannot work (a non-positive TTL,
// fewer than one permit...).
var ErrInvalidOption = errors.New("concurrency: invalid option")
