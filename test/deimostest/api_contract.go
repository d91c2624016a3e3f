package deimostest

// CONTRACT STUB — the exported API other packages' tests are written against.
// The deimostest implementer replaces these stubs with the real implementation
// (keeping every signature) and deletes this comment.

import (
	"crypto/tls"
	"net/url"
	"testing"
	"time"
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
}

// WithStartIndex sets the store index a fresh cluster reports (default 6, like a fresh 3-node cluster).
func WithStartIndex(i uint64) Option { return func(c *config) { c.startIndex = i } }

// WithReapDelay makes expired keys linger for a random delay in [min, max] after their
// expiration before the reaper deletes them (default 0: reaped as soon as they expire).
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

// Cluster is an in-process Deimos cluster: n HTTP listeners sharing one store.
type Cluster struct{}

// NewCluster starts an n-node cluster and closes it with t.Cleanup. It fails t on error.
func NewCluster(t testing.TB, n int, opts ...Option) *Cluster { return nil }

// StartCluster starts an n-node cluster for programs; the caller must Close it.
func StartCluster(n int, opts ...Option) (*Cluster, error) { return nil, nil }

// Close stops every node, ends every watch and the reaper. It is idempotent.
func (c *Cluster) Close() {}

// Endpoints returns every node's client URL, in node order.
func (c *Cluster) Endpoints() []string { return nil }

// Node returns node i (0-based).
func (c *Cluster) Node(i int) *Node { return nil }

// Nodes returns all nodes.
func (c *Cluster) Nodes() []*Node { return nil }

// AddNode starts a new node on the same store and registers it in /machines.
func (c *Cluster) AddNode() (*Node, error) { return nil, nil }

// Index returns the current store index.
func (c *Cluster) Index() uint64 { return 0 }

// LoseQuorum makes non-watch requests on every node hang for the server timeout and
// then answer a plain 500. Writes received meanwhile are applied when quorum returns.
func (c *Cluster) LoseQuorum() {}

// RestoreQuorum undoes LoseQuorum and applies the writes that were held.
func (c *Cluster) RestoreQuorum() {}

// History returns every event the store emitted (not only the last 1000) whose key equals
// prefix or lies under prefix+"/", in index order. Hidden keys are included.
func (c *Cluster) History(prefix string) []Event { return nil }

// Requests returns how many requests with the given method ("" for all) every node received.
func (c *Cluster) Requests(method string) int64 { return 0 }

// Event is one store event as the server would deliver it to a watcher.
type Event struct {
	Action   string
	Node     *NodeJSON
	PrevNode *NodeJSON
}

// NodeJSON is a node as it appears in responses.
type NodeJSON struct {
	Key           string      `json:"key"`
	Value         *string     `json:"value,omitempty"`
	Dir           bool        `json:"dir,omitempty"`
	Expiration    *time.Time  `json:"expiration,omitempty"`
	TTL           int64       `json:"ttl,omitempty"`
	Nodes         []*NodeJSON `json:"nodes,omitempty"`
	ModifiedIndex uint64      `json:"modifiedIndex"`
	CreatedIndex  uint64      `json:"createdIndex"`
}

// Node is one member's HTTP listener.
type Node struct{}

// URL is the node's client URL, e.g. http://127.0.0.1:40123.
func (n *Node) URL() string { return "" }

// Stop closes the listener and every open connection: clients get connection refused.
func (n *Node) Stop() {}

// Start restarts a stopped node on the same address.
func (n *Node) Start() error { return nil }

// Pause makes the node accept connections but answer nothing (like SIGSTOP) until Resume.
func (n *Node) Pause() {}

// Resume undoes Pause; held requests are then served.
func (n *Node) Resume() {}

// SetLatency delays every answer of this node by d (0 removes it).
func (n *Node) SetLatency(d time.Duration) {}

// SetHook installs a hook consulted for every request this node receives (nil removes it).
func (n *Node) SetHook(h Hook) {}

// Requests returns how many requests with the given method ("" for all) this node received.
func (n *Node) Requests(method string) int64 { return 0 }

// Fault is what a node does with a request instead of answering it normally.
type Fault int

// Faults a Hook can choose.
const (
	FaultNone         Fault = iota // answer normally
	Fault500                       // plain 500 "Internal Server Error" without touching the store
	FaultDropResponse              // apply the request to the store, then close the connection without answering
	FaultGarbage                   // 200 with a body that is not JSON
	FaultTruncate                  // the normal status and headers, then half the body and a cut connection
	FaultReset                     // close the connection without applying the request
)

// Request is what a Hook sees of an incoming request.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Seq    int64 // 1-based count of requests this node has received, this one included
}

// Hook picks a fault for a request.
type Hook func(Request) Fault

// FailNext returns a hook that applies f to the next count requests with the given method
// ("" matches any method) and path prefix ("" matches any path), then does nothing.
func FailNext(method, pathPrefix string, f Fault, count int) Hook { return nil }
