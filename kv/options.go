package kv

import (
	"fmt"
	"strconv"
	"time"
)

// MaxTTL is the longest TTL the client sends. The server keeps expirations as
// nanoseconds since 1970, which overflow after the year 2262, and then
// silently makes the key permanent or already expired (docs/protocol.md
// §11.1), so the client caps TTLs far below that.
const MaxTTL = 10 * 365 * 24 * time.Hour

// params is what the options of one call add up to.
type params struct {
	ttl          time.Duration // 0: no TTL
	prevValue    string
	hasPrevValue bool
	prevIndex    uint64
	prevExist    bool
	hasPrevExist bool
	recursive    bool
	sorted       bool
	numeric      bool
	dir          bool
	err          error // the first invalid option
}

func (p *params) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *params) conditional() bool { return p.hasPrevValue || p.prevIndex > 0 }

// Option interfaces: one per operation. An option value implements every
// interface of the operations it makes sense for; the compiler rejects the
// others. Other packages build their own options by embedding these types, so
// one value can satisfy their interfaces and these.
type (
	// GetOption configures Get: WithRecursive, WithSorted.
	GetOption interface{ applyGet(*params) }
	// ListOption configures List: WithSorted, WithNumericOrder.
	ListOption interface{ applyList(*params) }
	// SetOption configures Set: WithTTL, WithDir, WithPrevValue,
	// WithPrevIndex, WithPrevExist.
	SetOption interface{ applySet(*params) }
	// CreateOption configures Create: WithTTL, WithDir.
	CreateOption interface{ applyCreate(*params) }
	// UpdateOption configures Update: WithTTL.
	UpdateOption interface{ applyUpdate(*params) }
	// CompareAndSwapOption configures CompareAndSwap: WithPrevValue,
	// WithPrevIndex, WithTTL.
	CompareAndSwapOption interface{ applyCompareAndSwap(*params) }
	// CompareAndDeleteOption configures CompareAndDelete: WithPrevValue,
	// WithPrevIndex.
	CompareAndDeleteOption interface{ applyCompareAndDelete(*params) }
	// DeleteOption configures Delete: WithDir, WithRecursive, WithPrevValue,
	// WithPrevIndex.
	DeleteOption interface{ applyDelete(*params) }
	// CreateInOrderOption configures CreateInOrder: WithTTL, WithDir.
	CreateInOrderOption interface{ applyCreateInOrder(*params) }
	// MkdirOption configures Mkdir: WithTTL.
	MkdirOption interface{ applyMkdir(*params) }
)

// TTLOption gives a key a time to live. See WithTTL.
type TTLOption struct{ ttl time.Duration }

// WithTTL makes the key expire ttl after the write. ttl must be at least one
// second and at most MaxTTL; fractional seconds round up. Update and
// CompareAndSwap replace the TTL: without WithTTL the key becomes permanent.
func WithTTL(ttl time.Duration) TTLOption { return TTLOption{ttl: ttl} }

// TTL returns the duration the option was built with.
func (o TTLOption) TTL() time.Duration { return o.ttl }

func (o TTLOption) apply(p *params) {
	if o.ttl < time.Second || o.ttl > MaxTTL {
		p.fail(fmt.Errorf("%w: %v (want 1s to %v)", ErrInvalidTTL, o.ttl, MaxTTL))
		return
	}
	p.ttl = o.ttl
}

// ttlSeconds renders a validated TTL in whole seconds, rounding up so a key
// never expires earlier than asked.
func ttlSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

func (o TTLOption) applySet(p *params)            { o.apply(p) }
func (o TTLOption) applyCreate(p *params)         { o.apply(p) }
func (o TTLOption) applyUpdate(p *params)         { o.apply(p) }
func (o TTLOption) applyCompareAndSwap(p *params) { o.apply(p) }
func (o TTLOption) applyCreateInOrder(p *params)  { o.apply(p) }
func (o TTLOption) applyMkdir(p *params)          { o.apply(p) }

// RecursiveOption reads or deletes a whole subtree. See WithRecursive.
type RecursiveOption struct{}

// WithRecursive makes Get return the whole subtree and Delete remove a
// directory with everything under it.
func WithRecursive() RecursiveOption { return RecursiveOption{} }

func (RecursiveOption) applyGet(p *params)    { p.recursive = true }
func (RecursiveOption) applyDelete(p *params) { p.recursive = true }

// SortedOption asks the server for children in byte-wise key order. See
// WithSorted.
type SortedOption struct{}

// WithSorted returns directory children sorted by key, byte-wise, at every
// level. In-order keys are unpadded numbers, so "/q/1000" sorts before
// "/q/999"; use WithNumericOrder for queues.
func WithSorted() SortedOption { return SortedOption{} }

func (SortedOption) applyGet(p *params)  { p.sorted = true }
func (SortedOption) applyList(p *params) { p.sorted = true }

// NumericOrderOption sorts children by creation. See WithNumericOrder.
type NumericOrderOption struct{}

// WithNumericOrder makes List return children in creation order (by
// CreatedIndex), which is queue order for keys made by CreateInOrder.
func WithNumericOrder() NumericOrderOption { return NumericOrderOption{} }

func (NumericOrderOption) applyList(p *params) { p.numeric = true }

// DirOption makes a write create a directory, or a delete accept one. See
// WithDir.
type DirOption struct{}

// WithDir makes Set, Create and CreateInOrder create a directory (any value is
// ignored) and lets Delete remove an empty directory.
func WithDir() DirOption { return DirOption{} }

func (DirOption) applySet(p *params)           { p.dir = true }
func (DirOption) applyCreate(p *params)        { p.dir = true }
func (DirOption) applyDelete(p *params)        { p.dir = true }
func (DirOption) applyCreateInOrder(p *params) { p.dir = true }

// PrevValueOption makes a write conditional on the current value. See
// WithPrevValue.
type PrevValueOption struct{ value string }

// WithPrevValue applies a write or delete only if the key's current value is
// value. The value must not be empty (the server refuses an empty prevValue).
func WithPrevValue(value string) PrevValueOption { return PrevValueOption{value: value} }

func (o PrevValueOption) apply(p *params) {
	if o.value == "" {
		p.fail(fmt.Errorf("%w: prevValue must not be empty", ErrInvalidOption))
		return
	}
	p.prevValue, p.hasPrevValue = o.value, true
}

func (o PrevValueOption) applySet(p *params)              { o.apply(p) }
func (o PrevValueOption) applyCompareAndSwap(p *params)   { o.apply(p) }
func (o PrevValueOption) applyCompareAndDelete(p *params) { o.apply(p) }
func (o PrevValueOption) applyDelete(p *params)           { o.apply(p) }

// PrevIndexOption makes a write conditional on the key's ModifiedIndex. See
// WithPrevIndex.
type PrevIndexOption struct{ index uint64 }

// WithPrevIndex applies a write or delete only if the key's ModifiedIndex is
// index. Index 0 means "not given" to the server, so it is refused.
func WithPrevIndex(index uint64) PrevIndexOption { return PrevIndexOption{index: index} }

func (o PrevIndexOption) apply(p *params) {
	if o.index == 0 {
		p.fail(fmt.Errorf("%w: prevIndex must be above 0", ErrInvalidOption))
		return
	}
	p.prevIndex = o.index
}

func (o PrevIndexOption) applySet(p *params)              { o.apply(p) }
func (o PrevIndexOption) applyCompareAndSwap(p *params)   { o.apply(p) }
func (o PrevIndexOption) applyCompareAndDelete(p *params) { o.apply(p) }
func (o PrevIndexOption) applyDelete(p *params)           { o.apply(p) }

// PrevExistOption makes Set conditional on whether the key exists. See
// WithPrevExist.
type PrevExistOption struct{ exist bool }

// WithPrevExist makes Set a create (false: fail with ErrNodeExist if the key
// exists) or an update (true: fail with ErrKeyNotFound if it does not). It
// cannot be combined with WithPrevValue or WithPrevIndex, which the server
// would then ignore.
func WithPrevExist(exist bool) PrevExistOption { return PrevExistOption{exist: exist} }

func (o PrevExistOption) applySet(p *params) { p.prevExist, p.hasPrevExist = o.exist, true }
