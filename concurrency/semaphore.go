package concurrency

import (
	"context"
	"fmt"
	"sync"
)

// Semaphore is a counting semaphore with a fixed number of permits on a
// queue of in-order keys under prefix: the first permits entries hold one
// each, the others wait in order. The first waiter watches the holders (any
// one leaving frees a permit); each later waiter watches only the entry just
// ahead of it, which touches its entry when it takes a permit. Every
// contender of a prefix must use the same number of permits.
type Semaphore struct {
	s       *Session
	prefix  string
	permits int
	owner   string
	err     error

	op sync.Mutex // serialises Acquire, TryAcquire and Release

	mu   sync.Mutex
	t    *ticket
	held bool
}

// NewSemaphore returns a semaphore with permits permits (at least one) on
// prefix for session s. Option: WithOwner.
func NewSemaphore(s *Session, prefix string, permits int, opts ...MutexOption) *Semaphore {
	var cfg mutexConfig
	for _, o := range opts {
		o.applyMutex(&cfg)
	}
	clean, err := cleanPrefix(prefix)
	if err == nil && permits < 1 {
		err = fmt.Errorf("%w: %d permits (want at least 1)", ErrInvalidOption, permits)
	}
	return &Semaphore{s: s, prefix: clean, permits: permits, owner: cfg.owner, err: err}
}

// Acquire waits until this contender holds a permit or ctx ends (its entry
// is then removed). Acquire while holding a permit returns nil at once.
func (m *Semaphore) Acquire(ctx context.Context) error {
	return m.acquire(ctx, true)
}

// TryAcquire takes a permit if one is free, else removes its entry and
// fails with an error matching ErrNoPermit.
func (m *Semaphore) TryAcquire(ctx context.Context) error {
	return m.acquire(ctx, false)
}

// Release gives the permit back. It fails with ErrNotAcquired when this
// contender holds none.
func (m *Semaphore) Release(ctx context.Context) error {
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	t, held := m.t, m.held
	m.t, m.held = nil, false
	m.mu.Unlock()
	if !held {
		return ErrNotAcquired
	}
	if err := t.remove(ctx); err != nil {
		return fmt.Errorf("semaphore: releasing %s: %w", t.key, err)
	}
	return nil
}

// Held reports whether this contender holds a permit whose entry is alive.
func (m *Semaphore) Held() bool {
	m.mu.Lock()
	t, held := m.t, m.held
	m.mu.Unlock()
	return held && m.s.alive(t.key)
}

// Key returns this contender's entry key, "" when it has none.
func (m *Semaphore) Key() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.t == nil {
		return ""
	}
	return m.t.key
}

func (m *Semaphore) acquire(ctx context.Context, block bool) error {
	if m.err != nil {
		return m.err
	}
	m.op.Lock()
	defer m.op.Unlock()
	if m.Held() {
		return nil
	}
	m.mu.Lock()
	stale := m.t
	m.t, m.held = nil, false
	m.mu.Unlock()
	if stale != nil {
		stale.abandon()
	}
	t, err := enqueue(ctx, m.s, m.prefix, envelope{Owner: m.owner})
	if err != nil {
		return err
	}
	if block {
		_, err = t.wait(ctx, m.permits)
	} else {
		_, err = t.try(ctx, m.permits, ErrNoPermit)
	}
	if err != nil {
		t.abandon()
		return err
	}
	m.mu.Lock()
	m.t, m.held = t, true
	m.mu.Unlock()
	return nil
}
