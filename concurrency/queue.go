package concurrency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// Entry is one contender in a lock, semaphore or election queue, as stored
// on the server.
type Entry struct {
	// Key is the entry's in-order key, e.g. "/locks/orders/1234".
	Key string
	// Owner is what the contender passed to WithOwner (or NewDistributedLock).
	Owner string
	// Value is the candidate's value in an election; empty for locks.
	Value string
	// Token identifies the entry: its session's token and a sequence number.
	Token string
	// CreatedIndex is the entry's position in the queue and, for the holder
	// of a lock, its fencing token.
	CreatedIndex uint64
	// ModifiedIndex is the index of the entry's last write (creation or
	// refresh).
	ModifiedIndex uint64
	// Expiration is when the entry expires unless refreshed, on the server's
	// clock.
	Expiration *time.Time
}

// envelope is the JSON value of a queue entry.
type envelope struct {
	Token string `json:"token"`
	Owner string `json:"owner,omitempty"`
	Value string `json:"value,omitempty"`
}

func (e envelope) encode() string {
	b, _ := json.Marshal(e) // strings only: cannot fail
	return string(b)
}

// entryOf decodes a queue node. A value that is not an envelope (written by
// another tool) becomes an entry with that value and no token.
func entryOf(n *kv.Node) *Entry {
	e := &Entry{Key: n.Key, CreatedIndex: n.CreatedIndex, ModifiedIndex: n.ModifiedIndex, Expiration: n.Expiration}
	var env envelope
	if err := json.Unmarshal([]byte(n.Value), &env); err != nil || env.Token == "" {
		e.Value = n.Value
		return e
	}
	e.Token, e.Owner, e.Value = env.Token, env.Owner, env.Value
	return e
}

// listQueue returns the entries of dir in queue order (numerically by
// createdIndex, never by key string) and the store index of the listing. A
// missing directory is an empty queue; directories inside it are skipped.
func listQueue(ctx context.Context, k *kv.KV, dir string) ([]*kv.Node, uint64, error) {
	resp, err := k.List(ctx, dir, kv.WithNumericOrder())
	if err != nil {
		var se *kv.Error
		if errors.As(err, &se) && errors.Is(err, kv.ErrKeyNotFound) {
			return nil, se.Index, nil
		}
		return nil, 0, err
	}
	nodes := resp.Node.Nodes[:0:0]
	for _, n := range resp.Node.Nodes {
		if !n.Dir {
			nodes = append(nodes, n)
		}
	}
	return nodes, resp.Index, nil
}

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
// one is recognised and removed by wait).
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
	if err := t.s.own(t.key, t.value, sent, index); err != nil {
		t.abandon()
		return err
	}
	return nil
}

// find lists the queue (retrying until ctx ends) and returns the entry
// carrying our token, nil if the listing does not show it.
func (t *ticket) find(ctx context.Context) (*kv.Node, error) {
	for attempt := 0; ; attempt++ {
		nodes, _, err := listQueue(ctx, t.s.kv, t.dir)
		if err == nil {
			for _, n := range nodes {
				if entryOf(n).Token == t.token {
					return n, nil
				}
			}
			return nil, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if !wait.Sleep(ctx, retryDelay(attempt, time.Second)) {
			return nil, err
		}
	}
}

// remove releases the entry (compare-and-delete on its value).
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
			_ = deleteOwned(ctx, t.s.kv, n.Key, n.Value)
		}
	}
}

// position reads the queue once and returns the entries in queue order,
// the position of ours among them, and the index of the listing. Copies of
// our entry left by an earlier create with an unknown outcome are removed on
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
			_ = deleteOwned(ctx, t.s.kv, n.Key, n.Value)
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

// awaited returns the entries whose removal may let the entry at pos in
// queue take one of the first slots, and whether any write on them (not
// only their removal) must end the wait. A lock waiter awaits the entry just
// ahead of it. With several slots, the first waiter awaits every holder (any
// one leaving frees a slot for it), and a later waiter awaits the entry just
// ahead of it, including that entry's taking a slot (the holder touches its
// entry then, see acquired): the waiter is then first and must await every
// holder in turn.
func awaited(queue []*kv.Node, pos, slots int) (preds []*kv.Node, anyChange bool) {
	switch {
	case slots == 1:
		return queue[pos-1 : pos], false
	case pos == slots:
		return queue[:pos], false
	}
	return queue[pos-1 : pos], true
}

// acquired tells the waiter just behind us, if any, that we took a slot, by
// refreshing our entry (a write it sees on its watch). Only queues with
// several slots need it; a failed touch only delays that waiter until our
// next keep-alive refresh.
func (t *ticket) acquired(ctx context.Context, queue []*kv.Node, pos, slots int) {
	if slots > 1 && pos+1 < len(queue) {
		_ = t.s.touch(ctx, t.key)
	}
}

// wait blocks until our entry is among the first slots of the queue, then
// checks that it cannot have expired meanwhile (a paused process must not
// believe it holds a lock its entry lost). It returns the listing index at
// which the entry was seen in place.
func (t *ticket) wait(ctx context.Context, slots int) (uint64, error) {
	for attempt := 0; ; {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		queue, pos, index, err := t.position(ctx)
		switch {
		case err != nil && !transientRead(ctx, t.s, err):
			return 0, err
		case err != nil:
			// A read that failed for another reason than the context: the
			// transport already tried every endpoint; back off and re-read.
			attempt++
			if !wait.Sleep(ctx, retryDelay(attempt, time.Second)) {
				return 0, ctx.Err()
			}
			continue
		case pos < slots:
			if err := t.verify(); err != nil {
				return 0, err
			}
			t.acquired(ctx, queue, pos, slots)
			return index, nil
		}
		attempt = 0
		preds, anyChange := awaited(queue, pos, slots)
		if t.removeExpired(ctx, preds, time.Now()) {
			continue
		}
		if err := t.waitGone(ctx, preds, index, anyChange); err != nil {
			return 0, err
		}
	}
}

// try reads the queue once: our entry is in place if it is among the first
// slots, else the attempt fails with busy. Expired, unreaped entries ahead
// of us are removed and the queue read once more.
func (t *ticket) try(ctx context.Context, slots int, busy error) (uint64, error) {
	for retried := false; ; retried = true {
		queue, pos, index, err := t.position(ctx)
		switch {
		case err != nil:
			return 0, err
		case pos < slots:
			if err := t.verify(); err != nil {
				return 0, err
			}
			t.acquired(ctx, queue, pos, slots)
			return index, nil
		case !retried && t.removeExpired(ctx, queue[:pos], time.Now()):
			continue
		}
		return 0, fmt.Errorf("%w: %s has %d contenders ahead", busy, t.dir, pos)
	}
}

// transientRead reports whether a failed queue read is worth repeating: the
// context and the session are alive, our entry was not missing and the
// server did not reject the read itself (e.g. the lock key is a file).
func transientRead(ctx context.Context, s *Session, err error) bool {
	var se *kv.Error
	return ctx.Err() == nil && s.Err() == nil && !errors.Is(err, ErrQueueEntryRemoved) && !errors.As(err, &se)
}

// verify fails if our entry may have expired: the session's deadline for it
// has passed or the session has ended.
func (t *ticket) verify() error {
	if t.s.alive(t.key) {
		return nil
	}
	if err := t.s.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s may have expired before it reached the head of the queue", ErrSessionExpired, t.key)
}

// expiredPast reports whether n's expiration passed more than the skew
// margin ago: it is dead, only not reaped yet.
func expiredPast(n *kv.Node, now time.Time) bool {
	return n.Expired(now.Add(-expirySkew))
}

// removeExpired deletes the entries of nodes that expired more than the
// skew margin ago and are not reaped yet, each only if it was not refreshed
// since we read it (compare on its modifiedIndex). It reports whether it
// found any.
func (t *ticket) removeExpired(ctx context.Context, nodes []*kv.Node, now time.Time) bool {
	found := false
	for _, n := range nodes {
		if expiredPast(n, now) {
			found = true
			_, _ = t.s.kv.CompareAndDelete(ctx, n.Key, kv.WithPrevIndex(n.ModifiedIndex))
		}
	}
	return found
}

// waitGone watches preds from index until one of them is deleted or
// expires, or the earliest expiration passes by the skew margin (then the
// caller removes it); with anyChange, any write on them ends the wait too.
// One entry is watched alone, so a release wakes one waiter; several (the
// holders awaited by the first waiter of a semaphore) through a recursive
// watch of the queue.
func (t *ticket) waitGone(ctx context.Context, preds []*kv.Node, index uint64, anyChange bool) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exps := make(map[string]*time.Time, len(preds))
	for _, p := range preds {
		exps[p.Key] = p.Expiration
	}
	key, opts := preds[0].Key, []watch.Option{watch.WithAfterIndex(index)}
	if len(preds) > 1 {
		key, opts = t.dir, append(opts, watch.WithRecursive())
	}
	stream, err := watch.Watch(wctx, t.s.kv, key, opts...)
	if err != nil {
		return err
	}
	defer stream.Close()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(untilDead(earliest(exps)))
		select {
		case ev, ok := <-stream.Events():
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return nil // history cleared or the stream failed: re-read
			}
			if ev.Node == nil {
				return nil
			}
			if _, awaited := exps[ev.Node.Key]; !awaited {
				if len(preds) > 1 && isChild(t.dir, ev.Node.Key) {
					continue // another waiter's entry
				}
				return nil
			}
			if ev.IsDelete() || anyChange {
				return nil
			}
			exps[ev.Node.Key] = ev.Node.Expiration // refreshed: the new expiration
		case <-timer.C:
			return nil
		case <-t.s.Done():
			return t.s.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// earliest returns the soonest of the expirations, nil if none expires.
func earliest(exps map[string]*time.Time) *time.Time {
	var first *time.Time
	for _, e := range exps {
		if e != nil && (first == nil || e.Before(*first)) {
			first = e
		}
	}
	return first
}

// untilDead is how long until an entry expiring at exp may be removed.
func untilDead(exp *time.Time) time.Duration {
	if exp == nil {
		return time.Hour
	}
	return max(time.Until(exp.Add(expirySkew)), time.Millisecond)
}

// isChild reports whether key is directly under dir.
func isChild(dir, key string) bool { return path.Dir(key) == dir }
