package discovery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// Resolver follows the instances of one service: it lists the service's
// directory and watches it recursively (a watch.Cache), and publishes a new
// Snapshot whenever the set of instances or its freshness changes.
//
// It is built for a registry that misbehaves: it starts without the cluster
// and fills in later, keeps the last known list while the cluster is
// unreachable (Snapshot.Stale), ignores heartbeats, hides instances whose
// TTL ran out even when the server reaps them late, flags a list that
// suddenly empties (Snapshot.Emptied), and spreads its re-lists after the
// server's history moved past it.
type Resolver struct {
	service string
	dir     string
	cfg     resolverConfig
	client  watch.Client

	current atomic.Pointer[Snapshot]
	updates chan Snapshot

	mu        sync.Mutex // serialises publishing and subscribing
	listeners map[int]func(Snapshot)
	nextID    int
	published uint64

	retries chan error // failed polls and lists, from the cache's hook
	done    chan struct{}
	cancel  context.CancelFunc
	err     error // why it stopped; written before done is closed
}

// NewResolver starts resolving service through client until ctx ends or
// Close is called. It fails only for invalid input (a service name the
// layout rejects, an invalid option) or, with WithRequireFirstList, when the
// first listing fails; otherwise a cluster that is down makes it start
// stale and empty.
func NewResolver(ctx context.Context, client watch.Client, service string, opts ...ResolverOption) (*Resolver, error) {
	cfg := defaultResolverConfig()
	for _, o := range opts {
		o.applyResolver(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	dir, err := cfg.layout.Dir(service)
	if err != nil {
		return nil, err
	}
	r := &Resolver{
		service:   service,
		dir:       dir,
		cfg:       cfg,
		client:    client,
		updates:   make(chan Snapshot, 1),
		listeners: map[int]func(Snapshot){},
		retries:   make(chan error, 1),
		done:      make(chan struct{}),
	}
	r.current.Store(&Snapshot{Service: service, Stale: true, Since: cfg.now()})
	ctx, r.cancel = context.WithCancel(ctx)
	l := newLoop(r)
	var first *watch.Cache
	if cfg.requireFirst {
		if first, err = r.open(ctx); err != nil {
			r.cancel()
			return nil, fmt.Errorf("discovery: resolving %s: %w", service, err)
		}
		l.load(first) // visible before NewResolver returns
	}
	go l.run(ctx, first)
	return r, nil
}

// Service returns the resolved service's name.
func (r *Resolver) Service() string { return r.service }

// Dir returns the directory the resolver watches.
func (r *Resolver) Dir() string { return r.dir }

// Snapshot returns the latest snapshot. It never blocks.
func (r *Resolver) Snapshot() Snapshot { return *r.current.Load() }

// Updates returns a channel that holds the latest snapshot not yet received:
// a new snapshot replaces one nobody read, so a slow reader skips straight
// to the newest state and never blocks the resolver. It is closed when the
// resolver stops. There is one channel per resolver; it suits one reader.
func (r *Resolver) Updates() <-chan Snapshot { return r.updates }

// Done is closed when the resolver has stopped.
func (r *Resolver) Done() <-chan struct{} { return r.done }

// Err returns why the resolver stopped: nil while it runs and after Close or
// the end of its context; an error matching kv.ErrClosed when its client
// was closed.
func (r *Resolver) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// Close stops the resolver and waits for its goroutines to end. The last
// snapshot stays readable.
func (r *Resolver) Close() {
	r.cancel()
	<-r.done
}

// subscribe calls f with the current snapshot and then with every one
// published, on the resolver's goroutine, until the returned function is
// called. f must not block or call back into the resolver.
func (r *Resolver) subscribe(f func(Snapshot)) (unsubscribe func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.nextID
	r.nextID++
	r.listeners[id] = f
	f(*r.current.Load())
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.listeners, id)
	}
}

// publish hands s to subscribers, then stores it and hands it to the reader
// of Updates, unless it tells nothing new. Subscribers (balancers) come
// first, so that whoever sees s in Snapshot or Updates can rely on the
// balancers already picking from it: once the resolver shows an instance
// draining, no balancer picks it, and once it shows new instances, balancers
// can pick them.
func (r *Resolver) publish(s *Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sameContent(r.current.Load(), s) {
		r.current.Store(s) // a newer index or error, nothing to wake anyone for
		return
	}
	for _, f := range r.listeners {
		f(*s)
	}
	r.current.Store(s)
	r.published++
	select { // latest wins: drop the unread one
	case <-r.updates:
	default:
	}
	r.updates <- *s
}

// onRetry is the cache's retry hook: it tells the resolver's loop that a
// poll or listing failed, without blocking the cache.
func (r *Resolver) onRetry(err error) {
	if errors.Is(err, kv.ErrEventIndexCleared) {
		return // the cache re-lists; nothing is wrong with the cluster
	}
	select {
	case r.retries <- err:
	default:
	}
}

// open starts the cache of the service directory, which lists it first.
func (r *Resolver) open(ctx context.Context) (*watch.Cache, error) {
	return watch.NewCache(ctx, r.client, r.dir,
		watch.WithChanges(256),
		watch.WithListTimeout(r.cfg.listTimeout),
		watch.WithRelistJitter(r.cfg.relistJitter),
		watch.WithRetryHook(r.onRetry),
	)
}
