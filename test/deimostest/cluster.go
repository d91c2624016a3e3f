package deimostest

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Cluster is an in-process Deimos cluster: n HTTP listeners sharing one committed store,
// each with its own view of it for watches. Its methods are safe for concurrent use.
type Cluster struct {
	cfg    config
	store  *store
	raft   raftClock
	quorum quorum

	mu      sync.Mutex
	nodes   []*Node
	members bool // member records exist under /_deimos/machines
	closed  bool

	addMu       sync.Mutex // serialises node creation
	closeOnce   sync.Once
	done        chan struct{}
	reaperDone  chan struct{}
	applierDone chan struct{} // nil until the applier of lagging nodes starts; guarded by mu

	writeRaces      atomic.Int64
	hazardsExpected atomic.Bool
}

// NewCluster starts an n-node cluster and closes it with t.Cleanup. It fails t on error,
// and at cleanup if a crash hazard was recorded (see CrashHazard) unless the test called
// ExpectCrashHazards or passed WithCrashHazardsAllowed.
func NewCluster(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c, err := StartCluster(n, opts...)
	if err != nil {
		t.Fatalf("deimostest: start cluster: %v", err)
	}
	t.Cleanup(func() {
		t.Helper()
		c.Close()
		c.reportHazards(t)
	})
	return c
}

// StartCluster starts an n-node cluster for programs; the caller must Close it.
func StartCluster(n int, opts ...Option) (*Cluster, error) {
	if n < 1 {
		return nil, errors.New("deimostest: a cluster needs at least one node")
	}
	cfg := newConfig(opts)
	c := &Cluster{cfg: cfg, done: make(chan struct{}), reaperDone: make(chan struct{})}
	c.store = newStore(cfg)
	c.raft.index.Store(cfg.startIndex + 10)
	c.raft.term.Store(2)
	go func() {
		defer close(c.reaperDone)
		c.store.reaper(c.done, c.withQuorum)
	}()
	for i := 0; i < n; i++ {
		if _, err := c.startNode(); err != nil {
			c.Close()
			return nil, err
		}
	}
	c.seedMembers()
	c.store.syncAll()
	if c.store.defaultLag > 0 {
		c.startApplier()
	}
	return c, nil
}

// startApplier starts, once, the goroutine that applies lagging nodes' events when due.
func (c *Cluster) startApplier() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.applierDone != nil {
		return
	}
	c.store.mu.Lock()
	c.store.lagging = true
	c.store.mu.Unlock()
	done := make(chan struct{})
	c.applierDone = done
	go func() {
		defer close(done)
		c.store.applier(c.done)
	}()
}

// reapDelay picks how late after its expiration a key is reaped.
func (cfg config) reapDelay() time.Duration {
	if cfg.reapMax <= cfg.reapMin {
		return cfg.reapMin
	}
	return cfg.reapMin + time.Duration(rand.Int64N(int64(cfg.reapMax-cfg.reapMin)+1))
}

var errClosed = errors.New("deimostest: cluster is closed")

// startNode creates and starts the next node.
func (c *Cluster) startNode() (*Node, error) {
	c.addMu.Lock()
	defer c.addMu.Unlock()
	c.mu.Lock()
	i := len(c.nodes)
	c.mu.Unlock()
	addr := "127.0.0.1:0"
	if c.cfg.basePort > 0 {
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(c.cfg.basePort+i))
	}
	name := "node" + strconv.Itoa(i+1)
	n := &Node{c: c, name: name, addr: addr, counts: map[string]int64{}, rep: c.store.newReplica(name)}
	if _, err := n.listen(); err != nil {
		c.store.removeReplica(n.rep)
		return nil, err
	}
	n.memberID = memberID(n.url)
	c.mu.Lock()
	if c.closed { // Close ran meanwhile and did not see this node
		c.mu.Unlock()
		n.Stop()
		return nil, errClosed
	}
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
	return n, nil
}

// AddNode starts a new node on the same store and registers it in /machines (a hidden
// create and a publish, when the cluster has member records).
func (c *Cluster) AddNode() (*Node, error) {
	n, err := c.startNode()
	if err != nil {
		return nil, err
	}
	if c.members {
		c.register(n)
		c.publish(n)
	}
	c.store.caughtUp(n.rep)
	return n, nil
}

func (c *Cluster) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close stops every node, ends every watch and the reaper. It is idempotent.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		nodes := append([]*Node(nil), c.nodes...)
		applierDone := c.applierDone
		c.mu.Unlock()
		for _, n := range nodes {
			n.Stop()
		}
		close(c.done)
		<-c.reaperDone
		if applierDone != nil {
			<-applierDone
		}
	})
}

// Endpoints returns every node's client URL, in node order.
func (c *Cluster) Endpoints() []string {
	nodes := c.Nodes()
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.URL()
	}
	return out
}

// Node returns node i (0-based).
func (c *Cluster) Node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Nodes returns all nodes.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

// Index returns the current (committed) store index.
func (c *Cluster) Index() uint64 { return c.store.Index() }

// History returns every event the store emitted (not only the last 1000) whose key equals
// prefix or lies under prefix+"/", in index order. Hidden keys are included. The full log
// lives in memory for the life of the cluster; the returned events are copies.
func (c *Cluster) History(prefix string) []Event {
	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	return c.store.history.under(prefix)
}

// Requests returns how many requests with the given method ("" for all) every node received.
func (c *Cluster) Requests(method string) int64 {
	var sum int64
	for _, n := range c.Nodes() {
		sum += n.Requests(method)
	}
	return sum
}

// Watchers returns how many long-poll watches are waiting for an event on the cluster's
// nodes, so a test can wait until a watch is in place before it writes (a write that
// happens before the poll is registered is answered from history instead). Watchers whose
// client left are not counted, although they still matter to CrashHazards.
func (c *Cluster) Watchers() int {
	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	n := 0
	for _, r := range c.store.replicas {
		n += r.watchers.live()
	}
	return n
}
