package concurrency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// Mutex is a fair distributed lock: a queue of in-order keys under prefix,
// owned by a session. The entry with the lowest createdIndex holds the lock;
// each waiter watches only the entry just ahead of it. The holder's
// createdIndex is its fencing token: pass it to the resources the lock
// protects so they can reject a holder that lost the lock without knowing.
//
// A Mutex value is one contender: Lock, TryLock and Unlock must not be
// called concurrently on it (they are serialised), and it is not reentrant
// (Lock on a held Mutex returns at once; one Unlock releases).
type Mutex struct {
	s      *Session
	prefix string
	owner  string
	err    error // invalid prefix

	op sync.Mutex // serialises Lock, TryLock and Unlock

	mu        sync.Mutex
	t         *ticket // our entry while queued or holding
	held      bool
	lost      chan struct{}
	lostErr   error
	lostOnce  *sync.Once
	guardStop context.CancelFunc
	guardDone chan struct{}
}

// NewMutex returns a mutex on prefix (used as a directory of queue entries;
// never deleted) for session s. Option: WithOwner.
func NewMutex(s *Session, prefix string, opts ...MutexOption) *Mutex {
	var cfg mutexConfig
	for _, o := range opts {
		o.applyMutex(&cfg)
	}
	clean, err := cleanPrefix(prefix)
	return &Mutex{s: s, prefix: clean, owner: cfg.owner, err: err, lost: make(chan struct{}), lostOnce: new(sync.Once)}
}

// Lock waits until the mutex is held or ctx ends. A waiter whose context
// ends, or whose session is lost, removes its queue entry before returning.
// Lock never reports success with an entry that may have expired (its
// session's deadline is checked after the entry reaches the head).
func (m *Mutex) Lock(ctx context.Context) error {
	return m.acquire(ctx, true)
}

// TryLock takes the mutex if nobody holds it, else removes its entry and
// fails with an error matching ErrLocked (naming the holder's owner). An
// expired holder the server has not reaped yet is removed first.
func (m *Mutex) TryLock(ctx context.Context) error {
	return m.acquire(ctx, false)
}

// Unlock releases the mutex by compare-and-delete on its entry's token. It
// fails with ErrNotLocked if this Mutex does not hold it, and with an error
// matching ErrLockLost if the holding was lost before (the entry is then
// cleaned up all the same).
func (m *Mutex) Unlock(ctx context.Context) error {
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	t, held := m.t, m.held
	m.mu.Unlock()
	if !held {
		return ErrNotLocked
	}
	m.stopGuard()
	lostErr := m.lostReason()
	m.mu.Lock()
	m.t, m.held = nil, false
	m.mu.Unlock()
	err := t.remove(ctx)
	if lostErr != nil {
		return fmt.Errorf("%w: %w", ErrLockLost, lostErr)
	}
	if err != nil {
		return fmt.Errorf("mutex: unlocking %s: %w", t.key, err)
	}
	return nil
}

// Key returns the key of this contender's queue entry, "" before Lock.
func (m *Mutex) Key() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.t == nil {
		return ""
	}
	return m.t.key
}

// FencingToken returns the createdIndex of the held entry, 0 when not held.
// Tokens strictly increase from one holder of the mutex to the next.
func (m *Mutex) FencingToken() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.held {
		return 0
	}
	return m.t.created
}

// IsOwner reports whether this Mutex holds the lock: acquired, not lost,
// and its entry refreshed within the TTL.
func (m *Mutex) IsOwner() bool {
	m.mu.Lock()
	t, held := m.t, m.held
	m.mu.Unlock()
	return held && m.lostReason() == nil && m.s.alive(t.key)
}

// Lost returns a channel closed when the current holding is lost: the entry
// was deleted or expired behind the holder's back (seen by a watch on it) or
// the session was lost or closed. It is never closed by Unlock. Each
// acquisition gets a new channel.
func (m *Mutex) Lost() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lost
}

// Holder returns the entry at the head of the queue (who holds the mutex),
// or ErrNotLocked when the queue is empty.
func (m *Mutex) Holder(ctx context.Context) (*Entry, error) {
	if m.err != nil {
		return nil, m.err
	}
	return head(ctx, m.s.kv, m.prefix, ErrNotLocked)
}

// head returns the first entry of the queue at dir, or none when empty.
func head(ctx context.Context, k *kv.KV, dir string, none error) (*Entry, error) {
	nodes, _, err := listQueue(ctx, k, dir)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, none
	}
	return entryOf(nodes[0]), nil
}

func (m *Mutex) acquire(ctx context.Context, block bool) error {
	if m.err != nil {
		return m.err
	}
	m.op.Lock()
	defer m.op.Unlock()
	if m.IsOwner() {
		return nil
	}
	m.dropStale()
	t, err := enqueue(ctx, m.s, m.prefix, envelope{Owner: m.owner})
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.t = t
	m.mu.Unlock()
	var index uint64
	if block {
		index, err = t.wait(ctx, 1)
	} else {
		index, err = t.try(ctx, 1, ErrLocked)
	}
	if err != nil {
		t.abandon()
		m.mu.Lock()
		m.t = nil
		m.mu.Unlock()
		return err
	}
	m.hold(t, index)
	return nil
}

// dropStale clears a holding that was lost and never unlocked.
func (m *Mutex) dropStale() {
	m.mu.Lock()
	t, held := m.t, m.held
	m.mu.Unlock()
	if !held {
		return
	}
	m.stopGuard()
	t.abandon()
	m.mu.Lock()
	m.t, m.held = nil, false
	m.mu.Unlock()
}

// hold records the acquisition and starts watching our own entry, so a
// deletion behind our back is noticed at once, not at the next refresh.
func (m *Mutex) hold(t *ticket, index uint64) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.mu.Lock()
	m.held = true
	m.lost, m.lostErr, m.lostOnce = make(chan struct{}), nil, new(sync.Once)
	m.guardStop, m.guardDone = cancel, done
	m.mu.Unlock()
	go func() {
		defer close(done)
		if err := guard(ctx, m.s, t.key, index); err != nil {
			m.markLost(err)
		}
	}()
}

func (m *Mutex) stopGuard() {
	m.mu.Lock()
	stop, done := m.guardStop, m.guardDone
	m.guardStop, m.guardDone = nil, nil
	m.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (m *Mutex) markLost(err error) {
	m.mu.Lock()
	once, ch := m.lostOnce, m.lost
	m.mu.Unlock()
	once.Do(func() {
		m.mu.Lock()
		m.lostErr = err
		m.mu.Unlock()
		close(ch)
	})
}

func (m *Mutex) lostReason() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lostErr
}

// guard watches our own entry from index and returns why it was lost, or
// nil when ctx ends first.
func guard(ctx context.Context, s *Session, key string, index uint64) error {
	for attempt := 0; ; {
		stream, err := watch.Watch(ctx, s.kv, key, watch.WithAfterIndex(index))
		if err != nil {
			return nil // only the context ends a watch with a given index
		}
		reason, again := guardStream(ctx, s, key, stream)
		stream.Close()
		if !again {
			return reason
		}
		// The watch ended without a verdict (history cleared, or the client
		// closed): re-read, backing off while reads fail.
		resp, err := s.kv.Get(ctx, key)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, kv.ErrKeyNotFound):
			return fmt.Errorf("%w: %s is gone", ErrSessionExpired, key)
		case err == nil:
			index, attempt = resp.Index, 0
			continue
		}
		attempt++
		t := time.NewTimer(retryDelay(attempt, time.Second))
		select {
		case <-t.C:
		case <-s.Done():
			t.Stop()
			return s.Err()
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// guardStream follows one watch stream; again means it ended without a
// verdict and must be restarted.
func guardStream(ctx context.Context, s *Session, key string, stream *watch.Stream) (reason error, again bool) {
	for {
		select {
		case ev, ok := <-stream.Events():
			if !ok {
				return nil, ctx.Err() == nil
			}
			if ev.IsDelete() {
				return fmt.Errorf("%w: %s was removed (%s)", ErrSessionExpired, key, ev.Action), false
			}
		case <-s.Done():
			return s.Err(), false
		case <-ctx.Done():
			return nil, false
		}
	}
}
