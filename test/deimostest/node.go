package deimostest

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Node is one member's HTTP listener. Its methods are safe for concurrent use.
type Node struct {
	c        *Cluster
	name     string
	addr     string // host:port, fixed after the first start
	url      string
	memberID uint64
	rep      *replica // the node's view for watches; fixed

	mu      sync.Mutex
	gen     *generation   // nil while stopped
	resume  chan struct{} // non-nil while paused; closed by Resume
	latency time.Duration
	slots   chan struct{} // one per request the node works on at once; nil: no limit
	hook    Hook
	counts  map[string]int64
	total   int64
	started bool
}

// generation is one run of a node's HTTP server, from Start to Stop.
type generation struct {
	srv     *http.Server
	stop    chan struct{}
	served  chan struct{}
	dying   atomic.Bool // set before the connections are cut: watches then are not abandoned
	mu      sync.Mutex
	stopped bool
	active  sync.WaitGroup
}

// enter registers a running handler; it fails once the generation is stopping.
func (g *generation) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.active.Add(1)
	return true
}

// shutdown closes the listener and every connection, ends the handlers and waits for them.
func (g *generation) shutdown() {
	g.dying.Store(true)
	_ = g.srv.Close()
	g.mu.Lock()
	g.stopped = true
	close(g.stop)
	g.mu.Unlock()
	g.active.Wait()
	<-g.served
}

// URL is the node's client URL, e.g. http://127.0.0.1:40123.
func (n *Node) URL() string { return n.url }

// Name is the node's member name (node1, node2, ...).
func (n *Node) Name() string { return n.name }

// Running reports whether the node is started.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.gen != nil
}

// Stop closes the listener and every open connection: clients get connection refused,
// and requests in flight (watches included) see their connection cut. The node's watchers,
// abandoned ones too, are gone, as with a dead process. It is a no-op on a stopped node.
func (n *Node) Stop() {
	n.mu.Lock()
	g := n.gen
	n.gen = nil
	n.mu.Unlock()
	if g != nil {
		g.shutdown()
		n.c.store.dropAbandoned(n.rep)
	}
}

// Start restarts a stopped node on the same address. Like a real restart it catches up
// with the store (it replays its log) and republishes the node's member record (one more
// hidden set event) when the cluster has member records. It is a no-op on a running node.
func (n *Node) Start() error {
	restarted, err := n.listen()
	if err != nil || !restarted {
		return err
	}
	n.c.publish(n)
	n.c.store.caughtUp(n.rep)
	return nil
}

// listen binds the node's address and serves it. restarted is true when the node had
// been started before.
func (n *Node) listen() (restarted bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.c.isClosed() {
		return false, errClosed
	}
	if n.gen != nil {
		return false, nil
	}
	ln, err := listenLoopback(n.addr)
	if err != nil {
		return false, err
	}
	n.addr = ln.Addr().String()
	scheme := "http"
	if cfg := n.c.cfg.tlsConfig; cfg != nil {
		ln, scheme = tls.NewListener(ln, cfg), "https"
	}
	if !n.started {
		// Set once, before the node is published: a restart binds the same
		// address, and URL is read without the lock (Endpoints while a
		// nemesis restarts the node).
		n.url = scheme + "://" + n.addr
	}
	if n.started {
		n.c.store.caughtUp(n.rep) // a restarted node has replayed its log before it serves
	}
	g := &generation{stop: make(chan struct{}), served: make(chan struct{})}
	g.srv = &http.Server{
		Handler:      &nodeHandler{n: n, g: g},
		ErrorLog:     log.New(io.Discard, "", 0),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() {
		defer close(g.served)
		_ = g.srv.Serve(ln)
	}()
	n.gen = g
	restarted, n.started = n.started, true
	return restarted, nil
}

// Pause makes the node accept connections but answer nothing (like SIGSTOP) until Resume.
// Watches in progress hold their event and their end (even past the watch timeout), and a
// request already being processed holds its answer. Requests whose client gives up
// meanwhile are dropped without being applied.
func (n *Node) Pause() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.resume == nil {
		n.resume = make(chan struct{})
	}
}

// Resume undoes Pause; held requests are then served.
func (n *Node) Resume() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.resume != nil {
		close(n.resume)
		n.resume = nil
	}
}

// waitResumed blocks while the node is paused. It returns false if the client left or
// the node stopped meanwhile.
func (n *Node) waitResumed(ctx context.Context, stop <-chan struct{}) bool {
	for {
		n.mu.Lock()
		ch := n.resume
		n.mu.Unlock()
		if ch == nil {
			return ctx.Err() == nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-stop:
			return false
		}
	}
}

// SetLatency delays every answer of this node by d (0 removes it). The delay happens
// before the request is processed; a request already delayed is still processed after
// its client gave up, as one in flight on a slow network would be.
func (n *Node) SetLatency(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.latency = d
}

// SetCapacity makes the node work on at most n requests at a time (0 removes
// the limit); the others wait their turn in arrival order, and each one's
// latency (SetLatency) starts when its turn comes. A real node is bound by
// its raft log, every GET included (docs/protocol.md §13.2): with a latency
// of 2 ms and a capacity of 4, this node serves at most 2,000 requests a
// second, and under more load than that its answers queue, which is the
// shape hedged reads must not make worse. Watches waiting for an event are
// not counted: a real node holds them without raft work. A request already
// in line keeps its place after its client gave up, as one a real node has
// proposed would.
func (n *Node) SetCapacity(capacity int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.slots = nil
	if capacity > 0 {
		n.slots = make(chan struct{}, capacity)
	}
}

// take waits for a turn to work on r under the node's capacity and returns
// how to give it back; false if the node stopped meanwhile.
func (n *Node) take(r *http.Request, stop <-chan struct{}) (release func(), ok bool) {
	n.mu.Lock()
	slots := n.slots
	n.mu.Unlock()
	if slots == nil || r.URL.Query().Get("wait") == "true" {
		return func() {}, true
	}
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, true
	case <-stop:
		return nil, false
	}
}

// delay sleeps for the node's latency; false if the node stopped meanwhile.
func (n *Node) delay(stop <-chan struct{}) bool {
	n.mu.Lock()
	d := n.latency
	n.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// SetHook installs a hook consulted for every request this node receives (nil removes it).
func (n *Node) SetHook(h Hook) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hook = h
}

// Requests returns how many requests with the given method ("" for all) this node received.
// Every request counts, including those a fault or a pause swallowed.
func (n *Node) Requests(method string) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if method == "" {
		return n.total
	}
	return n.counts[method]
}

// count records an incoming request and returns its 1-based sequence number and the hook.
func (n *Node) count(method string) (int64, Hook) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.total++
	n.counts[method]++
	return n.total, n.hook
}
