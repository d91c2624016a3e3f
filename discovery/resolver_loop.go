package discovery

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/watch"
)

// loop is the state of a resolver's goroutine: the view, whether it is
// stale, and the check read in flight.
type loop struct {
	r     *Resolver
	view  *view
	stale bool
	since time.Time
	err   error

	reading bool
	reads   chan readResult
	wg      sync.WaitGroup
	expiry  *time.Timer // the earliest expiry to confirm
	retry   *time.Timer // the next check read while stale
	backoff *backoff.ExponentialBackOff
}

// readResult is a check read of the service directory: a quorum read
// (docs/protocol.md §13.2), so it both proves the cluster serves reads and
// tells which keys the server still holds.
type readResult struct {
	at    time.Time
	nodes map[string]*kv.Node
	index uint64
	err   error
}

func newLoop(r *Resolver) *loop {
	return &loop{
		r:       r,
		view:    newView(r.cfg.layout, r.cfg.expiryGrace, r.cfg.logger),
		stale:   true,
		since:   r.current.Load().Since,
		reads:   make(chan readResult, 1),
		expiry:  stoppedTimer(),
		retry:   stoppedTimer(),
		backoff: r.cfg.newBackoff(),
	}
}

// run follows the service until ctx ends, re-opening the cache with backoff
// when it fails; cache, when not nil, is already open.
func (l *loop) run(ctx context.Context, cache *watch.Cache) {
	r := l.r
	defer l.finish()
	b := r.cfg.newBackoff()
	for {
		if cache == nil {
			var err error
			if cache, err = r.open(ctx); err != nil {
				if l.stopsFor(ctx, err) || !l.waitAfter(ctx, err, b) {
					return
				}
				continue
			}
		}
		b.Reset()
		err := l.follow(ctx, cache)
		cache.Close()
		cache = nil
		if l.stopsFor(ctx, err) || !l.waitAfter(ctx, err, b) {
			return
		}
	}
}

// follow folds the cache's changes into the view and publishes them until
// the cache stops; it returns the cache's error (nil when ctx ended).
func (l *loop) follow(ctx context.Context, cache *watch.Cache) error {
	select { // failures before this listing are moot
	case <-l.r.retries:
	default:
	}
	l.load(cache)
	for {
		l.armExpiry()
		select {
		case ch, ok := <-cache.Changes():
			if !ok {
				return cache.Err()
			}
			l.fold(cache, ch)
		case <-l.r.retries:
			l.startRead(ctx) // a poll failed: can we still read?
		case res := <-l.reads:
			l.settle(res)
		case <-l.expiry.C:
			l.startRead(ctx)
		case <-l.retry.C:
			l.startRead(ctx)
		case <-ctx.Done():
			return nil
		}
	}
}

// load takes the cache's listing as the whole truth.
func (l *loop) load(cache *watch.Cache) {
	nodes, idx := cache.List()
	l.view.load(nodes, idx)
	l.markFresh()
	l.publish()
}

// fold applies ch and whatever else the cache has ready, then publishes once.
func (l *loop) fold(cache *watch.Cache, ch watch.Change) {
	changed := l.view.apply(ch)
drain:
	for range 1024 {
		select {
		case ch, ok := <-cache.Changes():
			if !ok {
				break drain // follow sees the closed channel next
			}
			changed = l.view.apply(ch) || changed
		default:
			break drain
		}
	}
	// An event arrived, so the watch works again.
	if l.markFresh() || changed {
		l.publish()
	}
}

// startRead reads the directory in the background, unless a read runs.
func (l *loop) startRead(ctx context.Context) {
	if l.reading {
		return
	}
	l.reading = true
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		res := l.read(ctx)
		select {
		case l.reads <- res:
		case <-ctx.Done():
		}
	}()
}

func (l *loop) read(ctx context.Context) readResult {
	res := readResult{at: l.r.cfg.now()}
	rctx, cancel := context.WithTimeout(ctx, l.r.cfg.listTimeout)
	defer cancel()
	resp, err := l.r.client.KV().Get(rctx, l.r.dir, kv.WithRecursive())
	var se *kv.Error
	switch {
	case errors.As(err, &se): // the server answered: no such directory
		res.index = se.Index
	case err != nil:
		res.err = err
	default:
		res.index = resp.Index
		res.nodes = make(map[string]*kv.Node)
		flattenFiles(resp.Node, res.nodes)
	}
	return res
}

// settle applies a check read: a failure makes the resolver stale (and
// retries with backoff); a success makes it fresh and confirms the expiries
// that were due.
func (l *loop) settle(res readResult) {
	l.reading = false
	if res.err != nil {
		l.markStale(res.err)
		l.retry.Reset(l.backoff.NextBackOff())
		l.publish()
		return
	}
	l.backoff.Reset()
	l.retry.Stop()
	changed := l.view.confirm(res.nodes, res.index, res.at)
	if l.markFresh() || changed {
		l.publish()
	}
}

// armExpiry sets the expiry timer for the earliest expiry to confirm. While
// stale no expiry is confirmed: the registrations may be alive and
// refreshed where the resolver cannot see, so the last list is kept.
func (l *loop) armExpiry() {
	next, ok := l.view.nextCheck()
	if !ok || l.stale || l.reading {
		l.expiry.Stop()
		return
	}
	l.expiry.Reset(max(0, next.Sub(l.r.cfg.now())))
}

func (l *loop) markStale(err error) {
	if !l.stale {
		l.stale, l.since = true, l.r.cfg.now()
	}
	l.err = err
}

// markFresh reports whether the resolver was stale.
func (l *loop) markFresh() bool {
	if !l.stale {
		return false
	}
	l.stale, l.since, l.err = false, l.r.cfg.now(), nil
	return true
}

func (l *loop) publish() {
	inst := l.view.instances()
	prev := l.r.current.Load()
	l.r.publish(&Snapshot{
		Service:   l.r.service,
		Instances: inst,
		Index:     l.view.index,
		Stale:     l.stale,
		Since:     l.since,
		Err:       l.err,
		Emptied:   len(inst) == 0 && (len(prev.Instances) > 0 || prev.Emptied),
	})
}

// stopsFor reports whether the resolver must stop: its context ended, or its
// client was closed (recorded as the resolver's error).
func (l *loop) stopsFor(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	if errors.Is(err, kv.ErrClosed) {
		l.r.err = err
		return true
	}
	return false
}

// waitAfter marks the resolver stale after the cache failed and waits before
// the next attempt; false if ctx ended meanwhile.
func (l *loop) waitAfter(ctx context.Context, err error, b backoff.BackOff) bool {
	l.markStale(err)
	l.publish()
	return wait.Sleep(ctx, b.NextBackOff())
}

func (l *loop) finish() {
	l.r.cancel()
	l.wg.Wait()
	l.expiry.Stop()
	l.retry.Stop()
	close(l.r.updates)
	close(l.r.done)
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// flattenFiles records the files below n by key.
func flattenFiles(n *kv.Node, into map[string]*kv.Node) {
	if n == nil {
		return
	}
	if !n.Dir {
		into[n.Key] = n
	}
	for _, c := range n.Nodes {
		flattenFiles(c, into)
	}
}
