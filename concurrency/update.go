package concurrency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// update replaces the value of an owned key by compare-and-swap on its
// current value, keeping its TTL. A write whose outcome is unknown is sent
// again; if the key then no longer holds the old value, a read tells whether
// our write was applied. A key found gone or changed by someone else is
// lost (see keyLost).
func (s *Session) update(ctx context.Context, key, value string) error {
	k, ok := s.lookup(key)
	if !ok {
		return fmt.Errorf("%w: %s is not owned by the session", ErrSessionExpired, key)
	}
	k.write.Lock()
	defer k.write.Unlock()
	s.mu.Lock()
	old, maybe, lost := k.value, k.maybe, k.lost || k.released
	s.mu.Unlock()
	if lost {
		return fmt.Errorf("%w: %s", ErrClaimLost, key)
	}
	u := valueUpdate{s: s, k: k, old: old, maybe: maybe, value: value}
	return u.run(ctx)
}

// valueUpdate is one update in progress.
type valueUpdate struct {
	s                 *Session
	k                 *ownedKey
	old, maybe, value string
	first             time.Time // the first send that may have applied it
	unsure            bool      // an attempt may have been applied without our knowing
}

func (u *valueUpdate) run(ctx context.Context) error {
	b := newBackoff(writeRetryMin, writeRetryMax)
	for {
		sent := time.Now()
		if u.first.IsZero() {
			u.first = sent
		}
		resp, err := u.s.kv.CompareAndSwap(ctx, u.k.key, u.value, kv.WithPrevValue(u.old), kv.WithTTL(u.s.ttl))
		if err == nil {
			u.s.adoptWrite(u.k, u.value, sent, resp.Node.ModifiedIndex)
			return nil
		}
		if errors.Is(err, kv.ErrTestFailed) && u.resolved(ctx) {
			return nil
		}
		if errors.Is(err, kv.ErrTestFailed) && u.maybe != "" && u.old != u.maybe {
			u.old = u.maybe // an earlier update whose outcome was unknown was applied
			continue
		}
		var se *kv.Error
		u.unsure = u.unsure || !errors.As(err, &se)
		switch {
		case errors.Is(err, kv.ErrTestFailed), errors.Is(err, kv.ErrKeyNotFound):
			return u.s.keyLost(u.k, err)
		case ctx.Err() != nil || !retryable(err) || !pause(ctx, b):
			return u.failed(err)
		}
	}
}

// resolved reads the key after a failed comparison that followed an attempt
// with an unknown outcome, and adopts our value if it is there.
func (u *valueUpdate) resolved(ctx context.Context) bool {
	if !u.unsure {
		return false
	}
	g, err := u.s.kv.Get(ctx, u.k.key)
	if err != nil || g.Node.Value != u.value {
		return false
	}
	u.s.adoptWrite(u.k, u.value, u.first, g.Node.ModifiedIndex)
	return true
}

// failed records, when an update gives up without knowing whether it was
// applied, the value it may have stored: refreshes and the final delete
// then try it when the known value no longer matches, instead of taking the
// mismatch for a loss.
func (u *valueUpdate) failed(err error) error {
	if u.unsure {
		u.s.mu.Lock()
		u.k.maybe = u.value
		u.s.mu.Unlock()
	}
	return fmt.Errorf("session: updating %s: %w", u.k.key, err)
}
