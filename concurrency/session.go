package concurrency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
)

// Session is an identity (a random token) and the TTL keys it owns. It
// refreshes each key every third of its TTL by compare-and-swap on the key's
// value, resending value and TTL, and retries failed refreshes until the key
// would expire. The session is lost, Done closes and Err tells why, as soon
// as one key is found removed or changed by someone else, or is not refreshed
// before its expiration, measured on this machine's clock from the moment the
// last successful write was sent (the server may still show the key, as it
// reaps late).
//
// A Session is safe for concurrent use. Close it to delete what it owns.
type Session struct {
	kv    *kv.KV
	token string
	ttl   time.Duration
	seq   atomic.Uint64

	mu       sync.Mutex
	keys     map[string]*ownedKey
	period   time.Duration // refresh interval; 0 while keep-alive is off
	err      error         // why the session ended
	finished bool          // done is closed

	wake     chan struct{}
	done     chan struct{}
	stop     chan struct{} // ends the loop
	stopOnce sync.Once
	loopDone chan struct{}
	ctx      context.Context // requests of the loop; cancelled by Close
	cancel   context.CancelFunc

	frozen atomic.Bool // test hook: the process is "paused"
}

// ownedKey is one key the session keeps alive. Its fields are guarded by
// Session.mu; write serialises the writes on the key (refresh, value change,
// release), so a refresh never compares against a value being replaced.
type ownedKey struct {
	write     sync.Mutex
	key       string
	value     string
	maybe     string    // a value an update with an unknown outcome may have stored, "" if none
	index     uint64    // modifiedIndex of our last write
	deadline  time.Time // local clock: when the key may have expired
	refreshAt time.Time
	failures  int
	released  bool
}

// NewSession returns a session for client with a fresh random identity. It
// sends nothing: keys are created by the recipes that use the session. Its
// background goroutine runs until Close, Orphan or the loss of a key.
func NewSession(c Client, opts ...SessionOption) (*Session, error) {
	cfg := sessionConfig{ttl: DefaultTTL, keepAlive: true}
	for _, o := range opts {
		o.applySession(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	return newSession(c.KV(), cfg), nil
}

func newSession(k *kv.KV, cfg sessionConfig) *Session {
	var id [16]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand panics on failure)
	s := &Session{
		kv:       k,
		token:    hex.EncodeToString(id[:]),
		ttl:      cfg.ttl,
		keys:     make(map[string]*ownedKey),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		stop:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	if cfg.keepAlive {
		s.period = cfg.ttl / 3
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s
}

// Token returns the session's identity, a random hex string.
func (s *Session) Token() string { return s.token }

// TTL returns the time to live of the session's keys.
func (s *Session) TTL() time.Duration { return s.ttl }

// Done is closed when the session ends: a key was lost, or Close was called.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended: an error matching ErrSessionExpired
// when a key was lost, ErrSessionClosed after Close or Orphan, nil while it
// is alive.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Refresh refreshes every owned key now. A transient failure is returned but
// does not end the session (the keep-alive retries until the key would
// expire); a key found removed or changed ends it with ErrSessionExpired.
func (s *Session) Refresh(ctx context.Context) error {
	var errs []error
	for _, k := range s.owned() {
		if _, err := s.refreshKey(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops the keep-alive and deletes every key the session still owns
// (compare-and-delete on its value, so a key taken over by someone else is
// left alone). It waits at most the TTL for the deletes; keys it could not
// delete expire on their own.
func (s *Session) Close() error {
	s.halt()
	ctx, cancel := context.WithTimeout(context.Background(), min(s.ttl, 5*time.Second))
	defer cancel()
	var errs []error
	for _, k := range s.owned() {
		if err := s.release(ctx, k.key); err != nil {
			errs = append(errs, err)
		}
	}
	s.finish(ErrSessionClosed)
	return errors.Join(errs...)
}

// Orphan stops refreshing the session's keys without deleting them, as if
// the process had crashed: other contenders take over once the keys expire.
// The session ends (Done closes, Err matches ErrSessionClosed) at once.
func (s *Session) Orphan() {
	s.halt()
	s.mu.Lock()
	for k, ok := range s.keys {
		ok.released = true
		delete(s.keys, k)
	}
	s.mu.Unlock()
	s.finish(ErrSessionClosed)
}

// halt ends the loop and waits for it.
func (s *Session) halt() {
	s.cancel() // a refresh in flight gives up at once
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.loopDone
}

// finish records why the session ended and closes Done, once.
func (s *Session) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return
	}
	s.finished = true
	s.err = err
	close(s.done)
}

// newToken returns a token unique to one queue entry of this session.
func (s *Session) newToken() string {
	return s.token + "-" + strconv.FormatUint(s.seq.Add(1), 10)
}

// own starts keeping key alive. sent is when the write that gave the key its
// current TTL was sent (the key expires no earlier than sent+TTL on the
// server's clock), index its modifiedIndex.
func (s *Session) own(key, value string, sent time.Time, index uint64) error {
	s.mu.Lock()
	if s.finished {
		err := s.err
		s.mu.Unlock()
		return err
	}
	s.keys[key] = &ownedKey{
		key:       key,
		value:     value,
		index:     index,
		deadline:  sent.Add(s.ttl),
		refreshAt: sent.Add(s.refreshInterval()),
	}
	s.mu.Unlock()
	s.poke()
	return nil
}

// refreshInterval is the keep-alive period, or a third of the TTL while
// keep-alive is off (used only to schedule explicit refreshes).
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

// alive reports whether key is owned and not possibly expired.
func (s *Session) alive(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[key]
	return ok && !s.finished && time.Now().Before(k.deadline)
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

func (s *Session) owned() []*ownedKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*ownedKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k)
	}
	return out
}

func (s *Session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// forget stops keeping key alive, waiting for a refresh in flight. It
// returns the key's value and the value an update with an unknown outcome
// may have stored, and false if the session did not own it.
func (s *Session) forget(key string) (value, maybe string, ok bool) {
	s.mu.Lock()
	k, ok := s.keys[key]
	s.mu.Unlock()
	if !ok {
		return "", "", false
	}
	k.write.Lock()
	defer k.write.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	k.released = true
	delete(s.keys, key)
	return k.value, k.maybe, true
}

// release forgets key and deletes it by compare-and-delete on its value (or
// on the value an update with an unknown outcome may have stored), retrying
// until ctx ends. A key already gone is not an error.
func (s *Session) release(ctx context.Context, key string) error {
	value, maybe, ok := s.forget(key)
	if !ok {
		return nil
	}
	err := deleteOwned(ctx, s.kv, key, value)
	if errors.Is(err, kv.ErrTestFailed) && maybe != "" {
		return deleteOwned(ctx, s.kv, key, maybe)
	}
	return err
}

// deleteOwned removes key if it still holds value. A write whose outcome is
// unknown is retried: a second compare-and-delete of a deleted key answers
// "not found", which is success here.
func deleteOwned(ctx context.Context, k *kv.KV, key, value string) error {
	for attempt := 0; ; attempt++ {
		_, err := k.CompareAndDelete(ctx, key, kv.WithPrevValue(value))
		switch {
		case err == nil, errors.Is(err, kv.ErrKeyNotFound):
			return nil
		case errors.Is(err, kv.ErrTestFailed):
			return fmt.Errorf("session: %s was changed by someone else, left in place: %w", key, err)
		case ctx.Err() != nil || !retryable(err):
			return fmt.Errorf("session: deleting %s: %w", key, err)
		}
		if !wait.Sleep(ctx, retryDelay(attempt, time.Second)) {
			return fmt.Errorf("session: deleting %s: %w", key, err)
		}
	}
}

// refreshKey refreshes one key by compare-and-swap on its value with the
// TTL, bounded by the key's deadline. It reports the new modifiedIndex.
func (s *Session) refreshKey(ctx context.Context, k *ownedKey) (uint64, error) {
	k.write.Lock()
	defer k.write.Unlock()
	s.mu.Lock()
	if k.released {
		s.mu.Unlock()
		return 0, nil
	}
	value, maybe, deadline := k.value, k.maybe, k.deadline
	s.mu.Unlock()

	// One refresh may not eat the key's whole remaining life: a hung
	// attempt is abandoned early so the retry (on another node) has time.
	ctx, cancel := context.WithDeadline(ctx, minTime(deadline, time.Now().Add(max(s.ttl/4, 250*time.Millisecond))))
	defer cancel()
	sent := time.Now()
	resp, err := s.kv.CompareAndSwap(ctx, k.key, value, kv.WithPrevValue(value), kv.WithTTL(s.ttl))
	if errors.Is(err, kv.ErrTestFailed) && maybe != "" {
		// An update whose outcome was unknown was applied after all.
		value = maybe
		resp, err = s.kv.CompareAndSwap(ctx, k.key, value, kv.WithPrevValue(value), kv.WithTTL(s.ttl))
	}
	if err == nil {
		s.mu.Lock()
		if value == maybe {
			k.value, k.maybe = maybe, ""
		}
		k.deadline = sent.Add(s.ttl)
		k.refreshAt = sent.Add(s.refreshInterval())
		k.index = resp.Node.ModifiedIndex
		k.failures = 0
		s.mu.Unlock()
		return resp.Node.ModifiedIndex, nil
	}
	if errors.Is(err, kv.ErrKeyNotFound) || errors.Is(err, kv.ErrTestFailed) {
		lost := fmt.Errorf("%w: %s: %w", ErrSessionExpired, k.key, err)
		s.lose(lost)
		return 0, lost
	}
	return 0, fmt.Errorf("session: refreshing %s: %w", k.key, err)
}

// touch refreshes one owned key now, so its watchers see a write.
func (s *Session) touch(ctx context.Context, key string) error {
	s.mu.Lock()
	k, ok := s.keys[key]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	_, err := s.refreshKey(ctx, k)
	return err
}

// lose ends the session because a key was lost: the keep-alive stops and
// the remaining keys are deleted in the background, so they do not block
// others until they expire.
func (s *Session) lose(err error) {
	s.finish(err)
	s.poke()
}

// run is the keep-alive and watchdog loop.
func (s *Session) run() {
	defer close(s.loopDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, next, lost := s.schedule(time.Now())
		if lost != nil {
			s.finish(lost)
			if !errors.Is(s.Err(), ErrSessionClosed) {
				s.cleanupLost()
			}
			return
		}
		for _, k := range due {
			if _, err := s.refreshKey(s.ctx, k); err != nil {
				if errors.Is(err, ErrSessionExpired) {
					break // the next schedule sees the session finished
				}
				s.mu.Lock()
				k.failures++
				k.refreshAt = time.Now().Add(retryDelay(k.failures, s.ttl/6))
				s.mu.Unlock()
			}
		}
		if len(due) > 0 {
			continue
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-s.wake:
		case <-s.stop:
			return
		}
	}
}

// schedule returns the keys due for a refresh, when the loop must next wake
// up, and an error if a key's deadline has passed.
func (s *Session) schedule(now time.Time) (due []*ownedKey, next time.Time, lost error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next = now.Add(time.Hour)
	if s.finished {
		return nil, next, s.err
	}
	if s.frozen.Load() {
		return nil, next, nil
	}
	for _, k := range s.keys {
		if !now.Before(k.deadline) {
			return nil, next, fmt.Errorf("%w: %s was not refreshed before its expiration", ErrSessionExpired, k.key)
		}
		next = minTime(next, k.deadline)
		if s.period <= 0 {
			continue
		}
		if !now.Before(k.refreshAt) {
			due = append(due, k)
		} else {
			next = minTime(next, k.refreshAt)
		}
	}
	return due, next, nil
}

// cleanupLost deletes the keys of a lost session that are still there.
func (s *Session) cleanupLost() {
	ctx, cancel := context.WithTimeout(context.Background(), min(s.ttl, 5*time.Second))
	defer cancel()
	for _, k := range s.owned() {
		_ = s.release(ctx, k.key)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// retryDelay is an exponential backoff from 50 ms, capped.
func retryDelay(attempt int, limit time.Duration) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 10)
	return max(min(d, limit), 10*time.Millisecond)
}

// retryable reports whether a failed write may succeed if sent again: its
// outcome was unknown or no endpoint answered.
func retryable(err error) bool {
	return errors.Is(err, kv.ErrUnknownOutcome) || errors.Is(err, kv.ErrClusterUnavailable)
}

// update replaces the value of an owned key by compare-and-swap on its
// current value, keeping its TTL. A write whose outcome is unknown is sent
// again; if the key then no longer holds the old value, a read tells whether
// our write was applied.
func (s *Session) update(ctx context.Context, key, value string) error {
	s.mu.Lock()
	k, ok := s.keys[key]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s is not owned by the session", ErrSessionExpired, key)
	}
	k.write.Lock()
	defer k.write.Unlock()
	s.mu.Lock()
	old, maybe := k.value, k.maybe
	s.mu.Unlock()
	var first time.Time
	unsure := false // an attempt may have been applied without our knowing
	for attempt := 0; ; attempt++ {
		sent := time.Now()
		if first.IsZero() {
			first = sent
		}
		resp, err := s.kv.CompareAndSwap(ctx, key, value, kv.WithPrevValue(old), kv.WithTTL(s.ttl))
		if err == nil {
			s.adoptWrite(k, value, sent, resp.Node.ModifiedIndex)
			return nil
		}
		if errors.Is(err, kv.ErrTestFailed) {
			if unsure {
				if g, gerr := s.kv.Get(ctx, key); gerr == nil && g.Node.Value == value {
					s.adoptWrite(k, value, first, g.Node.ModifiedIndex)
					return nil
				}
			}
			if maybe != "" && old != maybe {
				// An earlier update whose outcome was unknown was applied.
				old = maybe
				continue
			}
		}
		var se *kv.Error
		unsure = unsure || !errors.As(err, &se)
		switch {
		case errors.Is(err, kv.ErrTestFailed), errors.Is(err, kv.ErrKeyNotFound):
			lost := fmt.Errorf("%w: %s: %w", ErrSessionExpired, key, err)
			s.lose(lost)
			return lost
		case ctx.Err() != nil || !retryable(err):
			return s.updateFailed(k, value, unsure, err)
		}
		if !wait.Sleep(ctx, retryDelay(attempt, time.Second)) {
			return s.updateFailed(k, value, unsure, err)
		}
	}
}

// updateFailed records, when an update gives up without knowing whether it
// was applied, the value it may have stored: refreshes and the final delete
// then try it when the known value no longer matches, instead of taking the
// mismatch for a loss.
func (s *Session) updateFailed(k *ownedKey, value string, unsure bool, err error) error {
	if unsure {
		s.mu.Lock()
		k.maybe = value
		s.mu.Unlock()
	}
	return fmt.Errorf("session: updating %s: %w", k.key, err)
}

// adoptWrite records a successful write of value on k.
func (s *Session) adoptWrite(k *ownedKey, value string, sent time.Time, index uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.value, k.maybe, k.index = value, "", index
	k.deadline = sent.Add(s.ttl)
	k.refreshAt = sent.Add(s.refreshInterval())
}
