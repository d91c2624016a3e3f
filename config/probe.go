package config

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
)

// errBehind is a probe's finding that the value does not reflect what a
// read returned yet.
var errBehind = errors.New("config: the watch has not caught up with the store")

// stuckProbes is how many probes in a row must find the value behind before
// a Value that is not stale becomes so: once is a write racing the read,
// every time for this long is a watch that stopped delivering.
const stuckProbes = 3

// probe reads the keys every interval. A watch is served from one node's
// local state and keeps working without quorum (docs/protocol.md §13.3),
// and the watch package retries a failing poll quietly, so only reads tell
// whether the cluster answers. A failed read makes the Value stale, and so
// does a value found behind the reads stuckProbes times in a row (a watch
// that stopped delivering); it is fresh again once a read succeeds and the
// value reflects what it returned.
func (v *Value[T]) probe(ctx context.Context) {
	every := v.s.probeInterval
	if every == 0 {
		return
	}
	retry := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(min(50*time.Millisecond, every)),
		backoff.WithMaxInterval(every),
		backoff.WithMaxElapsedTime(0),
	)
	pause, behind := every, 0
	for wait.Sleep(ctx, pause) {
		err := v.probeOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		behind = countBehind(behind, err)
		switch {
		case errors.Is(err, kv.ErrClosed):
			v.stop(fmt.Errorf("config: probing: %w", err))
			return
		case behind > 0 && behind < stuckProbes && !v.Stale():
			err = nil // probably a write that raced the read
		}
		v.mu.Lock()
		changed := (err == nil) != (v.probeErr == nil)
		v.mu.Unlock()
		if changed || err != nil {
			v.publish(func(*state[T]) { v.probeErr = err })
		}
		if err == nil {
			retry.Reset()
			pause = every
		} else {
			pause = retry.NextBackOff()
		}
	}
}

func countBehind(n int, err error) int {
	if errors.Is(err, errBehind) {
		return n + 1
	}
	return 0
}

// probeOnce reads every key, within one interval, and checks the caches
// against the answers.
func (v *Value[T]) probeOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, v.s.probeInterval)
	defer cancel()
	k := v.client.KV()
	for i, key := range v.keys {
		node, index, err := readKey(ctx, k, key)
		if err != nil {
			return fmt.Errorf("config: probing %s: %w", key, err)
		}
		if !v.caughtUp(i, node, index) {
			return errBehind
		}
	}
	return nil
}

// readKey returns the key's node (nil when it does not exist) and the store
// index of the read.
func readKey(ctx context.Context, k *kv.KV, key string) (*kv.Node, uint64, error) {
	resp, err := k.Get(ctx, key)
	if err == nil {
		return resp.Node, resp.Index, nil
	}
	var se *kv.Error
	if errors.As(err, &se) && (errors.Is(err, kv.ErrKeyNotFound) || errors.Is(err, kv.ErrNotDir)) {
		return nil, se.Index, nil
	}
	return nil, 0, err
}

// caughtUp reports whether the published value reflects a read of key i at
// index: the reading it was computed from was taken at index or later, or
// saw the same node (or none).
func (v *Value[T]) caughtUp(i int, node *kv.Node, index uint64) bool {
	layers := v.cur.Load().layers
	if layers == nil {
		return false
	}
	l := layers[i]
	switch {
	case l.seenAt >= index:
		return true
	case node == nil || !l.exists:
		return node == nil && !l.exists
	}
	return l.index == node.ModifiedIndex
}
