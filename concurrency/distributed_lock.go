package concurrency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// DistributedLock is the README's lock: a Mutex on key with its own Session,
// plus renewal controls. Defaults: TTL DefaultTTL (15 s), automatic renewal
// on, every third of the TTL. With renewal off (WithAutoRenewal(false) or
// StopAutoRenewal) a held lock expires one TTL after it was acquired or last
// renewed; Renew and StartAutoRenewal keep it. While Lock waits, the
// waiter's queue entry is always kept alive.
//
// Every acquisition creates a fresh session; Unlock ends it, without waiting
// for its goroutines (they return on their own within moments). A
// DistributedLock value is one contender, safe for concurrent use (Lock,
// TryLock and Unlock are serialised).
type DistributedLock struct {
	client Client
	key    string
	owner  string
	ttl    time.Duration
	err    error // invalid option

	op sync.Mutex // serialises Lock, TryLock and Unlock

	mu        sync.Mutex
	session   *Session // while held
	mutex     *Mutex   // while held
	autoRenew bool
	period    time.Duration // requested renewal period, 0: TTL/3
	stopCtx   func() bool   // ends the StartAutoRenewal context watch
	renewGen  uint64        // counts StartAutoRenewal calls; a stale context's callback is ignored
}

// LockInfo describes a DistributedLock as this client sees it.
type LockInfo struct {
	// Key is the lock's key (the directory of its queue).
	Key string
	// Owner is the owner string this client announces.
	Owner string
	// Held reports whether this client holds the lock.
	Held bool
	// TTL is the time to live of the lock's key.
	TTL time.Duration
	// LastIndex is the store index of the last write on the held entry
	// (its creation or latest renewal); 0 when not held.
	LastIndex uint64
	// FencingToken is the held entry's createdIndex; 0 when not held.
	FencingToken uint64
	// EntryKey is the held queue entry, e.g. "/locks/my-resource/1234".
	EntryKey string
	// ExpiresAt is when the held entry expires unless renewed, on this
	// machine's clock (conservative: counted from when the last write was sent).
	ExpiresAt time.Time
	// AutoRenewal reports whether the held lock is renewed in the background.
	AutoRenewal bool
}

// NewDistributedLock returns a lock on key announcing owner to other
// clients. It sends nothing; an invalid option is reported by Lock and
// TryLock. Options: WithTTL, WithAutoRenewal, WithRenewalPeriod.
func NewDistributedLock(c Client, key, owner string, opts ...LockOption) *DistributedLock {
	cfg := lockConfig{ttl: DefaultTTL, autoRenew: true}
	for _, o := range opts {
		o.applyLock(&cfg)
	}
	return &DistributedLock{client: c, key: key, owner: owner, ttl: cfg.ttl, err: cfg.err, autoRenew: cfg.autoRenew, period: cfg.period}
}

// Lock waits until the lock is held or ctx ends. When ctx's deadline passes
// the error matches both ErrLockTimeout and context.DeadlineExceeded. Lock on
// a lock this value already holds returns nil at once.
func (l *DistributedLock) Lock(ctx context.Context) error {
	return l.acquire(ctx, true)
}

// TryLock takes the lock if nobody holds it; otherwise it fails at once
// with an error matching ErrLockAlreadyHeld that names the holder's owner.
func (l *DistributedLock) TryLock(ctx context.Context) error {
	return l.acquire(ctx, false)
}

// Unlock releases the lock (compare-and-delete on the entry's token) and
// stops its renewal. It fails with ErrLockNotHeld when this value does not
// hold the lock, and with an error matching ErrLockLost when the lock was
// lost meanwhile.
func (l *DistributedLock) Unlock(ctx context.Context) error {
	l.op.Lock()
	defer l.op.Unlock()
	l.mu.Lock()
	s, m := l.session, l.mutex
	l.session, l.mutex = nil, nil
	l.mu.Unlock()
	if m == nil {
		return fmt.Errorf("%w: %s", ErrLockNotHeld, l.key)
	}
	err := m.Unlock(ctx)
	if err != nil {
		_ = s.Close() // delete what Unlock could not
	} else {
		s.end(ErrSessionClosed) // nothing left to delete or to wait for
	}
	if errors.Is(err, ErrNotLocked) {
		return fmt.Errorf("%w: %s", ErrLockNotHeld, l.key)
	}
	return err
}

// IsHeld reports whether this value holds the lock: acquired, not lost, and
// renewed within the TTL.
func (l *DistributedLock) IsHeld() bool {
	l.mu.Lock()
	m := l.mutex
	l.mu.Unlock()
	return m != nil && m.Held()
}

// Info describes the lock as this client sees it.
func (l *DistributedLock) Info() LockInfo {
	l.mu.Lock()
	s, m := l.session, l.mutex
	info := LockInfo{Key: l.key, Owner: l.owner, TTL: l.ttl, AutoRenewal: l.autoRenew}
	l.mu.Unlock()
	if m == nil {
		return info
	}
	info.Held = m.Held()
	info.EntryKey = m.Key()
	info.FencingToken = m.FencingToken()
	if idx, deadline, ok := s.keyState(info.EntryKey); ok {
		info.LastIndex, info.ExpiresAt = idx, deadline
	}
	return info
}

// Lost returns a channel closed when the held lock is lost (see
// Mutex.Lost); nil, which blocks forever, when the lock is not held.
func (l *DistributedLock) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mutex == nil {
		return nil
	}
	return l.mutex.Lost()
}

// FencingToken returns the held entry's createdIndex (0 when not held):
// strictly increasing from one holder to the next.
func (l *DistributedLock) FencingToken() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mutex == nil {
		return 0
	}
	return l.mutex.FencingToken()
}

// Holder returns who holds the lock (the head of its queue, with its Owner),
// or an error matching ErrNotLocked when nobody does.
func (l *DistributedLock) Holder(ctx context.Context) (*Entry, error) {
	clean, err := kv.CleanKey(l.key)
	if err != nil {
		return nil, err
	}
	return head(ctx, l.client.KV(), clean, ErrNotLocked)
}

// WithLock runs fn while holding the lock on key: Lock, fn, Unlock. The
// unlock is attempted even if ctx ended during fn. If the lock was lost
// while fn ran, the error matches ErrLockLost.
func WithLock(ctx context.Context, c Client, key, owner string, fn func() error, opts ...LockOption) error {
	return WithFencedLock(ctx, c, key, owner, func(context.Context, uint64) error { return fn() }, opts...)
}

// WithFencedLock is WithLock for work that writes somewhere else: fn gets the
// lock's fencing token, to pass along with every write so the storage can
// refuse a write from an older holder, and a context that ends when the lock
// is lost (or ctx ends), so fn can stop early. If the lock was lost while fn
// ran, the error matches ErrLockLost.
func WithFencedLock(ctx context.Context, c Client, key, owner string, fn func(ctx context.Context, token uint64) error, opts ...LockOption) error {
	l := NewDistributedLock(c, key, owner, opts...)
	if err := l.Lock(ctx); err != nil {
		return err
	}
	held, cancel := context.WithCancel(ctx)
	lost, ended := l.Lost(), make(chan struct{})
	go func() {
		defer close(ended)
		select {
		case <-lost:
			cancel()
		case <-held.Done():
		}
	}()
	ferr := fn(held, l.FencingToken())
	cancel()
	<-ended
	uctx, cancelUnlock := context.WithTimeout(context.WithoutCancel(ctx), min(l.ttl, 10*time.Second))
	defer cancelUnlock()
	return errors.Join(ferr, l.Unlock(uctx))
}

func (l *DistributedLock) acquire(ctx context.Context, block bool) error {
	if l.err != nil {
		return l.err
	}
	l.op.Lock()
	defer l.op.Unlock()
	if l.IsHeld() {
		return nil
	}
	l.dropStale()
	s := newSession(l.client.KV(), sessionConfig{ttl: l.ttl, keepAlive: true})
	m := NewMutex(s, l.key, WithOwner(l.owner))
	var err error
	if block {
		err = m.Lock(ctx)
	} else {
		err = m.TryLock(ctx)
	}
	if err != nil {
		_ = s.Close()
		return l.acquireError(ctx, err)
	}
	l.mu.Lock()
	l.session, l.mutex = s, m
	auto, period := l.autoRenew, l.period
	l.mu.Unlock()
	if auto {
		s.setKeepAlive(renewalPeriod(l.ttl, period))
	} else {
		s.setKeepAlive(0)
		_ = s.Refresh(ctx) // start the unrenewed lifetime with a full TTL
	}
	return nil
}

// dropStale forgets a holding that was lost and never unlocked.
func (l *DistributedLock) dropStale() {
	l.mu.Lock()
	s, m := l.session, l.mutex
	l.session, l.mutex = nil, nil
	l.mu.Unlock()
	if m != nil {
		_ = m.Unlock(context.Background())
		_ = s.Close()
	}
}

func (l *DistributedLock) acquireError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, ErrLocked):
		owner := "unknown"
		if h, herr := l.Holder(ctx); herr == nil {
			owner = fmt.Sprintf("%q", h.Owner)
		}
		return fmt.Errorf("%w: %s (holder %s): %w", ErrLockAlreadyHeld, l.key, owner, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %s: %w", ErrLockTimeout, l.key, err)
	}
	return fmt.Errorf("lock: %s: %w", l.key, err)
}

func (l *DistributedLock) lostError(m *Mutex) error {
	if reason := m.lostErr(); reason != nil {
		return fmt.Errorf("%w: %s: %w", ErrLockLost, l.key, reason)
	}
	return fmt.Errorf("%w: %s: not renewed within its TTL", ErrLockLost, l.key)
}
