// Package wait holds the one way the SDK's loops pause between attempts: a
// jittered exponential backoff (cenkalti/backoff, the SDK's only backoff) and
// a sleep that ends with its context.
package wait

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// NewBackoff returns an exponential backoff from min to max with the default
// ±50 % jitter, so contending clients spread out instead of retrying in
// lockstep, and no overall deadline: the caller's context bounds the loop.
func NewBackoff(min, max time.Duration) *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(min),
		backoff.WithMaxInterval(max),
		backoff.WithMaxElapsedTime(0),
	)
}

// Sleep waits for d and reports true, or reports false as soon as ctx ends.
// Unlike time.Sleep it never outlives a cancelled caller.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
