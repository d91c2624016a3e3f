package watch

import (
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
)

// ErrInvalidOption is returned for an option value that cannot work, such as
// a negative buffer size. It is kv.ErrInvalidOption, the one sentinel for bad
// options in every package of the SDK.
var ErrInvalidOption = kv.ErrInvalidOption

// Option configures a Stream or a Cache.
type Option interface {
	applyWatch(*config)
}

type config struct {
	recursive  bool
	afterIndex uint64
	hasAfter   bool
	buffer     int
	minBackoff time.Duration
	maxBackoff time.Duration
	quickEmpty time.Duration
}

func defaultConfig() config {
	return config{
		buffer:     64,
		minBackoff: 50 * time.Millisecond,
		maxBackoff: 2 * time.Second,
		quickEmpty: time.Second,
	}
}

func (c *config) validate() error {
	switch {
	case c.buffer < 0:
		return fmt.Errorf("watch: %w: buffer size must not be negative", ErrInvalidOption)
	case c.minBackoff <= 0 || c.maxBackoff < c.minBackoff:
		return fmt.Errorf("watch: %w: backoff bounds must be positive and ordered", ErrInvalidOption)
	}
	return nil
}

type optionFunc func(*config)

func (f optionFunc) applyWatch(c *config) { f(c) }

// RecursiveOption is the value returned by WithRecursive.
type RecursiveOption struct{}

func (RecursiveOption) applyWatch(c *config) { c.recursive = true }

// WithRecursive watches the key and every key below it.
func WithRecursive() RecursiveOption { return RecursiveOption{} }

// AfterIndexOption is the value returned by WithAfterIndex and WithWaitIndex.
type AfterIndexOption struct {
	index   uint64
	fromNow bool
}

func (o AfterIndexOption) applyWatch(c *config) { c.afterIndex, c.hasAfter = o.index, !o.fromNow }

// WithAfterIndex delivers the events with an index greater than i, replaying
// them from the server's history when they already happened. Pass the Index
// of a read or a write to continue exactly where it left off.
func WithAfterIndex(i uint64) AfterIndexOption { return AfterIndexOption{index: i} }

// WithWaitIndex delivers the events with an index of at least i (the server's
// waitIndex). WithWaitIndex(0) means "from now", like no option at all.
func WithWaitIndex(i uint64) AfterIndexOption {
	if i == 0 {
		return AfterIndexOption{fromNow: true}
	}
	return AfterIndexOption{index: i - 1}
}

// WithBufferSize sets how many undelivered events a Stream holds before it
// stops polling (default 64). Zero makes the stream poll only while the
// consumer is ready to receive.
func WithBufferSize(n int) Option { return optionFunc(func(c *config) { c.buffer = n }) }

// WithBackoff bounds the exponential backoff between failed polls
// (default 50 ms to 2 s).
func WithBackoff(min, max time.Duration) Option {
	return optionFunc(func(c *config) { c.minBackoff, c.maxBackoff = min, max })
}

// newBackoff returns the exponential backoff, with jitter and no end, that
// streams and caches wait by between failed attempts.
func (c *config) newBackoff() *backoff.ExponentialBackOff {
	return wait.NewBackoff(c.minBackoff, c.maxBackoff)
}
