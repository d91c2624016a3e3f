package concurrency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// run is the keep-alive and watchdog loop: it refreshes each key when due,
// notices keys whose local deadline passed, re-creates lost claims made
// WithRecreate, and once the session ends cleans up and waits for the
// session's other goroutines before closing done.
func (s *Session) run() {
	defer close(s.done)
	defer s.tasks.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for s.ctx.Err() == nil {
		due, expired, next := s.schedule(time.Now())
		for _, k := range expired {
			s.keyLost(k, errNotRefreshed)
		}
		s.service(due)
		if len(expired) > 0 {
			continue
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-s.wake:
		case <-s.ctx.Done():
		}
	}
	if !errors.Is(s.Err(), ErrSessionClosed) {
		s.cleanupLost()
	}
}

// schedule returns the keys due for a refresh (or, for lost claims, a
// re-creation attempt), marking them busy until it is done, the keys whose
// deadline has passed, and when the loop must next wake up.
func (s *Session) schedule(now time.Time) (due, expired []*ownedKey, next time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next = now.Add(time.Hour)
	if s.frozen.Load() {
		return nil, nil, next
	}
	for _, k := range s.keys {
		switch {
		case !k.lost && !now.Before(k.deadline):
			expired = append(expired, k)
		case k.busy:
		case k.lost || s.period > 0:
			if !now.Before(k.refreshAt) {
				k.busy = true
				due = append(due, k)
			} else {
				next = minTime(next, k.refreshAt)
			}
		}
		if !k.lost {
			next = minTime(next, k.deadline)
		}
	}
	return due, expired, next
}

// service refreshes (or re-creates) each due key in a goroutine of its
// own: a key whose write hangs delays neither the others nor the loop's
// watch over their deadlines.
func (s *Session) service(due []*ownedKey) {
	for _, k := range due {
		s.spawn(func() {
			defer s.idle(k)
			if s.isLost(k) {
				s.recreate(k)
				return
			}
			if _, err := s.refreshKey(s.ctx, k); err != nil && !lostKey(err) {
				s.retryLater(k)
			}
		})
	}
}

// idle marks k's refresh done and lets the loop schedule it again.
func (s *Session) idle(k *ownedKey) {
	s.mu.Lock()
	k.busy = false
	s.mu.Unlock()
	s.poke()
}

// lostKey reports whether err says a key was lost (not a transient failure).
func lostKey(err error) bool {
	return errors.Is(err, ErrSessionExpired) || errors.Is(err, ErrClaimLost)
}

// retryLater schedules the next attempt on k after a failed one.
func (s *Session) retryLater(k *ownedKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.refreshAt = time.Now().Add(k.retry.NextBackOff())
}

// refreshKey refreshes one key by compare-and-swap on its value with the
// TTL, bounded by the key's deadline. It reports the new modifiedIndex.
func (s *Session) refreshKey(ctx context.Context, k *ownedKey) (uint64, error) {
	k.write.Lock()
	defer k.write.Unlock()
	s.mu.Lock()
	if k.released || k.lost {
		s.mu.Unlock()
		return 0, nil
	}
	value, maybe, deadline := k.value, k.maybe, k.deadline
	s.mu.Unlock()

	// One refresh may not eat the key's whole remaining life: a hung
	// attempt is abandoned early so the retry (on another node) has time.
	ctx, cancel := context.WithDeadline(ctx, minTime(deadline, time.Now().Add(s.attemptTimeout())))
	defer cancel()
	sent := time.Now()
	resp, err := s.kv.CompareAndSwap(ctx, k.key, value, kv.WithPrevValue(value), kv.WithTTL(s.ttl))
	if errors.Is(err, kv.ErrTestFailed) && maybe != "" {
		// An update whose outcome was unknown was applied after all.
		value = maybe
		resp, err = s.kv.CompareAndSwap(ctx, k.key, value, kv.WithPrevValue(value), kv.WithTTL(s.ttl))
	}
	switch {
	case err == nil:
		s.adoptWrite(k, value, sent, resp.Node.ModifiedIndex)
		return resp.Node.ModifiedIndex, nil
	case errors.Is(err, kv.ErrKeyNotFound), errors.Is(err, kv.ErrTestFailed):
		return 0, s.keyLost(k, err)
	}
	return 0, fmt.Errorf("session: refreshing %s: %w", k.key, err)
}

// attemptTimeout bounds one write of the keep-alive.
func (s *Session) attemptTimeout() time.Duration {
	return max(s.ttl/4, 250*time.Millisecond)
}

// errNotRefreshed is why a key is lost when its local deadline passes.
var errNotRefreshed = errors.New("not refreshed before its expiration")

// keyLost handles a key found gone or changed (cause is the server's
// answer), or past its deadline: a claim made WithRecreate is reported lost
// and queued for re-creation; any other key ends the session (a claim
// reports its loss first). It returns the error for the caller that found
// the loss: matching ErrClaimLost for a claim, ErrSessionExpired otherwise.
func (s *Session) keyLost(k *ownedKey, cause error) error {
	expired := fmt.Errorf("%w: %s: %w", ErrSessionExpired, k.key, cause)
	c := k.claim
	if c == nil {
		s.end(expired)
		return expired
	}
	lost := fmt.Errorf("%w: %s: %w", ErrClaimLost, k.key, cause)
	s.mu.Lock()
	if k.released || k.lost {
		s.mu.Unlock()
		return lost
	}
	index := k.index
	if c.recreate {
		k.lost, k.refreshAt = true, time.Now()
		k.retry.Reset()
	}
	s.mu.Unlock()
	c.emit(KeyEvent{Kind: KeyLost, Key: k.key, Index: index, Err: lost})
	if !c.recreate {
		s.end(expired)
	}
	s.poke()
	return lost
}

// cleanupLost deletes the keys of a lost session that are still there, so
// they do not block others until they expire.
func (s *Session) cleanupLost() {
	ctx, cancel := context.WithTimeout(context.Background(), min(s.ttl, 5*time.Second))
	defer cancel()
	for _, k := range s.owned() {
		_ = s.release(ctx, k.key)
	}
}

// refreshInterval is the keep-alive period, or a third of the TTL while
// keep-alive is off (used only to schedule explicit refreshes). The caller
// holds mu.
func (s *Session) refreshInterval() time.Duration {
	if s.period > 0 {
		return s.period
	}
	return s.ttl / 3
}

// setKeepAlive changes the refresh period; 0 turns keep-alive off (keys
// then live until their expiration unless refreshed explicitly).
func (s *Session) setKeepAlive(period time.Duration) {
	s.mu.Lock()
	s.period = period
	if period > 0 {
		now := time.Now()
		for _, k := range s.keys {
			// The last refresh was at most a period ago or is now due.
			k.refreshAt = minTime(k.refreshAt, now.Add(period))
		}
	}
	s.mu.Unlock()
	s.poke()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
