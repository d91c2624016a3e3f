package deimostest

import (
	"crypto/tls"
	"time"
)

// Defaults that mimic the real server.
const (
	defaultStartIndex    = 6
	defaultWatchTimeout  = 5 * time.Minute
	defaultServerTimeout = 10 * time.Second
	historySize          = 1000
)

// Option configures a Cluster.
type Option func(*config)

type config struct {
	startIndex    uint64
	reapMin       time.Duration
	reapMax       time.Duration
	watchTimeout  time.Duration
	serverTimeout time.Duration
	tlsConfig     *tls.Config
	basePort      int
}

func newConfig(opts []Option) config {
	c := config{
		startIndex:    defaultStartIndex,
		watchTimeout:  defaultWatchTimeout,
		serverTimeout: defaultServerTimeout,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.reapMax < c.reapMin {
		c.reapMax = c.reapMin
	}
	return c
}

// WithStartIndex sets the store index a fresh cluster reports (default 6, like a fresh 3-node
// cluster). When it is at least twice the number of nodes, the hidden member records under
// /_deimos/machines are written at indexes 1..n and published at the last n indexes up to i;
// otherwise no member record is written and the index simply starts at i.
func WithStartIndex(i uint64) Option { return func(c *config) { c.startIndex = i } }

// WithReapDelay makes expired keys linger for a random delay in [min, max] after their
// expiration before the reaper deletes them (default 0: reaped as soon as they expire).
// The real server reaps 0.5 to 14 s late; WithReapDelay(500*time.Millisecond, 10*time.Second)
// mimics it.
func WithReapDelay(min, max time.Duration) Option {
	return func(c *config) { c.reapMin, c.reapMax = min, max }
}

// WithWatchTimeout sets how long a long-poll watch is held before the server ends it with an
// empty 200 (default 5 minutes, as on the real server).
func WithWatchTimeout(d time.Duration) Option { return func(c *config) { c.watchTimeout = d } }

// WithServerTimeout sets how long a non-watch request hangs while quorum is lost before the
// plain 500 (default 10 s, as on the real server).
func WithServerTimeout(d time.Duration) Option { return func(c *config) { c.serverTimeout = d } }

// WithTLS serves every node over TLS with the given configuration.
func WithTLS(cfg *tls.Config) Option { return func(c *config) { c.tlsConfig = cfg } }

// WithBasePort makes node i listen on 127.0.0.1:port+i instead of a random free port
// (0, the default, picks random ports). Nodes added later take the next ports.
func WithBasePort(port int) Option { return func(c *config) { c.basePort = port } }
