package discovery

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Defaults of the resolver options.
const (
	// DefaultExpiryGrace is how long after a key's expiration the resolver
	// confirms it expired (WithExpiryGrace).
	DefaultExpiryGrace = 250 * time.Millisecond
	// DefaultRelistJitter is the window re-lists are spread over
	// (WithRelistJitter).
	DefaultRelistJitter = time.Second
	// DefaultListTimeout bounds each listing and check read (WithListTimeout).
	DefaultListTimeout = 2 * time.Second
)

// ResolverOption configures NewResolver.
type ResolverOption interface{ applyResolver(*resolverConfig) }

type resolverConfig struct {
	layout       Layout
	now          func() time.Time
	expiryGrace  time.Duration
	requireFirst bool
	relistJitter time.Duration
	listTimeout  time.Duration
	logger       *slog.Logger
	minBackoff   time.Duration
	maxBackoff   time.Duration
	err          error
}

func defaultResolverConfig() resolverConfig {
	return resolverConfig{
		layout:       DefaultLayout(),
		now:          time.Now,
		expiryGrace:  DefaultExpiryGrace,
		relistJitter: DefaultRelistJitter,
		listTimeout:  DefaultListTimeout,
		minBackoff:   100 * time.Millisecond,
		maxBackoff:   2 * time.Second,
	}
}

func (c *resolverConfig) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
}

// newBackoff spaces the resolver's attempts to reach a failing cluster.
func (c *resolverConfig) newBackoff() *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.minBackoff),
		backoff.WithMaxInterval(c.maxBackoff),
		backoff.WithMaxElapsedTime(0),
	)
}

type resolverOptionFunc func(*resolverConfig)

func (f resolverOptionFunc) applyResolver(c *resolverConfig) { f(c) }

// WithLayout sets where and how instances are stored (default
// DefaultLayout()); PhobosLayout reads a Phobos registry.
func WithLayout(l Layout) ResolverOption {
	return resolverOptionFunc(func(c *resolverConfig) {
		if l == nil {
			c.fail("nil layout")
			return
		}
		c.layout = l
	})
}

// WithClock sets the clock expirations are compared with (default time.Now),
// for a host whose clock is known to run off the servers', or for tests.
func WithClock(now func() time.Time) ResolverOption {
	return resolverOptionFunc(func(c *resolverConfig) {
		if now == nil {
			c.fail("nil clock")
			return
		}
		c.now = now
	})
}

// WithExpiryGrace sets how long after a key's expiration, by the resolver's
// clock, the resolver reads the directory to confirm that the key expired
// and hides it (default DefaultExpiryGrace). The server reaps expired keys
// seconds late (docs/protocol.md §11.3); this check is what removes a crashed
// instance about TTL + grace after its last heartbeat. The read, not the
// local clock, decides: a key the server still reports alive stays.
func WithExpiryGrace(d time.Duration) ResolverOption {
	return resolverOptionFunc(func(c *resolverConfig) {
		if d < 0 {
			c.fail("expiry grace %v must not be negative", d)
			return
		}
		c.expiryGrace = d
	})
}

// WithRequireFirstList makes NewResolver list the service before it returns
// and return that listing's error (bounded by WithListTimeout). Without it
// NewResolver never fails because the cluster is down: the resolver starts
// stale and empty and fills in when the cluster answers.
func WithRequireFirstList() ResolverOption {
	return resolverOptionFunc(func(c *resolverConfig) { c.requireFirst = true })
}

// WithRelistJitter sets the window over which a resolver delays its re-list
// after falling out of the server's 1000-event history (default
// DefaultRelistJitter), so many resolvers that fell behind together do not
// all read the directory at once. Zero re-lists at once.
func WithRelistJitter(window time.Duration) ResolverOption {
	return resolverOptionFunc(func(c *resolverConfig) {
		if window < 0 {
			c.fail("re-list jitter %v must not be negative", window)
			return
		}
		c.relistJitter = window
	})
}

// WithListTimeout bounds each listing and each check read of the directory
// (default DefaultListTimeout). A read that takes longer (the cluster is
// unreachable or has no quorum: reads then hang for the server's timeout,
// docs/protocol.md §13.3) marks the resolver stale.
func WithListTimeout(d time.Duration) ResolverOption {
	return resolverOptionFunc(func(c *resolverConfig) {
		if d <= 0 {
			c.fail("list timeout %v must be positive", d)
			return
		}
		c.listTimeout = d
	})
}

// LoggerOption is the value of WithLogger; it configures resolvers and
// balancers alike.
type LoggerOption struct{ logger *slog.Logger }

// WithLogger makes a resolver log the keys it cannot decode, and a balancer
// its ejections and the times it keeps a list the resolver emptied. Nothing
// is logged without it.
func WithLogger(l *slog.Logger) LoggerOption { return LoggerOption{logger: l} }

func (o LoggerOption) applyResolver(c *resolverConfig) { c.logger = o.logger }
