package concurrency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Session is an identity (a random token) and the TTL keys it owns: the
// queue entries of its locks, semaphores and elections, and the keys it
// claims (Claim). It refreshes each key every third of its TTL (with a little
// jitter) by compare-and-swap on the key's value, resending value and TTL,
// and retries failed refreshes until the key would expire. The session is
// lost, Done closes and Err tells why, as soon as one key is found removed or
// changed by someone else, or is not refreshed before its expiration,
// measured on this machine's clock from the moment the last successful write
// was sent (the server may still show the key, as it reaps late). A claim
// made WithRecreate is the exception: its loss is reported on the claim and
// the key created again, and the session lives on.
//
// A Session is safe for concurrent use. Close it to delete what it owns.
type Session struct {
	kv    *kv.KV
	token string
	ttl   time.Duration
	seq   atomic.Uint64

	// The lifecycle: ctx ends when the session ends, with the reason as its
	// cause (Err); done is closed once every goroutine of the session (the
	// keep-alive loop, the guards of held entries, the claims' event
	// deliveries) has returned.
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
	tasks  sync.WaitGroup

	mu     sync.Mutex
	keys   map[string]*ownedKey
	period time.Duration // refresh interval; 0 while keep-alive is off

	wake   chan struct{}
	frozen atomic.Bool // test hook: the process is "paused"
}

// NewSession returns a session for client with a fresh random identity. It
// sends nothing: keys are created by the recipes that use the session. Its
// background goroutine runs until Close, Orphan or the loss of a key. A TTL
// out of range fails with an error matching ErrInvalidTTL.
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
		kv:    k,
		token: hex.EncodeToString(id[:]),
		ttl:   cfg.ttl,
		keys:  make(map[string]*ownedKey),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	if cfg.keepAlive {
		s.period = cfg.ttl / 3
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	go s.run()
	return s
}

// Token returns the session's identity, a random hex string.
func (s *Session) Token() string { return s.token }

// TTL returns the time to live of the session's keys.
func (s *Session) TTL() time.Duration { return s.ttl }

// Done is closed when the session ends: a key was lost, or Close or Orphan
// was called.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }

// Err returns why the session ended: an error matching ErrSessionExpired
// when a key was lost, ErrSessionClosed after Close or Orphan, nil while it
// is alive.
func (s *Session) Err() error {
	if s.ctx.Err() == nil {
		return nil
	}
	return context.Cause(s.ctx)
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

// Close ends the session, waits for its goroutines, and deletes every key
// it still owns (compare-and-delete on its value, so a key taken over by
// someone else is left alone). It waits at most the TTL (5 s at most) for
// the deletes; keys it could not delete expire on their own.
func (s *Session) Close() error {
	s.end(ErrSessionClosed)
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), min(s.ttl, 5*time.Second))
	defer cancel()
	var errs []error
	for _, k := range s.owned() {
		if err := s.release(ctx, k.key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Orphan stops refreshing the session's keys without deleting them, as if
// the process had crashed: other contenders take over once the keys expire.
// The session ends (Done closes, Err matches ErrSessionClosed) at once.
func (s *Session) Orphan() {
	s.end(ErrSessionClosed)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, k := range s.keys {
		k.released = true
		delete(s.keys, name)
	}
}

// end ends the session with err as the reason, unless it ended already. It
// does not wait: the goroutines of the session see ctx end and return on
// their own (Close and Orphan wait for them). It holds mu so that spawn
// never starts a goroutine once the keep-alive loop may be waiting for them.
func (s *Session) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancel(err)
	s.poke()
}

// spawn runs fn in a goroutine of the session, which Close and Orphan wait
// for; fn must return soon after s.ctx ends. It reports false, without
// running fn, when the session has ended.
func (s *Session) spawn(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return false
	}
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		fn()
	}()
	return true
}

// bound returns ctx, ended also when the session ends; its cause then says
// which ended (the caller's context error, or the session's Err).
func (s *Session) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	bctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.ctx, func() { cancel(s.Err()) })
	return bctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

// newToken returns a token unique to one queue entry of this session.
func (s *Session) newToken() string {
	return s.token + "-" + strconv.FormatUint(s.seq.Add(1), 10)
}

// poke wakes the keep-alive loop to look at its keys again.
func (s *Session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
