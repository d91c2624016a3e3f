package concurrency

import (
	"fmt"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// DefaultTTL is the time to live of session keys when WithTTL is not given.
// A crashed holder blocks its lock for about this long.
const DefaultTTL = 15 * time.Second

// MinTTL is the shortest TTL accepted. The server counts TTLs in whole
// seconds, and keys are refreshed every third of their TTL, so TTLs of two
// seconds or more leave room for a failed refresh to be retried.
const MinTTL = time.Second

// expirySkew is how long after its (server-clock) expiration another
// contender's entry must be before it is removed by compare-and-delete
// instead of waiting for the server's late reaper: a margin for clock skew
// between this client and the server nodes.
const expirySkew = time.Second

// Option interfaces. An option value implements every interface of the
// constructors it makes sense for.
type (
	// SessionOption configures NewSession: WithTTL.
	SessionOption interface{ applySession(*sessionConfig) }
	// MutexOption configures NewMutex, NewSemaphore and NewElection: WithOwner.
	MutexOption interface{ applyMutex(*mutexConfig) }
	// LockOption configures NewDistributedLock and WithLock: WithTTL,
	// WithAutoRenewal, WithRenewalPeriod.
	LockOption interface{ applyLock(*lockConfig) }
	// ClaimOption configures Session.Claim: WithRecreate, WithAdopt.
	ClaimOption interface{ applyClaim(*claimConfig) }
)

type sessionConfig struct {
	ttl       time.Duration
	keepAlive bool
	err       error
}

type mutexConfig struct {
	owner string
}

type lockConfig struct {
	ttl       time.Duration
	autoRenew bool
	period    time.Duration // 0: a third of the TTL
	err       error
}

type claimConfig struct {
	recreate bool
	adopt    bool
}

// TTLOption is the time to live of session (and lock) keys; see WithTTL.
type TTLOption struct{ ttl time.Duration }

// WithTTL sets the time to live of the keys a session or lock owns: at least
// MinTTL, at most kv.MaxTTL, rounded up to whole seconds (default
// DefaultTTL). A holder that crashes keeps others waiting for about this
// long; a holder cut off from the cluster for longer loses its keys. A TTL
// out of range fails with an error matching ErrInvalidTTL.
func WithTTL(ttl time.Duration) TTLOption { return TTLOption{ttl: ttl} }

// ttlError is a TTL out of range. It matches ErrInvalidTTL, as kv's TTL
// errors do, and ErrInvalidOption, as every bad option of this package does.
type ttlError struct{ ttl time.Duration }

func (e *ttlError) Error() string {
	return fmt.Sprintf("concurrency: invalid TTL %v (want %v to %v)", e.ttl, MinTTL, kv.MaxTTL)
}

func (e *ttlError) Is(target error) bool {
	return target == kv.ErrInvalidTTL || target == kv.ErrInvalidOption
}

func (o TTLOption) check() (time.Duration, error) {
	if o.ttl < MinTTL || o.ttl > kv.MaxTTL {
		return 0, &ttlError{ttl: o.ttl}
	}
	// The server counts whole seconds and kv rounds up: track the TTL the
	// server will apply.
	return (o.ttl + time.Second - 1) / time.Second * time.Second, nil
}

func (o TTLOption) applySession(c *sessionConfig) { c.ttl, c.err = o.apply(c.ttl, c.err) }

func (o TTLOption) applyLock(c *lockConfig) { c.ttl, c.err = o.apply(c.ttl, c.err) }

// apply returns the checked TTL, or the current one and the first error.
func (o TTLOption) apply(cur time.Duration, prev error) (time.Duration, error) {
	ttl, err := o.check()
	if err != nil {
		if prev == nil {
			prev = err
		}
		return cur, prev
	}
	return ttl, prev
}

// OwnerOption names the owner of a queue entry; see WithOwner.
type OwnerOption struct{ owner string }

// WithOwner records owner (a host name, a process id...) in the queue entry,
// so other clients can tell who holds a lock or leads an election.
func WithOwner(owner string) OwnerOption { return OwnerOption{owner: owner} }

func (o OwnerOption) applyMutex(c *mutexConfig) { c.owner = o.owner }

// AutoRenewalOption turns a lock's automatic renewal on or off; see
// WithAutoRenewal.
type AutoRenewalOption struct{ on bool }

// WithAutoRenewal sets whether a held DistributedLock is refreshed in the
// background (default true). Without it the lock expires one TTL after it
// was acquired or last renewed, unless Renew or StartAutoRenewal is called.
// While waiting for the lock, the waiter's queue entry is always kept alive.
func WithAutoRenewal(on bool) AutoRenewalOption { return AutoRenewalOption{on: on} }

func (o AutoRenewalOption) applyLock(c *lockConfig) { c.autoRenew = o.on }

// RenewalPeriodOption sets how often a lock is renewed; see WithRenewalPeriod.
type RenewalPeriodOption struct{ period time.Duration }

// WithRenewalPeriod sets the interval of automatic renewal (default a third
// of the TTL). A period of the TTL or more is clamped to half the TTL, so the
// lock cannot expire between two renewals.
func WithRenewalPeriod(d time.Duration) RenewalPeriodOption { return RenewalPeriodOption{period: d} }

func (o RenewalPeriodOption) applyLock(c *lockConfig) {
	if o.period <= 0 {
		if c.err == nil {
			c.err = fmt.Errorf("concurrency: renewal period %v must be positive: %w", o.period, ErrInvalidOption)
		}
		return
	}
	c.period = o.period
}

// renewalPeriod returns a refresh interval that keeps a key of this TTL
// alive: period when sensible, else a third of the TTL.
func renewalPeriod(ttl, period time.Duration) time.Duration {
	switch {
	case period <= 0:
		return ttl / 3
	case period >= ttl:
		return ttl / 2
	}
	return period
}

// RecreateOption makes a claim survive the loss of its key; see WithRecreate.
type RecreateOption struct{}

// WithRecreate keeps a claim alive across the loss of its key (expired during
// an outage longer than the TTL, or deleted): instead of ending the session,
// the session creates the key again, only where it is absent, with jittered
// backoff, for as long as the session lives. Each loss, re-creation and
// conflict (another owner created the key meanwhile; it is never
// overwritten) is reported on Claim.Events.
func WithRecreate() RecreateOption { return RecreateOption{} }

func (RecreateOption) applyClaim(c *claimConfig) { c.recreate = true }

// AdoptOption lets a claim take over a key that already holds its value; see
// WithAdopt.
type AdoptOption struct{}

// WithAdopt makes Session.Claim take a key that already exists with exactly
// the claimed value as its own (refreshing it by compare-and-swap), instead
// of failing with ErrKeyTaken: the key left by an earlier create whose
// outcome was unknown, or by a previous run of the same owner. Values must
// then be unique to their owner.
func WithAdopt() AdoptOption { return AdoptOption{} }

func (AdoptOption) applyClaim(c *claimConfig) { c.adopt = true }
