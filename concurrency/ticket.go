package concurrency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// ticket is a session's place in a queue: the in-order key it keeps alive.
type ticket struct {
	s       *Session
	dir     string
	key     string
	token   string
	value   string
	created uint64
}

// enqueue creates a queue entry under dir holding env, owned by s. When the
// create's outcome is unknown it looks for the entry's token in the queue
// instead of creating blindly; only a listing that does not show the token
// allows another create (with the same token, so a late copy of the first
// one is recognised and removed by position).
func enqueue(ctx context.Context, s *Session, dir string, env envelope) (*ticket, error) {
	env.Token = s.newToken()
	t := &ticket{s: s, dir: dir, token: env.Token, value: env.encode()}
	var first time.Time // the first send that may have created the entry
	for {
		if err := s.Err(); err != nil {
			return nil, err
		}
		sent := time.Now()
		if first.IsZero() {
			first = sent
		}
		resp, err := s.kv.CreateInOrder(ctx, dir, t.value, kv.WithTTL(s.ttl))
		if err == nil {
			t.key, t.created = resp.Node.Key, resp.Node.CreatedIndex
			return t, t.adopt(sent, resp.Node.ModifiedIndex)
		}
		if !errors.Is(err, kv.ErrUnknownOutcome) {
			if ctx.Err() != nil {
				t.abandon() // an earlier attempt may have been applied
			}
			return nil, fmt.Errorf("concurrency: queueing under %s: %w", dir, err)
		}
		n, ferr := t.find(ctx)
		if ferr != nil {
			t.abandon()
			return nil, fmt.Errorf("concurrency: queueing under %s: looking for our entry after %w: %w", dir, err, ferr)
		}
		if n != nil {
			t.key, t.created = n.Key, n.CreatedIndex
			return t, t.adopt(first, n.ModifiedIndex)
		}
	}
}

// adopt hands the entry to the session's keep-alive. If the session ended
// meanwhile the entry is removed.
func (t *ticket) adopt(sent time.Time, index uint64) error {
	if err := t.s.own(t.key, t.value, sent, index, nil); err != nil {
		t.abandon()
		return err
	}
	return nil
}

// find lists the queue (retrying until ctx ends) and returns the entry
// carrying our token, nil if the listing does not show it.
func (t *ticket) find(ctx context.Context) (*kv.Node, error) {
	b := newBackoff(pollRetryMin, writeRetryMax)
	for {
		nodes, _, err := listQueue(ctx, t.s.kv, t.dir)
		if err == nil {
			for _, n := range nodes {
				if entryOf(n).Token == t.token {
					return n, nil
				}
			}
			return nil, nil
		}
		if ctx.Err() != nil || !pause(ctx, b) {
			return nil, err
		}
	}
}

// remove releases the entry: a compare-and-delete on its value once it was
// held, else a retirement (see retire).
func (t *ticket) remove(ctx context.Context) error {
	if t.key == "" {
		return nil
	}
	return t.s.release(ctx, t.key)
}

// abandon removes every entry carrying our token, with a fresh short
// context: the caller's context may be over, but a waiter that gives up must
// not leave its entry behind.
func (t *ticket) abandon() {
	ctx, cancel := context.WithTimeout(context.Background(), min(t.s.ttl, 5*time.Second))
	defer cancel()
	if t.key != "" {
		if t.remove(ctx) == nil {
			return
		}
	}
	nodes, _, err := listQueue(ctx, t.s.kv, t.dir)
	if err != nil {
		return // the entry, if any, expires within the TTL
	}
	for _, n := range nodes {
		if entryOf(n).Token == t.token {
			_ = retire(ctx, t.s.kv, n.Key, n.Value)
		}
	}
}

// position reads the queue once and returns the entries in queue order,
// the position of ours among them, and the index of the listing. Copies of
// our entry left by an earlier create with an unknown outcome are retired on
// the way.
func (t *ticket) position(ctx context.Context) (queue []*kv.Node, pos int, index uint64, err error) {
	nodes, index, err := listQueue(ctx, t.s.kv, t.dir)
	if err != nil {
		return nil, 0, 0, err
	}
	pos = -1
	kept := nodes[:0:0]
	for _, n := range nodes {
		switch {
		case n.Key == t.key:
			pos = len(kept)
			kept = append(kept, n)
		case entryOf(n).Token == t.token:
			_ = retire(ctx, t.s.kv, n.Key, n.Value)
		default:
			kept = append(kept, n)
		}
	}
	if pos < 0 {
		if err := t.s.Err(); err != nil {
			return nil, 0, index, err
		}
		return nil, 0, index, fmt.Errorf("%w: %s", ErrQueueEntryRemoved, t.key)
	}
	return kept, pos, index, nil
}

// take makes the entry at pos of queue ours to hold: the session marks it
// held (failing if it may have expired), and with several slots the waiter
// just behind us, if any, is told we took one by a refresh of our entry (a
// write it sees on its watch). A failed touch only delays that waiter until
// our next keep-alive refresh.
func (t *ticket) take(ctx context.Context, queue []*kv.Node, pos, slots int) error {
	if err := t.s.markHeld(t.key); err != nil {
		return err
	}
	if slots > 1 && pos+1 < len(queue) {
		_ = t.s.touch(ctx, t.key)
	}
	return nil
}
