package concurrency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// How a lock waiter learns that the lock is its own without reading the
// queue again (the handover rule).
//
// A waiter watches only the entry just ahead of it, its predecessor. When the
// predecessor goes away, the waiter is first only if every entry ahead of
// the predecessor was gone too. Entries created later have higher
// createdIndexes and queue behind us, so the set of entries ahead can only
// shrink; but a predecessor that was itself still waiting (and gave up,
// crashed or expired) may leave while an older entry still holds the lock.
//
// So an entry's removal says which it was:
//
//   - An entry whose contender reached the head of the queue (the session
//     marked it held, see markHeld) is removed by a plain compare-and-delete
//     on its value: Unlock, Resign, Release, or the session's cleanup.
//     Every entry ahead of it was gone when it reached the head, so its
//     compare-and-delete hands the lock to the waiter behind it.
//   - Every other removal first marks the entry leaving (a compare-and-swap
//     to the same envelope with Leaving set and a one-second TTL), then
//     deletes it: a waiter giving up, a TryLock that failed, a session closed
//     while waiting, copies of an entry left by a create with an unknown
//     outcome, and expired entries removed by another contender (evict).
//
// The waiter therefore takes the lock on its predecessor's compare-and-delete
// of an envelope not marked leaving, and on any other sign of it going away
// (the leaving mark, an expire, a plain delete) reads the queue again. An
// entry that expires is never taken for a handover: nobody knows whether it
// held. The fencing token stays sound: the holder is always the entry with
// the lowest createdIndex still queued, so tokens strictly increase from
// one holder to the next. Leaving entries are skipped by every reader of
// the queue (listQueue) and by Observe.
//
// What the waiter does not re-check is its own entry: one deleted behind its
// back while it waited (outside the protocol: by hand) is noticed right after
// the handover by the holding's guard, whose first poll starts at our last
// write and so finds that delete in the history, and by the next refresh.

// retireTTL is the TTL a leaving entry gets: if its delete fails, it goes
// away soon on its own.
const retireTTL = time.Second

// leavingValue returns value (an envelope) marked leaving.
func leavingValue(value string) string {
	env := decodeEnvelope(value)
	env.Leaving = true
	return env.encode()
}

// retire removes our queue entry key, holding value, that never reached the
// head: it marks the entry leaving, then deletes it. It has the signature of
// deleteOwned, for release.
func retire(ctx context.Context, k *kv.KV, key, value string) error {
	mark := leavingValue(value)
	b := newBackoff(writeRetryMin, writeRetryMax)
	for {
		_, err := k.CompareAndSwap(ctx, key, mark, kv.WithPrevValue(value), kv.WithTTL(retireTTL))
		switch {
		case errors.Is(err, kv.ErrKeyNotFound):
			return nil
		case err == nil, errors.Is(err, kv.ErrTestFailed):
			// Marked now, or by an earlier attempt whose outcome was unknown,
			// or changed by someone else: the delete compares on the mark.
			return deleteOwned(ctx, k, key, mark)
		case ctx.Err() != nil || !retryable(err) || !pause(ctx, b):
			return fmt.Errorf("concurrency: retiring %s: %w", key, err)
		}
	}
}

// expiredPast reports whether n's expiration passed more than the skew
// margin ago: it is dead, only not reaped yet.
func expiredPast(n *kv.Node, now time.Time) bool {
	return n.Expired(now.Add(-expirySkew))
}

// evict removes the entries of nodes that expired more than the skew margin
// ago and are not reaped yet, each only if it was not refreshed since we read
// it (compare on its modifiedIndex), marking it leaving first. It reports
// whether it found any.
func evict(ctx context.Context, k *kv.KV, nodes []*kv.Node, now time.Time) bool {
	found := false
	for _, n := range nodes {
		if !expiredPast(n, now) {
			continue
		}
		found = true
		resp, err := k.CompareAndSwap(ctx, n.Key, leavingValue(n.Value), kv.WithPrevIndex(n.ModifiedIndex), kv.WithTTL(retireTTL))
		if err == nil {
			_, _ = k.CompareAndDelete(ctx, n.Key, kv.WithPrevIndex(resp.Node.ModifiedIndex))
		}
	}
	return found
}
