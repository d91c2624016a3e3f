package concurrency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/marsevilspirit/deimos-client/kv"
)

// ownedKey is one key the session keeps alive. Its fields are guarded by
// Session.mu; write serialises the writes on the key (refresh, value change,
// re-creation, release), so a refresh never compares against a value being
// replaced.
type ownedKey struct {
	write sync.Mutex
	key   string
	claim *Claim // nil for queue entries

	value     string
	maybe     string    // a value an update with an unknown outcome may have stored, "" if none
	index     uint64    // modifiedIndex of our last write
	deadline  time.Time // local clock: when the key may have expired
	refreshAt time.Time // next refresh (or, when lost, next re-creation attempt)
	retry     *backoff.ExponentialBackOff
	entry     bool   // a queue entry: its value is an envelope
	held      bool   // a queue entry whose contender reached the head (see release)
	lost      bool   // a claim made WithRecreate whose key is being re-created
	busy      bool   // a refresh or re-creation of the keep-alive is in flight
	conflict  uint64 // createdIndex of the other owner's key last reported
	released  bool
}

// own starts keeping key alive. sent is when the write that gave the key its
// current TTL was sent (the key expires no earlier than sent+TTL on the
// server's clock), index its modifiedIndex. claim is nil for queue entries.
func (s *Session) own(key, value string, sent time.Time, index uint64, claim *Claim) error {
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return s.Err()
	}
	if _, taken := s.keys[key]; taken {
		s.mu.Unlock()
		return fmt.Errorf("session: %s is already owned by this session: %w", key, ErrInvalidOption)
	}
	k := &ownedKey{key: key, claim: claim, entry: claim == nil, retry: newBackoff(100*time.Millisecond, s.ttl/6)}
	s.keys[key] = k
	s.recordWrite(k, value, sent, index)
	if claim != nil {
		claim.k = k
	}
	s.mu.Unlock()
	s.poke()
	return nil
}

// recordWrite records a successful write of value on k. The caller holds mu.
func (s *Session) recordWrite(k *ownedKey, value string, sent time.Time, index uint64) {
	k.value, k.maybe, k.index = value, "", index
	k.deadline = sent.Add(s.ttl)
	k.refreshAt = sent.Add(jitter(s.refreshInterval()))
	k.retry.Reset()
}

// adoptWrite records a successful write of value on k.
func (s *Session) adoptWrite(k *ownedKey, value string, sent time.Time, index uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordWrite(k, value, sent, index)
}

func (s *Session) owned() []*ownedKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*ownedKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k)
	}
	return out
}

func (s *Session) lookup(key string) (*ownedKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[key]
	return k, ok
}

func (s *Session) isLost(k *ownedKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return k.lost
}

// alive reports whether key is owned and not possibly expired.
func (s *Session) alive(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[key]
	return ok && !k.lost && s.ctx.Err() == nil && time.Now().Before(k.deadline)
}

// keyState returns the last index and the local deadline of an owned key.
func (s *Session) keyState(key string) (index uint64, deadline time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[key]
	if !ok {
		return 0, time.Time{}, false
	}
	return k.index, k.deadline, true
}

// markHeld records that the contender of the queue entry key reached the
// head of its queue, after checking that the entry cannot have expired
// meanwhile (a paused process must not believe it holds a lock its entry
// lost). From then on its removal is a plain compare-and-delete, which tells
// the next waiter the lock is its own (see awaitTurn).
func (s *Session) markHeld(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Err(); err != nil {
		return err
	}
	k, ok := s.keys[key]
	if !ok || k.released || !time.Now().Before(k.deadline) {
		return fmt.Errorf("%w: %s may have expired before it reached the head of the queue", ErrSessionExpired, key)
	}
	k.held = true
	return nil
}

// forgotten is what release needs to know of a key it stopped keeping.
type forgotten struct {
	value, maybe      string
	entry, held, lost bool
}

// forget stops keeping key alive, waiting for a write in flight. It returns
// the key's last state, and false if the session did not own it.
func (s *Session) forget(key string) (forgotten, bool) {
	k, ok := s.lookup(key)
	if !ok {
		return forgotten{}, false
	}
	k.write.Lock()
	defer k.write.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.released {
		return forgotten{}, false
	}
	k.released = true
	delete(s.keys, key)
	return forgotten{value: k.value, maybe: k.maybe, entry: k.entry, held: k.held, lost: k.lost}, true
}

// release forgets key and deletes it, retrying until ctx ends. A queue entry
// whose contender never reached the head is retired (marked, then deleted)
// so the waiter behind it does not take its removal for a handover. A key
// already gone is not an error; a lost claim is only forgotten.
func (s *Session) release(ctx context.Context, key string) error {
	k, ok := s.forget(key)
	if !ok || k.lost {
		return nil
	}
	remove := deleteOwned
	if k.entry && !k.held {
		remove = retire
	}
	err := remove(ctx, s.kv, key, k.value)
	if errors.Is(err, kv.ErrTestFailed) && k.maybe != "" {
		return remove(ctx, s.kv, key, k.maybe)
	}
	return err
}

// deleteOwned removes key if it still holds value. A write whose outcome is
// unknown is retried: a second compare-and-delete of a deleted key answers
// "not found", which is success here.
func deleteOwned(ctx context.Context, k *kv.KV, key, value string) error {
	b := newBackoff(writeRetryMin, writeRetryMax)
	for {
		_, err := k.CompareAndDelete(ctx, key, kv.WithPrevValue(value))
		switch {
		case err == nil, errors.Is(err, kv.ErrKeyNotFound):
			return nil
		case errors.Is(err, kv.ErrTestFailed):
			return fmt.Errorf("session: %s was changed by someone else, left in place: %w", key, err)
		case ctx.Err() != nil || !retryable(err) || !pause(ctx, b):
			return fmt.Errorf("session: deleting %s: %w", key, err)
		}
	}
}

// retryable reports whether a failed write may succeed if sent again: its
// outcome was unknown or no endpoint answered.
func retryable(err error) bool {
	return errors.Is(err, kv.ErrUnknownOutcome) || errors.Is(err, kv.ErrClusterUnavailable)
}

// touch refreshes one owned key now, so its watchers see a write.
func (s *Session) touch(ctx context.Context, key string) error {
	k, ok := s.lookup(key)
	if !ok {
		return nil
	}
	_, err := s.refreshKey(ctx, k)
	return err
}
