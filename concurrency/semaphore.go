package concurrency

import (
	"context"
	"fmt"
)

// Semaphore is a counting semaphore with a fixed number of permits on a
// queue of in-order keys under prefix: the first permits entries hold one
// each, the others wait in order. The first waiter watches the holders (any
// one leaving frees a permit); each later waiter watches only the entry just
// ahead of it, which touches its entry when it takes a permit. Every
// contender of a prefix must use the same number of permits.
//
// A Semaphore value is one contender: Acquire, TryAcquire and Release are
// serialised.
type Semaphore struct {
	contender
}

var semaphoreRules = rules{busy: ErrNoPermit, notHeld: ErrNotAcquired, verb: "semaphore: releasing"}

// NewSemaphore returns a semaphore with permits permits (at least one) on
// prefix for session s. Option: WithOwner.
func NewSemaphore(s *Session, prefix string, permits int, opts ...MutexOption) *Semaphore {
	m := &Semaphore{}
	m.init(s, prefix, permits, semaphoreRules, opts)
	if m.err == nil && permits < 1 {
		m.err = fmt.Errorf("semaphore: %d permits (want at least 1): %w", permits, ErrInvalidOption)
	}
	return m
}

// Acquire waits until this contender holds a permit or ctx ends (its entry
// is then removed). Acquire while holding a permit returns nil at once.
func (m *Semaphore) Acquire(ctx context.Context) error { return m.acquire(ctx, "", true) }

// TryAcquire takes a permit if one is free, else removes its entry and
// fails with an error matching ErrNoPermit.
func (m *Semaphore) TryAcquire(ctx context.Context) error { return m.acquire(ctx, "", false) }

// Release gives the permit back. It fails with ErrNotAcquired when this
// contender holds none.
func (m *Semaphore) Release(ctx context.Context) error { return m.release(ctx) }
