package concurrency

import "context"

// Mutex is a fair distributed lock: a queue of in-order keys under prefix,
// owned by a session. The entry with the lowest createdIndex holds the lock;
// each waiter watches only the entry just ahead of it, and takes the lock
// when that entry's holder releases it (no second read of the queue). The
// holder's createdIndex is its fencing token: pass it to the resources the
// lock protects so they can reject a holder that lost the lock without
// knowing.
//
// A Mutex value is one contender: Lock, TryLock and Unlock must not be
// called concurrently on it (they are serialised), and it is not reentrant
// (Lock on a held Mutex returns at once; one Unlock releases).
type Mutex struct {
	contender
}

var mutexRules = rules{busy: ErrLocked, notHeld: ErrNotLocked, lost: ErrLockLost, verb: "mutex: unlocking"}

// NewMutex returns a mutex on prefix (used as a directory of queue entries;
// never deleted) for session s. Option: WithOwner.
func NewMutex(s *Session, prefix string, opts ...MutexOption) *Mutex {
	m := &Mutex{}
	m.init(s, prefix, 1, mutexRules, opts)
	return m
}

// Lock waits until the mutex is held or ctx ends. A waiter whose context
// ends, or whose session is lost, removes its queue entry before returning.
// Lock never reports success with an entry that may have expired (its
// session's deadline is checked after the entry reaches the head).
func (m *Mutex) Lock(ctx context.Context) error { return m.acquire(ctx, "", true) }

// TryLock takes the mutex if nobody holds it, else removes its entry and
// fails with an error matching ErrLocked. An expired holder the server has
// not reaped yet is removed first.
func (m *Mutex) TryLock(ctx context.Context) error { return m.acquire(ctx, "", false) }

// Unlock releases the mutex by compare-and-delete on its entry's token,
// which hands it to the next waiter. It does not wait for the holding's
// guard to stop. It fails with ErrNotLocked if this Mutex does not hold it,
// and with an error matching ErrLockLost if the holding was lost before
// (the entry is then cleaned up all the same).
func (m *Mutex) Unlock(ctx context.Context) error { return m.release(ctx) }

// FencingToken returns the createdIndex of the held entry, 0 when not held.
// Tokens strictly increase from one holder of the mutex to the next.
func (m *Mutex) FencingToken() uint64 { return m.createdIndex() }

// Holder returns the entry at the head of the queue (who holds the mutex),
// or ErrNotLocked when the queue is empty.
func (m *Mutex) Holder(ctx context.Context) (*Entry, error) {
	if m.err != nil {
		return nil, m.err
	}
	return head(ctx, m.s.kv, m.dir, ErrNotLocked)
}
