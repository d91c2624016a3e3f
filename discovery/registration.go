package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
)

// Registration is one instance registered by Register: its key, kept alive
// by a session of its own, and what became of it (Status). It is safe for
// concurrent use; Update, Drain, Deregister and Orphan run one at a time.
//
// End it with Deregister (the instance leaves resolvers at once) or, to
// leave the key to its TTL as a crashed process would, with Orphan.
type Registration struct {
	cfg     registerConfig
	kv      *kv.KV
	key     string
	dir     string
	token   string
	session *concurrency.Session
	claim   *concurrency.Claim

	ctx    context.Context // ends when the registration stops
	cancel context.CancelFunc

	ops      sync.Mutex // serialises Update, Drain, Deregister and Orphan
	released bool       // Deregister or Orphan ran
	maybe    string     // a value an update whose outcome is unknown may have written
	leftover []string   // values of ours Deregister could not delete yet

	mu      sync.Mutex
	inst    Instance // as last written
	status  Status
	changes chan Status
	stopped bool

	followDone chan struct{}
}

func newRegistration(cfg registerConfig, k *kv.KV, s *concurrency.Session, c *concurrency.Claim, inst Instance, dir, token string) *Registration {
	r := &Registration{
		cfg: cfg, kv: k, key: c.Key(), dir: dir, token: token, session: s, claim: c,
		inst:       inst,
		changes:    make(chan Status, 1),
		followDone: make(chan struct{}),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.setStatus(Status{Kind: StatusRegistered, Index: c.Index()})
	return r
}

// Key returns the instance's key, e.g. /deimos/services/payments/node-1.
func (r *Registration) Key() string { return r.key }

// Instance returns the instance as last written (with the State Drain set).
func (r *Registration) Instance() Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneInstance(r.inst)
}

// Status returns where the registration stands now.
func (r *Registration) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// StatusChanges returns a channel that holds the latest status not yet
// received, starting with StatusRegistered: a new status replaces one nobody
// read, so a slow reader skips to the newest and never blocks the
// registration. It is closed after the final StatusStopped. There is one
// channel per registration; it suits one reader.
func (r *Registration) StatusChanges() <-chan Status { return r.changes }

// Update changes the instance by calling fn on a copy of it and writing the
// result, by compare-and-swap on the registration's current value (keeping
// the TTL), so a key someone else rewrote is never overwritten. fn may
// change Addr, Version, Weight, Metadata and State, not Service or ID
// (they name the key; register anew instead). Nothing is written when the
// value does not change. While the key is not in place (StatusRetrying,
// StatusConflict) or after the registration stopped, Update fails with an
// error matching ErrNotRegistered.
func (r *Registration) Update(ctx context.Context, fn func(*Instance)) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	return r.update(ctx, fn)
}

// Drain marks the instance StateDraining: resolvers keep listing it, but
// balancers stop picking it as soon as their resolver sees the change
// (usually milliseconds), so calls in flight finish while no new one comes.
// Update with StateUp undoes it. It fails like Update.
func (r *Registration) Drain(ctx context.Context) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	return r.update(ctx, func(i *Instance) { i.State = StateDraining })
}

// Deregister takes the instance out of the registry at once, never leaving
// it to the TTL: it drains it (unless drained already or WithDrainWait(0)),
// waits for a watch of the service to deliver the draining state (at most
// WithDrainWait), then deletes the key by compare-and-delete on the
// registration's value, so a key another registrar holds by then is left in
// place (one rewritten between the drain and the delete makes the error
// match kv.ErrTestFailed). It ends the session.
//
// It is idempotent. If ctx ends before the key is deleted, the error says
// so and the key expires on its own after the TTL; calling Deregister again
// tries the delete once more. With the key lost at the time (an outage), it
// deletes our value if it finds it back, and otherwise just stops.
func (r *Registration) Deregister(ctx context.Context) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	if r.released {
		return r.deleteLeftover(ctx)
	}
	var errs []error
	registered := r.Status().Kind == StatusRegistered
	if registered && r.cfg.drainWait > 0 {
		if err := r.drainAndWait(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	ours := nonEmpty(r.claim.Value(), r.maybe)
	err := r.claim.Release(ctx)
	registered = r.Status().Kind == StatusRegistered
	r.stop(func() { _ = r.session.Close() })
	switch {
	case errors.Is(err, kv.ErrTestFailed):
		errs = append(errs, fmt.Errorf("discovery: deregistering %s: %w", r.key, err))
	case err != nil:
		r.leftover = ours
		errs = append(errs, fmt.Errorf("discovery: deregistering %s: %w", r.key, err))
	case !registered:
		// The claim was lost, so Release only forgot it; a write held during
		// the outage may have put our value back.
		r.leftover = ours
		if err := r.deleteLeftover(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Orphan stops keeping the key alive without deleting it, as if the process
// had crashed: resolvers drop the instance about a TTL after its last
// heartbeat. The status turns StatusStopped. Orphan after Deregister or
// Orphan does nothing.
func (r *Registration) Orphan() {
	r.ops.Lock()
	defer r.ops.Unlock()
	if r.released {
		return
	}
	r.stop(r.session.Orphan)
}

// update writes fn's change of the instance; the caller holds ops.
func (r *Registration) update(ctx context.Context, fn func(*Instance)) error {
	if r.released || r.Status().Kind == StatusStopped {
		return fmt.Errorf("%w: %s: the registration has stopped", ErrNotRegistered, r.key)
	}
	cur := r.Instance()
	next := cloneInstance(cur)
	fn(&next)
	switch {
	case next.Service != cur.Service:
		return &InstanceError{Field: "Service", Value: next.Service, Reason: "cannot change: it names the key (register anew)"}
	case next.ID != cur.ID:
		return &InstanceError{Field: "ID", Value: next.ID, Reason: "cannot change: it names the key (register anew)"}
	}
	if _, err := r.cfg.layout.Key(next); err != nil {
		return err
	}
	value, err := encodeFor(r.cfg.layout, next, r.token)
	if err != nil {
		return err
	}
	if value != r.claim.Value() {
		if err := r.claim.Update(ctx, value); err != nil {
			if errors.Is(err, concurrency.ErrClaimLost) || errors.Is(err, concurrency.ErrSessionExpired) {
				return fmt.Errorf("%w: %s: %w", ErrNotRegistered, r.key, err)
			}
			r.maybe = value // it may have been applied: Deregister deletes it too
			return fmt.Errorf("discovery: updating %s: %w", r.key, err)
		}
	}
	r.maybe = ""
	r.mu.Lock()
	r.inst = next
	r.mu.Unlock()
	return nil
}

// drainAndWait drains the instance and waits for the change to be seen.
func (r *Registration) drainAndWait(ctx context.Context) error {
	err := r.update(ctx, func(i *Instance) { i.State = StateDraining })
	switch {
	case errors.Is(err, ErrNotRegistered):
		return nil // lost meanwhile: nothing of ours to drain
	case err != nil:
		return err
	}
	return r.awaitPropagation(ctx, r.claim.Index())
}

// awaitPropagation waits, at most the drain wait, until a watch of the
// service directory delivers an event at index or later: the node that
// answers it has applied our write, and its watchers have been told. The
// directory is watched, never the key itself (docs/protocol.md §12.7).
func (r *Registration) awaitPropagation(ctx context.Context, index uint64) error {
	wctx, cancel := context.WithTimeout(ctx, r.cfg.drainWait)
	defer cancel()
	b := wait.NewBackoff(50*time.Millisecond, 500*time.Millisecond)
	for {
		resp, err := r.kv.WaitEvent(wctx, r.dir, index, true)
		switch {
		case err == nil && resp != nil, errors.Is(err, kv.ErrEventIndexCleared):
			return nil // seen (or so long ago that the history moved on)
		case ctx.Err() != nil:
			return fmt.Errorf("discovery: deregistering %s: waiting for the drain to propagate: %w", r.key, ctx.Err())
		case err == nil:
			continue // the server ended the poll empty
		}
		if !wait.Sleep(wctx, b.NextBackOff()) {
			r.log(slog.LevelWarn, "discovery: the draining state was not seen within the drain wait; deleting anyway",
				"wait", r.cfg.drainWait, "error", err)
			return nil
		}
	}
}

// deleteLeftover removes the key if it holds a value of ours that
// Deregister could not delete, retrying until ctx ends; a key gone or
// holding another value is done with.
func (r *Registration) deleteLeftover(ctx context.Context) error {
	b := wait.NewBackoff(50*time.Millisecond, time.Second)
	for len(r.leftover) > 0 {
		_, err := r.kv.CompareAndDelete(ctx, r.key, kv.WithPrevValue(r.leftover[0]))
		switch {
		case err == nil, errors.Is(err, kv.ErrKeyNotFound):
			r.leftover = nil
		case errors.Is(err, kv.ErrTestFailed):
			r.leftover = r.leftover[1:] // not this one; perhaps the next
		case !retryable(err) || !wait.Sleep(ctx, b.NextBackOff()):
			return fmt.Errorf("discovery: deregistering %s: %w", r.key, err)
		}
	}
	return nil
}

// nonEmpty returns the distinct values that are not empty.
func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// retryable reports whether a failed write may succeed if sent again.
func retryable(err error) bool {
	return errors.Is(err, kv.ErrUnknownOutcome) || errors.Is(err, kv.ErrClusterUnavailable)
}

// stop ends the registration with end (closing or orphaning the session)
// and waits for its goroutine; the caller holds ops.
func (r *Registration) stop(end func()) {
	r.released = true
	r.cancel()
	end()
	<-r.followDone
	r.finish(nil)
}

// follow turns the claim's events into statuses until the session ends. While
// the key is not in place it also checks now and then whether the client was
// closed: the session would otherwise retry for ever with nobody to tell.
func (r *Registration) follow() {
	defer close(r.followDone)
	probe := time.NewTimer(time.Hour)
	probe.Stop()
	defer probe.Stop()
	for {
		select {
		case ev, ok := <-r.claim.Events():
			if !ok {
				return
			}
			st := statusOf(ev)
			r.setStatus(st)
			if st.Kind == StatusRegistered {
				probe.Stop()
			} else {
				probe.Reset(0)
			}
		case <-probe.C:
			if err := r.probeClient(); err != nil {
				r.session.Orphan()
				r.finish(err)
				return
			}
			probe.Reset(r.session.TTL())
		}
	}
}

// probeClient returns an error matching kv.ErrClosed when the client was
// closed; nil otherwise.
func (r *Registration) probeClient() error {
	ctx, cancel := context.WithTimeout(r.ctx, probeTimeout(r.session.TTL()))
	defer cancel()
	_, err := r.kv.Get(ctx, r.key)
	if errors.Is(err, kv.ErrClosed) {
		return fmt.Errorf("discovery: %s: the registration's client was closed: %w", r.key, err)
	}
	return nil
}

// probeTimeout bounds the read that checks whether a registration's client
// was closed.
func probeTimeout(ttl time.Duration) time.Duration { return min(ttl/4, time.Second) }

func statusOf(ev concurrency.KeyEvent) Status {
	switch ev.Kind {
	case concurrency.KeyRecreated:
		return Status{Kind: StatusRegistered, Index: ev.Index}
	case concurrency.KeyConflict:
		return Status{Kind: StatusConflict, Index: ev.Index, Err: fmt.Errorf("%w: %w", ErrDuplicateInstance, ev.Err)}
	}
	return Status{Kind: StatusRetrying, Index: ev.Index, Err: ev.Err}
}

// setStatus records st and hands it to the reader of StatusChanges, unless
// the registration has stopped.
func (r *Registration) setStatus(st Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	st.Since = time.Now()
	r.status = st
	r.offerLocked(st)
	switch st.Kind {
	case StatusRegistered:
		r.log(slog.LevelInfo, "discovery: instance registered", "index", st.Index)
	case StatusRetrying:
		r.log(slog.LevelWarn, "discovery: registration lost its key; creating it again", "index", st.Index, "error", st.Err)
	case StatusConflict:
		r.log(slog.LevelWarn, "discovery: another registrar holds the instance's key; waiting for it to go", "index", st.Index, "error", st.Err)
	}
}

// finish records the final StatusStopped and closes StatusChanges, once.
func (r *Registration) finish(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.stopped = true
	r.status = Status{Kind: StatusStopped, Err: err, Since: time.Now()}
	r.offerLocked(r.status)
	close(r.changes)
	r.log(slog.LevelInfo, "discovery: registration stopped", "error", err)
}

// offerLocked replaces the unread status with st; the caller holds mu.
func (r *Registration) offerLocked(st Status) {
	select {
	case <-r.changes:
	default:
	}
	r.changes <- st
}

func (r *Registration) log(level slog.Level, msg string, args ...any) {
	if r.cfg.logger != nil {
		r.cfg.logger.Log(context.Background(), level, msg, append([]any{"key", r.key}, args...)...)
	}
}
