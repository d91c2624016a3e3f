package concurrency

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Claim is a key a Session created where it was absent and keeps alive: a
// service registration, a lease-like marker of presence. The session
// refreshes it with the rest of its keys, by compare-and-swap on the claim's
// value with the TTL, one write per key per refresh period. The value is the
// claim's identity: nobody else should keep the same key with the same
// value.
//
// It is called a claim, not a lease, because that is what it does on the
// server: it takes a key that nobody holds (a create with prevExist=false),
// and never overwrites a key that another owner holds, not even to get its
// own key back.
//
// Without WithRecreate a claim is like a lock's entry: when its key is lost
// (found removed or changed, or not refreshed before its expiration) the
// whole session ends. With WithRecreate the session reports the loss on
// Events and creates the key again, for as long as it lives.
type Claim struct {
	s        *Session
	key      string
	recreate bool
	k        *ownedKey // set by Session.own

	events   chan KeyEvent
	lost     chan struct{}
	released chan struct{}
	stopOnce sync.Once

	mu      sync.Mutex
	pending []KeyEvent
	notify  chan struct{}
}

// KeyEvent is a change of a claim's fortune, delivered on Claim.Events.
type KeyEvent struct {
	// Kind says what happened.
	Kind KeyEventKind
	// Key is the claimed key.
	Key string
	// Index is, for KeyLost, the modifiedIndex of our last write on the key;
	// for KeyRecreated, the modifiedIndex of the write that got it back; for
	// KeyConflict, the modifiedIndex of the other owner's key.
	Index uint64
	// Err says why the key was lost (it matches ErrClaimLost) or who holds it
	// (it matches ErrKeyTaken); nil for KeyRecreated.
	Err error
}

// KeyEventKind is the kind of a KeyEvent.
type KeyEventKind int

// The kinds of KeyEvent.
const (
	// KeyLost: the key was found removed or changed by someone else, or may
	// have expired before it was refreshed.
	KeyLost KeyEventKind = iota + 1
	// KeyRecreated: the session created the key again (or found it holding
	// our value, written late by a refresh sent during an outage) and keeps
	// it alive once more.
	KeyRecreated
	// KeyConflict: another owner holds the key; it is left alone and the
	// session tries again later.
	KeyConflict
)

// String returns the kind's name.
func (k KeyEventKind) String() string {
	switch k {
	case KeyLost:
		return "lost"
	case KeyRecreated:
		return "recreated"
	case KeyConflict:
		return "conflict"
	}
	return fmt.Sprintf("KeyEventKind(%d)", int(k))
}

// claimEvents is how many events a claim holds for a reader that is late
// when the session ends; while it lives, none is ever dropped.
const claimEvents = 16

// Claim creates key with value and the session's TTL, only if the key does
// not exist, and keeps it alive until Release, Close or its loss. A key that
// exists fails with an error matching ErrKeyTaken (and kv.ErrNodeExist),
// unless it holds value and WithAdopt was given. A create whose outcome is
// unknown is retried until ctx ends (a create cannot apply twice). The value
// must not be empty. Options: WithRecreate, WithAdopt.
func (s *Session) Claim(ctx context.Context, key, value string, opts ...ClaimOption) (*Claim, error) {
	var cfg claimConfig
	for _, o := range opts {
		o.applyClaim(&cfg)
	}
	clean, err := kv.CleanKey(key)
	if err != nil {
		return nil, err
	}
	if value == "" {
		return nil, fmt.Errorf("claim: %s: the value must not be empty (refreshes compare on it): %w", clean, ErrInvalidOption)
	}
	if _, owned := s.lookup(clean); owned {
		return nil, fmt.Errorf("claim: %s is already owned by this session: %w", clean, ErrInvalidOption)
	}
	c := &Claim{
		s: s, key: clean, recreate: cfg.recreate,
		events: make(chan KeyEvent, claimEvents), lost: make(chan struct{}), released: make(chan struct{}),
		notify: make(chan struct{}, 1),
	}
	if !s.spawn(c.deliver) {
		return nil, s.Err()
	}
	if err := c.place(ctx, value, cfg.adopt); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// place creates the key and hands it to the session's keep-alive.
func (c *Claim) place(ctx context.Context, value string, adopt bool) error {
	p := placement{s: c.s, key: c.key, value: value, ours: []string{value}, adopt: adopt}
	res, err := p.place(ctx)
	if err != nil {
		return err
	}
	if err := c.s.own(c.key, value, res.sent, res.index, c); err != nil {
		if c.s.Err() != nil {
			// The session ended meanwhile: take the key back down.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(c.s.ttl, 5*time.Second))
			defer cancel()
			_ = deleteOwned(dctx, c.s.kv, c.key, value)
		}
		return err
	}
	return nil
}

// Key returns the claimed key, cleaned (e.g. "/services/api/n1").
func (c *Claim) Key() string { return c.key }

// Value returns the claim's current value.
func (c *Claim) Value() string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.k.value
}

// Index returns the modifiedIndex of the session's last write on the key
// (its creation, latest refresh or update).
func (c *Claim) Index() uint64 {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.k.index
}

// Update replaces the claim's value by compare-and-swap on the current one,
// keeping the TTL. A write whose outcome is unknown is sent again and, if
// needed, settled by a read. It fails with an error matching ErrClaimLost
// when the key is lost (being re-created, with WithRecreate).
func (c *Claim) Update(ctx context.Context, value string) error {
	if value == "" {
		return fmt.Errorf("claim: %s: the value must not be empty (refreshes compare on it): %w", c.key, ErrInvalidOption)
	}
	return c.s.update(ctx, c.key, value)
}

// Release stops keeping the key alive and deletes it by compare-and-delete
// on its value, so a key another owner holds by now is left alone. Events
// is closed; Lost is not. Release of a claim already released or lost is a
// no-op.
func (c *Claim) Release(ctx context.Context) error {
	c.stop()
	return c.s.release(ctx, c.key)
}

// Lost returns a channel closed when the claim ends without Release: its
// key was lost and the session ended with it (without WithRecreate), or the
// session was closed or lost for another reason.
func (c *Claim) Lost() <-chan struct{} { return c.lost }

// Events returns the claim's events, in order: each loss of the key, each
// re-creation and each conflict with another owner (the last two only with
// WithRecreate). None is dropped while the session lives; the channel is
// closed by Release or when the session ends.
func (c *Claim) Events() <-chan KeyEvent { return c.events }

// stop ends the event delivery, once.
func (c *Claim) stop() { c.stopOnce.Do(func() { close(c.released) }) }

// emit queues ev for delivery; it never blocks the keep-alive.
func (c *Claim) emit(ev KeyEvent) {
	c.mu.Lock()
	c.pending = append(c.pending, ev)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// deliver is the claim's goroutine: it hands the queued events to the
// reader, in order, until Release or the end of the session.
func (c *Claim) deliver() {
	defer close(c.events)
	for {
		ev, ok := c.next()
		if !ok {
			select {
			case <-c.notify:
				continue
			case <-c.released:
				return
			case <-c.s.ctx.Done():
				c.ended()
				return
			}
		}
		select {
		case c.events <- ev:
			c.pop()
		case <-c.released:
			return
		case <-c.s.ctx.Done():
			c.ended()
			return
		}
	}
}

func (c *Claim) next() (KeyEvent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return KeyEvent{}, false
	}
	return c.pending[0], true
}

func (c *Claim) pop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = c.pending[1:]
}

// ended closes Lost when the session ended before Release, after leaving
// the events still queued in the channel's buffer for a late reader.
func (c *Claim) ended() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range c.pending {
		select {
		case c.events <- ev:
		default:
		}
	}
	c.pending = nil
	select {
	case <-c.released:
	default:
		close(c.lost)
	}
}
