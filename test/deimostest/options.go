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
	// defaultRaceWindow is how long WithWriteIndexRace holds a write between its apply
	// and its headers.
	defaultRaceWindow = 2 * time.Millisecond
	historySize       = 1000
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
	watchLag      time.Duration
	writeRace     bool
	raceWindow    time.Duration
	// hazardsAllowed keeps NewCluster from failing the test on crash hazards.
	hazardsAllowed bool
}

func newConfig(opts []Option) config {
	c := config{
		startIndex:    defaultStartIndex,
		watchTimeout:  defaultWatchTimeout,
		serverTimeout: defaultServerTimeout,
		raceWindow:    defaultRaceWindow,
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
// (0, the default, picks random free ports below the kernel's ephemeral range, so a
// stopped node's port cannot be taken by an outgoing connection before it restarts).
// Nodes added later take the next ports.
func WithBasePort(port int) Option { return func(c *config) { c.basePort = port } }

// WithWatchLag makes every node's view of the store for watches trail the committed store
// by d, as followers do on a real cluster (docs/protocol.md §13.2; default 0: every node
// applies each event at once, deterministically). A node applies the committed events in
// index order, each d after its commit, and at once everything pending when it answers a
// non-watch request (a GET or a write goes through raft, which applies before answering).
// Its watches only see what it applied: a watch without waitIndex waits for the next event
// after the node's applied index (so it can be answered with a write another node already
// acknowledged), the history scan and the 401 check use the node's applied index, and a
// waitIndex above it registers a watcher that the node notifies when it applies the
// event. Node.SetWatchLag overrides it per node.
func WithWatchLag(d time.Duration) Option { return func(c *config) { c.watchLag = d } }

// WithWriteIndexRace reproduces the server's write-index race (docs/protocol.md §6.2,
// §6.4; default off): a watch answered from history on the node that answered a write
// overwrites the write's event index with that node's current store index, so if it
// happens between the apply of the write and its response headers, the write's
// X-Deimos-Index names a later index than its own (node.modifiedIndex in the body stays
// right). To make the race happen in tests, every successful write waits a window between
// its apply and its headers: 2 ms unless WithWriteIndexRaceWindow says otherwise.
// Cluster.WriteIndexRaces counts the answers it changed.
func WithWriteIndexRace() Option { return func(c *config) { c.writeRace = true } }

// WithWriteIndexRaceWindow turns on WithWriteIndexRace with a window of d between a
// write's apply and its headers (0: no added window; the race then needs a watch in the
// few microseconds the handler takes, as on the real server).
func WithWriteIndexRaceWindow(d time.Duration) Option {
	return func(c *config) { c.writeRace, c.raceWindow = true, d }
}

// WithCrashHazardsAllowed keeps NewCluster from failing the test when crash hazards
// (docs/protocol.md §12.7, see CrashHazard) were recorded; Cluster.CrashHazards still
// lists them. Cluster.ExpectCrashHazards does the same from inside the test.
func WithCrashHazardsAllowed() Option { return func(c *config) { c.hazardsAllowed = true } }
