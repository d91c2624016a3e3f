package concurrency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// guard watches the held entry until the holding ends, and marks it lost
// when the entry is deleted or expires behind the holder's back, or when the
// session ends. It is one long poll for as long as nothing happens to the
// entry: only our own refreshes (one per refresh period) and the end of the
// server's hold answer it, and it is polled again from there. A release
// marks the holding ending before it deletes the entry, so the guard takes
// that delete for what it is, and then cancels it (errReleased) in case it
// is still running; nobody waits for it but the session's end.
func (h *holding) guard(ctx context.Context, s *Session) {
	key := h.t.key
	for next := h.index + 1; ; {
		resp, err := nextEvent(ctx, s.kv, key, false, next, time.Time{})
		switch {
		case ctx.Err() != nil:
			if cause := context.Cause(ctx); !errors.Is(cause, errReleased) {
				h.markLost(cause)
			}
			return
		case errors.Is(err, errHistoryCleared):
			next, err = resync(ctx, s.kv, key)
			if err != nil && ctx.Err() == nil {
				h.markLost(err)
				return
			}
		case resp.Node == nil:
			continue
		case removal(resp.Action):
			h.markLost(fmt.Errorf("%w: %s was removed (%s)", ErrSessionExpired, key, resp.Action))
			return
		default:
			next = resp.Node.ModifiedIndex + 1
		}
	}
}

// resync reads key after its watch lost track (history cleared) and returns
// the index to watch from, retrying failed reads until ctx ends. A missing
// key is the holding's loss.
func resync(ctx context.Context, k *kv.KV, key string) (uint64, error) {
	b := newBackoff(pollRetryMin, pollRetryMax)
	for {
		resp, err := k.Get(ctx, key)
		switch {
		case err == nil:
			return resp.Index + 1, nil
		case errors.Is(err, kv.ErrKeyNotFound):
			return 0, fmt.Errorf("%w: %s is gone", ErrSessionExpired, key)
		}
		if !pause(ctx, b) {
			return 0, context.Cause(ctx)
		}
	}
}

// removal reports whether an event's action removed its key.
func removal(action string) bool {
	switch action {
	case kv.ActionDelete, kv.ActionCompareAndDelete, kv.ActionExpire:
		return true
	}
	return false
}
