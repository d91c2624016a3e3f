package concurrency

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/marsevilspirit/deimos-client/internal/wait"
)

// Bounds of the package's retry loops. Every loop that waits and retries
// paces itself with newBackoff: exponential with ±50 % jitter, so the
// contenders of a queue that failed together do not retry in lockstep.
const (
	writeRetryMin = 50 * time.Millisecond // compare-and-delete/swap, creates
	writeRetryMax = time.Second
	pollRetryMin  = 50 * time.Millisecond // long polls and queue reads
	pollRetryMax  = 2 * time.Second
)

// newBackoff returns the SDK's jittered exponential backoff from lo to hi,
// which never gives up: the loops using it end with their context.
func newBackoff(lo, hi time.Duration) *backoff.ExponentialBackOff {
	return wait.NewBackoff(lo, max(lo, hi))
}

// pause waits for b's next interval and reports false if ctx ended first.
func pause(ctx context.Context, b backoff.BackOff) bool {
	return wait.Sleep(ctx, b.NextBackOff())
}

// jitter returns period shortened by up to a tenth, at random: keys that
// were written together are refreshed apart, and never later than asked.
func jitter(period time.Duration) time.Duration {
	return period - rand.N(period/10+1)
}
