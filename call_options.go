package deimos

import (
	"time"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// Per-call option interfaces; see package kv for the full set.
type (
	// GetOption configures Get: WithRecursive, WithSorted.
	GetOption = kv.GetOption
	// SetOption configures Set: WithTTL, WithDir, WithPrevExist,
	// WithPrevValue, WithPrevIndex.
	SetOption = kv.SetOption
	// DeleteOption configures Delete: WithDir, WithRecursive, WithPrevValue,
	// WithPrevIndex.
	DeleteOption = kv.DeleteOption
)

// The option types below embed kv's, so each value satisfies the kv option
// interfaces of every operation it fits (and, as the SDK grows, those of
// other packages, by embedding their option types beside kv's).

// TTLOption is a time to live; see WithTTL.
type TTLOption struct {
	kv.TTLOption
	lockTTL
}

// lockTTL gives concurrency's TTL option its own field name beside kv's.
type lockTTL = concurrency.TTLOption

// WithTTL makes a written key expire ttl after the write: at least one second,
// at most kv.MaxTTL, fractional seconds rounded up (ErrInvalidTTL otherwise).
// Given to NewDistributedLock or WithLock, it is the lock's time to live
// (default concurrency.DefaultTTL, 15 s).
func WithTTL(ttl time.Duration) TTLOption {
	return TTLOption{kv.WithTTL(ttl), concurrency.WithTTL(ttl)}
}

// WithAutoRenewal sets whether a held DistributedLock is renewed in the
// background (default true). Without it the lock expires one TTL after it
// was acquired or last renewed, unless Renew or StartAutoRenewal is called.
func WithAutoRenewal(on bool) concurrency.AutoRenewalOption { return concurrency.WithAutoRenewal(on) }

// WithRenewalPeriod sets how often a DistributedLock is renewed (default a
// third of its TTL; periods of the TTL or more are clamped to half of it).
func WithRenewalPeriod(d time.Duration) concurrency.RenewalPeriodOption {
	return concurrency.WithRenewalPeriod(d)
}

// RecursiveOption selects a whole subtree; see WithRecursive.
type RecursiveOption struct {
	kv.RecursiveOption
	watchRecursive
}

// Aliases give embedded option types of other packages distinct field names
// when their type names coincide with kv's; their methods are promoted all
// the same.
type watchRecursive = watch.RecursiveOption

// WithRecursive makes Get return the whole subtree, Delete remove a
// directory with everything in it, and Watch report changes below the key.
func WithRecursive() RecursiveOption {
	return RecursiveOption{kv.WithRecursive(), watch.WithRecursive()}
}

// SortedOption orders children by key; see WithSorted.
type SortedOption struct{ kv.SortedOption }

// WithSorted returns directory children sorted byte-wise by key.
func WithSorted() SortedOption { return SortedOption{kv.WithSorted()} }

// DirOption targets a directory; see WithDir.
type DirOption struct{ kv.DirOption }

// WithDir makes Set create a directory and lets Delete remove an empty one.
func WithDir() DirOption { return DirOption{kv.WithDir()} }

// PrevValueOption conditions a write on the current value; see WithPrevValue.
type PrevValueOption struct{ kv.PrevValueOption }

// WithPrevValue applies Set or Delete only if the key's current value is
// value (compare-and-swap / compare-and-delete); a mismatch fails with
// ErrTestFailed.
func WithPrevValue(value string) PrevValueOption { return PrevValueOption{kv.WithPrevValue(value)} }

// PrevIndexOption conditions a write on the current ModifiedIndex; see
// WithPrevIndex.
type PrevIndexOption struct{ kv.PrevIndexOption }

// WithPrevIndex applies Set or Delete only if the key's ModifiedIndex is
// index; a mismatch fails with ErrTestFailed.
func WithPrevIndex(index uint64) PrevIndexOption { return PrevIndexOption{kv.WithPrevIndex(index)} }

// PrevExistOption conditions Set on the key's existence; see WithPrevExist.
type PrevExistOption struct{ kv.PrevExistOption }

// WithPrevExist makes Set a create (false; ErrNodeExist if the key exists) or
// an update (true; ErrKeyNotFound if it does not).
func WithPrevExist(exist bool) PrevExistOption { return PrevExistOption{kv.WithPrevExist(exist)} }
