package watch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
)

// Cache keeps an in-memory copy of a subtree: it lists the subtree with one
// recursive read, then follows it with a recursive watch from the index of
// that read. When the events it needs have left the server's history it lists
// again and reports the difference, so it converges on the server's state
// after any outage. This is the list-then-watch pattern of Kubernetes
// informers and Curator's TreeCache.
//
// Keys that have expired but that the server has not reaped yet (it reaps
// seconds late) are kept as the server reports them; use kv.Node.Expired to
// tell them apart.
type Cache struct {
	prefix string
	src    poller
	cfg    config

	mu      sync.RWMutex
	nodes   map[string]*kv.Node // every key of the subtree, children not linked
	index   uint64
	advance chan struct{} // closed and replaced whenever index grows

	changes chan Change
	done    chan struct{}
	cancel  context.CancelFunc
	err     error

	relistJitter time.Duration
	listTimeout  time.Duration
	onRetry      func(error)
	optErr       error
}

// ChangeKind says what happened to a key of a Cache.
type ChangeKind int

// Kinds of change.
const (
	// Put: the key was created or its node changed.
	Put ChangeKind = iota + 1
	// Delete: the key left the subtree (deleted, expired, or gone at a re-list).
	Delete
)

// Change is one difference applied to a Cache, from an event or a re-list.
type Change struct {
	Kind ChangeKind
	Key  string
	// Node is the key's node after a Put; nil after a Delete.
	Node *kv.Node
	// Prev is the node the cache held before, nil if it had none.
	Prev *kv.Node
	// Index is the store index the cache reflected after the change.
	Index uint64
	// Resync is true for differences found by listing the subtree again.
	Resync bool
}

// CacheOption configures a Cache.
type CacheOption interface {
	applyCache(*Cache)
}

type cacheOptionFunc func(*Cache)

func (f cacheOptionFunc) applyCache(c *Cache) { f(c) }

// WithChanges makes the cache report every change on Changes, holding up to
// buffer of them. The cache stops following the server while the buffer is
// full, so read the channel; it catches up when reading resumes.
func WithChanges(buffer int) CacheOption {
	return cacheOptionFunc(func(c *Cache) {
		if buffer < 0 {
			buffer = 0
		}
		c.changes = make(chan Change, buffer)
	})
}

// WithRelistJitter makes the cache wait a random delay in [0, window) before
// it lists the subtree again after the events it needed left the server's
// history. Caches that fell behind together (a burst of writes elsewhere
// flushes the history of every idle watcher at once) then spread their
// listings over the window instead of all reading the whole subtree in the
// same instant. The default is 0: list again at once.
func WithRelistJitter(window time.Duration) CacheOption {
	return cacheOptionFunc(func(c *Cache) {
		if window < 0 {
			c.optErr = fmt.Errorf("%w: re-list jitter %v must not be negative", ErrInvalidOption, window)
			return
		}
		c.relistJitter = window
	})
}

// WithListTimeout bounds each listing of the subtree, the first one and every
// re-list, to d. Without it a listing retries until the cache's context ends,
// so NewCache blocks while the cluster is unreachable and a re-list never
// reports a failure; with it NewCache returns the error after d and a failed
// re-list is retried with backoff (and reported to WithRetryHook).
func WithListTimeout(d time.Duration) CacheOption {
	return cacheOptionFunc(func(c *Cache) {
		if d < 0 {
			c.optErr = fmt.Errorf("%w: list timeout %v must not be negative", ErrInvalidOption, d)
			return
		}
		c.listTimeout = d
	})
}

// WithRetryHook calls f with the error of every poll and listing of the cache
// that failed, before the cache retries it (after a history that was cleared,
// the error matches kv.ErrEventIndexCleared and the retry is a re-list). It
// lets an owner tell a cache that follows the server from one that keeps
// failing. f runs on the cache's goroutine and must return quickly.
func WithRetryHook(f func(err error)) CacheOption {
	return cacheOptionFunc(func(c *Cache) { c.onRetry = f })
}

// NewCache lists prefix (which must exist or be creatable as a directory
// path; a missing prefix is an empty cache) and then follows it in the
// background until ctx ends or Close is called. It returns the error of the
// first listing, so a cache that is returned is already filled.
func NewCache(ctx context.Context, c Client, prefix string, opts ...CacheOption) (*Cache, error) {
	clean, err := kv.CleanKey(prefix)
	if err != nil {
		return nil, err
	}
	cache := &Cache{
		prefix:  clean,
		src:     sourceOf(c),
		cfg:     defaultConfig(),
		nodes:   make(map[string]*kv.Node),
		advance: make(chan struct{}),
		done:    make(chan struct{}),
	}
	cache.cfg.recursive = true
	for _, o := range opts {
		o.applyCache(cache)
	}
	if cache.optErr != nil {
		return nil, cache.optErr
	}
	if cache.onRetry != nil || cache.listTimeout > 0 {
		cache.src = observedSource{poller: cache.src, onRetry: cache.onRetry, listTimeout: cache.listTimeout}
	}
	if err := cache.relist(ctx, false); err != nil {
		return nil, err
	}
	ctx, cache.cancel = context.WithCancel(ctx)
	go cache.run(ctx)
	return cache, nil
}

// Get returns a copy of the node of key, if the cache holds it.
func (c *Cache) Get(key string) (*kv.Node, bool) {
	clean, err := kv.CleanKey(key)
	if err != nil {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, ok := c.nodes[clean]
	if !ok {
		return nil, false
	}
	cp := *n
	return &cp, true
}

// List returns copies of every node in the cache, sorted by key, and the
// index they reflect.
func (c *Cache) List() ([]*kv.Node, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*kv.Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		cp := *n
		out = append(out, &cp)
	}
	slices.SortFunc(out, func(a, b *kv.Node) int { return strings.Compare(a.Key, b.Key) })
	return out, c.index
}

// Index returns the store index the cache reflects: the index of its last
// listing or of the last event it applied.
func (c *Cache) Index() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.index
}

// WaitForIndex blocks until the cache reflects index i or later, for reading
// your own writes: after a write under the prefix returned index i, the cache
// holds its effect once WaitForIndex(ctx, i) returns nil. An index of a write
// elsewhere may not be reached until the subtree changes again. When it
// returns, every change up to i has also been handed to Changes.
func (c *Cache) WaitForIndex(ctx context.Context, i uint64) error {
	for {
		c.mu.RLock()
		idx, advance := c.index, c.advance
		c.mu.RUnlock()
		if idx >= i {
			return nil
		}
		select {
		case <-advance:
		case <-c.done:
			if err := c.Err(); err != nil {
				return err
			}
			return fmt.Errorf("watch: cache of %s closed at index %d before %d", c.prefix, idx, i)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Changes returns the channel of changes enabled by WithChanges (nil without
// it). It is closed when the cache stops.
func (c *Cache) Changes() <-chan Change { return c.changes }

// Done is closed when the cache has stopped following the server.
func (c *Cache) Done() <-chan struct{} { return c.done }

// Err returns why the cache stopped: nil while it runs and after its context
// ended or Close.
func (c *Cache) Err() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.err
}

// Close stops the cache and waits for its goroutine to end. What it holds
// stays readable.
func (c *Cache) Close() {
	c.cancel()
	<-c.done
}

func (c *Cache) run(ctx context.Context) {
	defer close(c.done)
	if c.changes != nil {
		defer close(c.changes)
	}
	for {
		cfg := c.cfg
		cfg.afterIndex, cfg.hasAfter = c.Index(), true
		s := startStream(ctx, c.src, c.prefix, cfg)
		for ev := range s.Events() {
			if !c.apply(ctx, ev) {
				s.Close()
				return
			}
		}
		err := s.Err()
		switch {
		case err == nil: // context ended
			return
		case errors.Is(err, kv.ErrEventIndexCleared):
			if !c.relistUntilDone(ctx) {
				return
			}
		default:
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
	}
}

// relistUntilDone lists again after the history was cleared, retrying
// transient failures with backoff until ctx ends.
func (c *Cache) relistUntilDone(ctx context.Context) bool {
	if c.relistJitter > 0 && !wait.Sleep(ctx, rand.N(c.relistJitter)) {
		return false
	}
	b := c.cfg.newBackoff()
	for {
		err := c.relist(ctx, true)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if terminal(err) && !errors.Is(err, kv.ErrKeyNotFound) {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return false
		}
		if !wait.Sleep(ctx, b.NextBackOff()) {
			return false
		}
	}
}

// relist reads the whole subtree and replaces the cache's content with it,
// reporting the differences when report is set.
func (c *Cache) relist(ctx context.Context, report bool) error {
	root, idx, err := c.src.list(ctx, c.prefix)
	if err != nil {
		return fmt.Errorf("watch: listing %s: %w", c.prefix, err)
	}
	fresh := make(map[string]*kv.Node)
	flatten(root, fresh)

	c.mu.Lock()
	old := c.nodes
	c.nodes = fresh
	c.mu.Unlock()

	if report {
		for _, ch := range diff(old, fresh, idx) {
			if !c.emit(ctx, ch) {
				return ctx.Err()
			}
		}
	}
	c.setIndex(idx)
	return nil
}

// apply folds one event into the cache.
func (c *Cache) apply(ctx context.Context, ev Event) bool {
	idx := ev.Index()
	var changes []Change
	c.mu.Lock()
	if ev.IsDelete() {
		changes = c.removeLocked(ev.Node.Key, idx)
	} else {
		changes = c.putLocked(ev.Node, idx)
	}
	c.mu.Unlock()
	for _, ch := range changes {
		if !c.emit(ctx, ch) {
			return false
		}
	}
	c.setIndex(idx)
	return true
}

// putLocked stores n, creating the parent directories the server creates
// implicitly (it emits no event for them).
func (c *Cache) putLocked(n *kv.Node, idx uint64) []Change {
	var changes []Change
	for _, dir := range parents(c.prefix, n.Key) {
		if _, ok := c.nodes[dir]; !ok {
			d := &kv.Node{Key: dir, Dir: true, CreatedIndex: idx, ModifiedIndex: idx}
			c.nodes[dir] = d
			changes = append(changes, Change{Kind: Put, Key: dir, Node: copyNode(d), Index: idx})
		}
	}
	cp := *n
	cp.Nodes = nil
	prev := c.nodes[n.Key]
	c.nodes[n.Key] = &cp
	return append(changes, Change{Kind: Put, Key: n.Key, Node: copyNode(&cp), Prev: copyNode(prev), Index: idx})
}

// removeLocked deletes key and, for a directory, everything below it.
func (c *Cache) removeLocked(key string, idx uint64) []Change {
	var changes []Change
	for k, n := range c.nodes {
		if k == key || strings.HasPrefix(k, strings.TrimSuffix(key, "/")+"/") {
			delete(c.nodes, k)
			changes = append(changes, Change{Kind: Delete, Key: k, Prev: copyNode(n), Index: idx})
		}
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(b.Key, a.Key) })
	return changes
}

// setIndex advances the index the cache reflects, after the changes up to it
// were applied and handed to Changes, and wakes WaitForIndex callers.
func (c *Cache) setIndex(idx uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if idx > c.index {
		c.index = idx
		close(c.advance)
		c.advance = make(chan struct{})
	}
}

func (c *Cache) emit(ctx context.Context, ch Change) bool {
	if c.changes == nil {
		return true
	}
	select {
	case c.changes <- ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// observedSource reports the failed polls and listings of a cache to its
// retry hook, and bounds each listing by the list timeout.
type observedSource struct {
	poller
	onRetry     func(error)
	listTimeout time.Duration
}

func (s observedSource) poll(ctx context.Context, endpoint, key string, waitIndex uint64, recursive bool) (*kv.Response, string, error) {
	resp, ep, err := s.poller.poll(ctx, endpoint, key, waitIndex, recursive)
	s.report(ctx, err)
	return resp, ep, err
}

func (s observedSource) list(ctx context.Context, key string) (*kv.Node, uint64, error) {
	lctx := ctx
	if s.listTimeout > 0 {
		var cancel context.CancelFunc
		lctx, cancel = context.WithTimeout(ctx, s.listTimeout)
		defer cancel()
	}
	root, idx, err := s.poller.list(lctx, key)
	s.report(ctx, err)
	return root, idx, err
}

// report passes a failure to the hook, unless the cache itself is stopping.
func (s observedSource) report(ctx context.Context, err error) {
	if err != nil && s.onRetry != nil && ctx.Err() == nil {
		s.onRetry(err)
	}
}

// flatten records n and its descendants by key, without child links.
func flatten(n *kv.Node, into map[string]*kv.Node) {
	if n == nil {
		return
	}
	cp := *n
	cp.Nodes = nil
	into[n.Key] = &cp
	for _, child := range n.Nodes {
		flatten(child, into)
	}
}

// diff returns the changes that turn old into fresh, deletions deepest first
// and puts in key order.
func diff(old, fresh map[string]*kv.Node, idx uint64) []Change {
	var dels, puts []Change
	for k, n := range old {
		if _, ok := fresh[k]; !ok {
			dels = append(dels, Change{Kind: Delete, Key: k, Prev: n, Index: idx, Resync: true})
		}
	}
	for k, n := range fresh {
		prev, ok := old[k]
		if ok && sameNode(prev, n) {
			continue
		}
		puts = append(puts, Change{Kind: Put, Key: k, Node: copyNode(n), Prev: prev, Index: idx, Resync: true})
	}
	slices.SortFunc(dels, func(a, b Change) int { return strings.Compare(b.Key, a.Key) })
	slices.SortFunc(puts, func(a, b Change) int { return strings.Compare(a.Key, b.Key) })
	return append(dels, puts...)
}

// sameNode reports whether a re-list found b unchanged from a. The expiration
// is compared too: a directory's TTL update leaves its stored modifiedIndex
// as it was (docs/protocol.md §9 BUG), so the indexes alone miss it.
func sameNode(a, b *kv.Node) bool {
	return a.Value == b.Value && a.Dir == b.Dir && a.ModifiedIndex == b.ModifiedIndex &&
		a.CreatedIndex == b.CreatedIndex && sameExpiration(a.Expiration, b.Expiration)
}

func sameExpiration(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// parents lists the directories strictly between prefix and key, shallowest
// first.
func parents(prefix, key string) []string {
	var out []string
	for i := len(prefix); i < len(key); i++ {
		if key[i] == '/' && i > 0 {
			out = append(out, key[:i])
		}
	}
	return out
}

func copyNode(n *kv.Node) *kv.Node {
	if n == nil {
		return nil
	}
	cp := *n
	return &cp
}
