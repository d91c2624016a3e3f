package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// changeBuffer is how many cache changes a follower holds; it drains them at
// once, so this only smooths bursts of sibling events.
const changeBuffer = 64

// follower keeps a list-then-watch cache of one directory and wakes the
// computation when one of its keys changes.
type follower struct {
	dir   string
	keys  map[string]bool
	cache atomic.Pointer[watch.Cache] // nil until the first listing

	// Guarded by Value.mu.
	listed bool  // a cache is running
	err    error // why the last cache failed, until a new one lists
}

func newFollower(dir string, keys []string) *follower {
	f := &follower{dir: dir, keys: make(map[string]bool, len(keys))}
	for _, k := range keys {
		f.keys[k] = true
	}
	return f
}

// follow runs caches of the directory until ctx ends. A cache that stops
// with an error (the watch package re-lists by itself after the history was
// cleared, so this is rarer) is replaced by a new listing after a backoff;
// until then the old cache's content is served and the Value is stale.
func (v *Value[T]) follow(ctx context.Context, f *follower) {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(100*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second),
		backoff.WithMaxElapsedTime(0),
	)
	for {
		err := v.runCache(ctx, f, b)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, kv.ErrClosed) {
			v.stop(fmt.Errorf("config: following %s: %w", f.dir, err))
			return
		}
		v.publish(func(*state[T]) { f.listed, f.err = false, err })
		v.logAt(slog.LevelWarn, "config: watch failed, listing again", "dir", f.dir, "err", err)
		if !wait.Sleep(ctx, b.NextBackOff()) {
			return
		}
	}
}

// runCache lists the directory and follows it until the cache stops,
// returning why.
func (v *Value[T]) runCache(ctx context.Context, f *follower, b backoff.BackOff) error {
	// NewCache retries its listing while the cluster does not answer, so it
	// returns only once listed, on an error the server answered, or when
	// ctx ends.
	c, err := watch.NewCache(ctx, v.client, f.dir, watch.WithChanges(changeBuffer))
	if err != nil {
		return err
	}
	defer c.Close()
	f.cache.Store(c)
	v.publish(func(*state[T]) { f.listed, f.err = true, nil })
	b.Reset()
	v.poke()
	for ch := range c.Changes() {
		if f.keys[ch.Key] {
			v.poke()
		}
	}
	if err := c.Err(); err != nil {
		return err
	}
	return fmt.Errorf("config: the cache of %s stopped", f.dir)
}

// stop ends the Value for good, keeping its last value readable.
func (v *Value[T]) stop(err error) {
	v.publish(func(*state[T]) { v.fatal = err })
	v.logAt(slog.LevelError, "config: stopped", "err", err)
	v.cancel()
}
