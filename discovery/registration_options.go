package discovery

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Defaults and bounds of the registration options.
const (
	// DefaultTTL is the time to live of a registration's key (WithTTL): a
	// crashed instance leaves resolvers about this long (plus a second)
	// after its last heartbeat.
	DefaultTTL = 10 * time.Second
	// MinTTL is the shortest TTL Register accepts. Below it, a single slow
	// heartbeat (the server answers writes in milliseconds, but a node that
	// stops or pauses costs a request timeout before the retry) would let
	// the key expire between two heartbeats.
	MinTTL = 3 * time.Second
	// DefaultClockSkew is how far apart the clocks of the server nodes, and
	// of this host, may be (WithClockSkew).
	DefaultClockSkew = 250 * time.Millisecond
	// DefaultDrainWait bounds how long Deregister waits for its draining
	// value to be seen before it deletes the key (WithDrainWait).
	DefaultDrainWait = 2 * time.Second
)

// RegisterOption configures Register: WithTTL, WithClockSkew,
// WithDrainWait, WithRegistrationLayout, WithLogger.
type RegisterOption interface{ applyRegister(*registerConfig) }

type registerConfig struct {
	layout    Layout
	ttl       time.Duration
	skew      time.Duration
	drainWait time.Duration
	logger    *slog.Logger
	err       error
}

func defaultRegisterConfig() registerConfig {
	return registerConfig{
		layout:    DefaultLayout(),
		ttl:       DefaultTTL,
		skew:      DefaultClockSkew,
		drainWait: DefaultDrainWait,
	}
}

func (c *registerConfig) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

type registerOptionFunc func(*registerConfig)

func (f registerOptionFunc) applyRegister(c *registerConfig) { f(c) }

// WithTTL sets the time to live of the registration's key (default
// DefaultTTL), rounded up to whole seconds as the server counts them. The
// session refreshes the key every third of it.
//
// Register refuses, with an error matching kv.ErrInvalidTTL (and
// ErrInvalidOption), a TTL that would let a live instance flap:
//
//   - under MinTTL (3 s) or over kv.MaxTTL;
//   - too short for two heartbeats, a heartbeat write and the clock skew
//     (WithClockSkew) to fit before the key expires:
//     2 × TTL/3 + TTL/4 + skew ≤ TTL, that is TTL ≥ 12 × skew. A heartbeat
//     write is given at most a quarter of the TTL before it is abandoned and
//     retried on another node; the server fixes the expiration with the
//     clock of the node that received the write, so a node whose clock runs
//     behind the others shortens the key's life by the difference.
//
// The server's late reaping (seconds to tens of seconds) needs no margin:
// it never shortens a key's life, resolvers hide an expired key whatever
// the reaper does, and a registration that lost its key adopts it back
// (its own value, still in place) instead of waiting for the reaper.
func WithTTL(ttl time.Duration) RegisterOption {
	return registerOptionFunc(func(c *registerConfig) { c.ttl = ttl })
}

// WithClockSkew sets how far apart the clocks of the server nodes (and of
// this host) may be (default DefaultClockSkew); WithTTL says how it bounds
// the TTL. It must not be negative.
func WithClockSkew(d time.Duration) RegisterOption {
	return registerOptionFunc(func(c *registerConfig) {
		if d < 0 {
			c.fail(fmt.Errorf("%w: clock skew %v must not be negative", ErrInvalidOption, d))
			return
		}
		c.skew = d
	})
}

// WithDrainWait bounds how long Deregister waits, after writing the
// draining state, for a watch of the service to deliver it, before it
// deletes the key (default DefaultDrainWait). Zero deletes at once, without
// draining first. It must not be negative.
func WithDrainWait(d time.Duration) RegisterOption {
	return registerOptionFunc(func(c *registerConfig) {
		if d < 0 {
			c.fail(fmt.Errorf("%w: drain wait %v must not be negative", ErrInvalidOption, d))
			return
		}
		c.drainWait = d
	})
}

// WithRegistrationLayout sets where and how the instance is written
// (default DefaultLayout()): PhobosLayout(base) writes exactly what the
// Phobos RPC framework's registry plugins write. Resolvers of the service
// must use the same layout (WithLayout).
func WithRegistrationLayout(l Layout) RegisterOption {
	return registerOptionFunc(func(c *registerConfig) {
		if l == nil {
			c.fail(fmt.Errorf("%w: nil layout", ErrInvalidOption))
			return
		}
		c.layout = l
	})
}

// applyRegister makes WithLogger an option of Register too: it logs every
// change of the registration's Status.
func (o LoggerOption) applyRegister(c *registerConfig) { c.logger = o.logger }

// checkTTL applies the rule of WithTTL and returns the TTL the server will
// apply (whole seconds).
func (c *registerConfig) checkTTL() (time.Duration, error) {
	if c.ttl < MinTTL || c.ttl > kv.MaxTTL {
		return 0, fmt.Errorf("%w: %w: registration TTL %v: want %v to %v", ErrInvalidOption, kv.ErrInvalidTTL, c.ttl, MinTTL, kv.MaxTTL)
	}
	ttl := roundUpSecond(c.ttl)
	if !ttlFits(ttl, c.skew) {
		return 0, fmt.Errorf("%w: %w: registration TTL %v is too short for two heartbeats (%v apart), a heartbeat write (up to %v) and a clock skew of %v: want at least %v",
			ErrInvalidOption, kv.ErrInvalidTTL, c.ttl, ttl/3, ttl/4, c.skew, shortestTTL(c.skew))
	}
	return ttl, nil
}

// ttlFits reports whether two heartbeats, a heartbeat write and the skew
// fit in ttl.
func ttlFits(ttl, skew time.Duration) bool { return 2*(ttl/3)+ttl/4+skew <= ttl }

// shortestTTL is the shortest TTL that fits skew, in whole seconds.
func shortestTTL(skew time.Duration) time.Duration {
	ttl := max(MinTTL, roundUpSecond(12*skew))
	for !ttlFits(ttl, skew) && ttl < kv.MaxTTL {
		ttl += time.Second
	}
	return ttl
}

func roundUpSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1) / time.Second * time.Second
}
