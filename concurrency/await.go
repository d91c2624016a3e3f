package concurrency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// errHistoryCleared: the index a poll needed has left the server's history;
// the queue must be read again.
var errHistoryCleared = errors.New("concurrency: watch history cleared")

// quickEmpty is how long the server must have held a long poll for its
// empty answer to be the routine end of a hold; a faster one is treated as
// a failure, so a broken node cannot make a loop spin.
const quickEmpty = time.Second

// wait blocks until our entry is among the first slots of the queue, the
// session ends, or ctx ends (the error is then the context's). It reads the
// queue once, then waits for the entries ahead (see awaited); a lock waiter
// whose predecessor hands the lock over takes it without reading the queue
// again (see the handover rule in retire.go).
func (t *ticket) wait(ctx context.Context, slots int) error {
	wctx, stop := t.s.bound(ctx)
	defer stop()
	b := newBackoff(pollRetryMin, writeRetryMax)
	for {
		queue, pos, index, err := t.position(wctx)
		switch {
		case wctx.Err() != nil:
			return context.Cause(wctx)
		case err != nil && !transientRead(t.s, err):
			return err
		case err != nil:
			// The transport already tried every endpoint: back off, re-read.
			if !pause(wctx, b) {
				return context.Cause(wctx)
			}
			continue
		case pos < slots:
			return t.take(wctx, queue, pos, slots)
		}
		b.Reset()
		preds, anyChange := awaited(queue, pos, slots)
		if evict(wctx, t.s.kv, preds, time.Now()) {
			continue
		}
		turn, err := t.await(wctx, preds, index, anyChange, slots == 1)
		switch {
		case err != nil:
			return err
		case turn:
			return t.take(wctx, nil, 0, slots)
		}
	}
}

// try reads the queue once: our entry is in place if it is among the first
// slots, else the attempt fails with busy. Expired, unreaped entries ahead
// of us are removed and the queue read once more.
func (t *ticket) try(ctx context.Context, slots int, busy error) error {
	for retried := false; ; retried = true {
		queue, pos, _, err := t.position(ctx)
		switch {
		case err != nil:
			return err
		case pos < slots:
			return t.take(ctx, queue, pos, slots)
		case !retried && evict(ctx, t.s.kv, queue[:pos], time.Now()):
			continue
		}
		return fmt.Errorf("%w: %s has %d contenders ahead", busy, t.dir, pos)
	}
}

// transientRead reports whether a failed queue read is worth repeating: the
// session is alive, our entry was not missing and the server did not reject
// the read itself (e.g. the lock key is a file).
func transientRead(s *Session, err error) bool {
	var se *kv.Error
	return s.Err() == nil && !errors.Is(err, ErrQueueEntryRemoved) && !errors.As(err, &se)
}

// awaited returns the entries whose removal may let the entry at pos in
// queue take one of the first slots, and whether any write on them (not
// only their removal) must end the wait. A lock waiter awaits the entry just
// ahead of it. With several slots, the first waiter awaits every holder (any
// one leaving frees a slot for it), and a later waiter awaits the entry just
// ahead of it, including that entry's taking a slot (the holder touches its
// entry then, see take): the waiter is then first and must await every
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

// await follows preds from the listing at index until one of them goes
// away or expires (by the skew margin, so the caller evicts it), or, with
// anyChange, is written at all. One entry is watched alone, so a release
// wakes one waiter; several (the holders awaited by the first waiter of a
// semaphore) through a recursive watch of the queue. With handover, turn
// reports the single predecessor's handover: the slot is ours. Otherwise
// the queue must be read again.
func (t *ticket) await(ctx context.Context, preds []*kv.Node, index uint64, anyChange, handover bool) (turn bool, err error) {
	watched := make(map[string]*kv.Node, len(preds))
	for _, p := range preds {
		watched[p.Key] = p
	}
	key, recursive := preds[0].Key, len(preds) > 1
	if recursive {
		key = t.dir
	}
	for next := index + 1; ; {
		resp, err := nextEvent(ctx, t.s.kv, key, recursive, next, deathOf(watched))
		switch {
		case errors.Is(err, errHistoryCleared), err == nil && (resp == nil || resp.Node == nil):
			return false, nil
		case err != nil:
			return false, err
		}
		next = resp.Node.ModifiedIndex + 1
		verdict := judge(resp, watched, recursive && isChild(t.dir, resp.Node.Key), anyChange)
		switch {
		case verdict == handedOver:
			return handover && len(preds) == 1, nil
		case verdict == reread:
			return false, nil
		}
	}
}

// verdict is what an event on the awaited entries means.
type verdict int

const (
	keepWaiting verdict = iota // a refresh, or another waiter's entry
	handedOver                 // the predecessor released the lock it held
	reread                     // anything else: read the queue again
)

// judge reads one event on the awaited entries (or, under a recursive watch,
// on a sibling entry when sibling), updating watched with refreshed nodes.
func judge(resp *kv.Response, watched map[string]*kv.Node, sibling, anyChange bool) verdict {
	n := resp.Node
	if _, ok := watched[n.Key]; !ok {
		if sibling {
			return keepWaiting
		}
		return reread
	}
	switch resp.Action {
	case kv.ActionCompareAndDelete:
		if resp.PrevNode != nil && !leaving(resp.PrevNode) {
			return handedOver
		}
	case kv.ActionUpdate, kv.ActionCompareAndSwap:
		if leaving(n) || anyChange {
			return reread
		}
		watched[n.Key] = n // refreshed: its new expiration
		return keepWaiting
	}
	return reread
}

// deathOf returns when the first of the watched entries may be evicted:
// its expiration plus the skew margin; zero if none expires.
func deathOf(watched map[string]*kv.Node) time.Time {
	var first time.Time
	for _, n := range watched {
		if n.Expiration == nil {
			continue
		}
		if dead := n.Expiration.Add(expirySkew); first.IsZero() || dead.Before(first) {
			first = dead
		}
	}
	return first
}

// nextEvent long-polls key (and, with recursive, the keys below it) for the
// first event at or after index. It returns nil when until (unless zero)
// passes first, an error matching errHistoryCleared when index has left the
// server's history, and the cause of ctx when it ends. Failed polls are
// retried with backoff; an empty answer (the server ended its hold) is
// polled again at once, or with backoff if it came too fast for a hold.
func nextEvent(ctx context.Context, k *kv.KV, key string, recursive bool, index uint64, until time.Time) (*kv.Response, error) {
	pctx, cancel := ctx, context.CancelFunc(func() {})
	if !until.IsZero() {
		pctx, cancel = context.WithDeadline(ctx, until)
	}
	defer cancel()
	b := newBackoff(pollRetryMin, pollRetryMax)
	for {
		began := time.Now()
		resp, err := k.WaitEvent(pctx, key, index, recursive)
		switch {
		case err == nil && resp != nil:
			return resp, nil
		case ctx.Err() != nil:
			return nil, context.Cause(ctx)
		case pctx.Err() != nil:
			return nil, nil
		case errors.Is(err, kv.ErrEventIndexCleared):
			return nil, fmt.Errorf("%w: %w", errHistoryCleared, err)
		case err == nil && time.Since(began) >= quickEmpty:
			b.Reset()
			continue
		}
		if !pause(pctx, b) {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, nil
		}
	}
}
