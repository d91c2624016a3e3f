package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// errNotListed is why a Value is stale before its first listing.
var errNotListed = errors.New("not listed yet")

// Value is a live, typed configuration value: the decoded content of one key
// (or of several layered keys), kept current by a watch. Its methods are safe
// for concurrent use.
type Value[T any] struct {
	keys   []string
	client watch.Client
	s      settings[T]
	dec    *decoder[T]
	dirs   []*follower
	dirOf  map[string]*follower // key -> its follower

	cur atomic.Pointer[state[T]]

	mu       sync.Mutex // serialises writers of cur; guards the fields below
	invalid  *InvalidValueError
	probeErr error
	fatal    error
	ready    bool // the first value computed from a listing is in cur
	warned   bool // staleness was logged; its end will be too

	// Owned by the computing goroutine.
	seen     []layer // the layers of the last computation
	rejected bool    // seen was rejected

	wake    chan struct{} // buffered 1: a followed key changed, or a directory was listed
	loaded  chan struct{} // closed once ready
	started chan struct{} // closed when Watch returns: the notifier may begin
	notes   notifier[T]

	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{}
}

// state is what cur publishes: the snapshot and what judges its changes.
type state[T any] struct {
	snap   Snapshot[T]
	print  print
	seq    uint64  // counts the changes of snap.Value
	layers []layer // the reading snap reflects (accepted or not); nil before the first
}

// Snapshot is a consistent view of a Value at one moment.
type Snapshot[T any] struct {
	// Value is the value served: the decoded keys, the last good value while
	// the stored one is rejected, or the default while no key exists.
	Value T
	// Keys are the keys, the lowest precedence first.
	Keys []string
	// Index is the store index the Value's watch had reached when its keys
	// last changed (a rewrite with the same bytes included); 0 before the
	// first listing.
	Index uint64
	// ModifiedIndex is the highest modifiedIndex among the keys that make up
	// Value; 0 when Value is the default.
	ModifiedIndex uint64
	// Missing is true when Value is the default because no key exists (or
	// every key has expired), and before the first listing.
	Missing bool
	// Since is when Value last changed.
	Since time.Time
	// Stale is true while the Value cannot confirm that it follows the
	// cluster: before the first listing, while its watch fails, while probes
	// get no answer, and while they keep finding the value behind the store.
	// Value is then the last one known.
	Stale bool
	// StaleSince is when the Value became stale; zero when it is not.
	StaleSince time.Time
	// Err says what is wrong: the *InvalidValueError of a rejected stored
	// value and why the Value is stale, joined; nil when the Value serves
	// what the store holds.
	Err error
}

// Watch starts following key (and the keys of WithLayers) and returns the
// Value, which serves the decoded content until ctx ends or Close is called.
//
// Watch waits up to the initial timeout for the first listing. If the cluster
// does not answer by then, it still returns a Value, stale and serving the
// default, that fills in once the cluster answers, unless WithRequireInitial
// is given. It fails at once only for invalid keys or options, and when ctx
// ends first.
func Watch[T any](ctx context.Context, c watch.Client, key string, opts ...Option[T]) (*Value[T], error) {
	s := defaultSettings[T]()
	for _, o := range opts {
		o(&s)
	}
	if s.err != nil {
		return nil, s.err
	}
	if c == nil {
		return nil, errors.Join(kv.ErrInvalidOption, fmt.Errorf("config: watch %s: nil client", key))
	}
	v, err := newValue(c, key, s)
	if err != nil {
		return nil, err
	}
	v.start(ctx)
	if err := v.awaitInitial(ctx); err != nil {
		v.Close()
		return nil, err
	}
	v.notes.from = v.cur.Load() // what callbacks' first old value is
	close(v.started)
	return v, nil
}

func newValue[T any](c watch.Client, key string, s settings[T]) (*Value[T], error) {
	keys, err := cleanKeys(key, s.layers)
	if err != nil {
		return nil, err
	}
	order, groups, err := keyDirs(keys, s.watchDir)
	if err != nil {
		return nil, err
	}
	v := &Value[T]{
		keys: keys, client: c, s: s, dec: newDecoder(&s),
		dirOf:   make(map[string]*follower, len(keys)),
		wake:    make(chan struct{}, 1),
		loaded:  make(chan struct{}),
		started: make(chan struct{}),
		done:    make(chan struct{}),
	}
	v.notes.init()
	for _, dir := range order {
		f := newFollower(dir, groups[dir])
		v.dirs = append(v.dirs, f)
		for _, k := range groups[dir] {
			v.dirOf[k] = f
		}
	}
	now := time.Now()
	stale, why := v.healthLocked()
	v.cur.Store(&state[T]{
		snap:  Snapshot[T]{Value: s.def, Keys: keys, Missing: true, Stale: stale, StaleSince: now, Since: now, Err: why},
		print: v.dec.print(s.def),
	})
	return v, nil
}

// start runs the Value's goroutines: one follower per directory, the
// computation, the probe and the notifier.
func (v *Value[T]) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	v.cancel = cancel
	for _, f := range v.dirs {
		v.goRun(func() { v.follow(ctx, f) })
	}
	v.goRun(func() { v.compute(ctx) })
	v.goRun(func() { v.probe(ctx) })
	v.goRun(func() { v.notify(ctx) })
	go func() {
		v.wg.Wait()
		close(v.done)
	}()
}

func (v *Value[T]) goRun(fn func()) {
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		fn()
	}()
}

// awaitInitial waits for the first listing, for at most the initial timeout.
func (v *Value[T]) awaitInitial(ctx context.Context) error {
	timer := time.NewTimer(v.s.initialTimeout)
	defer timer.Stop()
	select {
	case <-v.loaded:
	case <-timer.C:
	case <-ctx.Done():
		return fmt.Errorf("config: watch %s: %w", v.keys[0], ctx.Err())
	}
	if !v.s.requireInitial {
		v.mu.Lock()
		defer v.mu.Unlock()
		if !v.ready {
			v.warnStaleLocked(v.cur.Load().snap.Err)
		}
		return nil
	}
	select {
	case <-v.loaded:
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.invalid != nil {
			return v.invalid
		}
		return nil
	default:
		return v.initialError()
	}
}

// Load returns the current value. It never blocks. Treat the value as read
// only: maps and slices in it are shared with other callers of Load.
func (v *Value[T]) Load() T { return v.cur.Load().snap.Value }

// Snapshot returns the current value with its indexes and health, all from
// the same moment.
func (v *Value[T]) Snapshot() Snapshot[T] {
	s := v.cur.Load().snap
	s.Keys = slices.Clone(s.Keys)
	return s
}

// Stale reports whether the Value cannot confirm that it follows the
// cluster (see Snapshot.Stale).
func (v *Value[T]) Stale() bool { return v.cur.Load().snap.Stale }

// Err returns what is wrong with the Value, nil when it serves what the
// store holds (see Snapshot.Err).
func (v *Value[T]) Err() error { return v.cur.Load().snap.Err }

// Done is closed when the Value has stopped: its context ended, Close was
// called, or the client was closed (Err then matches kv.ErrClosed). The last
// value stays readable.
func (v *Value[T]) Done() <-chan struct{} { return v.done }

// Close stops the Value and waits until its goroutines have ended, including
// a callback that is running; so do not call it from a callback (end the
// Value's context there instead).
func (v *Value[T]) Close() {
	v.cancel()
	<-v.done
}

// publish replaces the published state with a copy changed by fn, with the
// health fields recomputed. It wakes the notifier when the value changed.
func (v *Value[T]) publish(fn func(*state[T])) {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.cur.Load()
	next := *old
	if fn != nil {
		fn(&next)
	}
	stale, err := v.healthLocked()
	switch {
	case stale && !old.snap.Stale:
		next.snap.StaleSince = time.Now()
		v.warnStaleLocked(err)
	case !stale && old.snap.Stale:
		next.snap.StaleSince = time.Time{}
		if v.warned {
			v.warned = false
			v.logAt(slog.LevelInfo, "config: following the cluster again")
		}
	}
	next.snap.Stale, next.snap.Err = stale, err
	v.cur.Store(&next)
	if next.seq != old.seq {
		v.notes.kick()
	}
}

// healthLocked says whether the Value is stale and what is wrong with it.
func (v *Value[T]) healthLocked() (bool, error) {
	var errs []error
	if v.fatal != nil {
		errs = append(errs, v.fatal)
	}
	for _, f := range v.dirs {
		switch {
		case f.err != nil:
			errs = append(errs, f.err)
		case !f.listed:
			errs = append(errs, fmt.Errorf("config: %s: %w", f.dir, errNotListed))
		}
	}
	if v.probeErr != nil {
		errs = append(errs, v.probeErr)
	}
	stale := len(errs) > 0
	if v.invalid != nil {
		errs = append([]error{v.invalid}, errs...)
	}
	return stale, errors.Join(errs...)
}

// initialError is what WithRequireInitial returns when no listing came in
// time: the failure of a listing if one failed, else the cluster did not
// answer (reads are retried until they succeed).
func (v *Value[T]) initialError() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, f := range v.dirs {
		if f.err != nil {
			return fmt.Errorf("config: watch %s: no value within %v: %w", v.keys[0], v.s.initialTimeout, f.err)
		}
	}
	cause := errors.Join(kv.ErrClusterUnavailable, v.probeErr)
	return fmt.Errorf("config: watch %s: no value within %v: %w", v.keys[0], v.s.initialTimeout, cause)
}

func (v *Value[T]) warnStaleLocked(err error) {
	v.warned = true
	v.logAt(slog.LevelWarn, "config: stale, serving the last known value", "err", err)
}

func (v *Value[T]) logAt(level slog.Level, msg string, args ...any) {
	if v.s.logger == nil {
		return
	}
	v.s.logger.Log(context.Background(), level, msg, append([]any{"keys", v.keys}, args...)...)
}
