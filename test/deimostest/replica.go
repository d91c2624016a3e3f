package deimostest

import "time"

// replica is one node's view of the store for watches: how much of the committed event
// log the node has applied, its own watchers and its lag. A node applies the committed
// events in index order, each lag after its commit, or at once when it answers a
// non-watch request (raft applies before it answers, docs/protocol.md §13.2). Guarded by
// store.mu.
type replica struct {
	name      string
	pos       int    // events of the log applied
	applied   uint64 // the store index the node has applied
	lag       time.Duration
	ownLag    bool // lag was set by Node.SetWatchLag; else the cluster's WithWatchLag
	watchers  watchers
	abandoned []*watcher // watchers whose client left, pruned lazily
	pruneAt   int
}

// newReplica adds the view of a new node, up to date with the store.
func (s *store) newReplica(name string) *replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &replica{name: name, pos: len(s.history.all), applied: s.index, watchers: newWatchers()}
	s.replicas = append(s.replicas, r)
	return r
}

// removeReplica forgets the view of a node that failed to start.
func (s *store) removeReplica(r *replica) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.replicas {
		if x == r {
			s.replicas = append(s.replicas[:i], s.replicas[i+1:]...)
			return
		}
	}
}

// lagOf is the node's current watch lag.
func (s *store) lagOf(r *replica) time.Duration {
	if r.ownLag {
		return r.lag
	}
	return s.defaultLag
}

// catchUp applies every committed event r has not applied yet.
func (s *store) catchUp(r *replica) {
	now := s.now()
	for r.pos < len(s.history.all) {
		s.applyNext(r, now)
	}
	r.applied = max(r.applied, s.index) // indexes skipped at boot have no event
}

// caughtUp is catchUp for callers that do not hold s.mu.
func (s *store) caughtUp(r *replica) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUp(r)
}

// syncAll brings every node up to date (at boot, before anyone watches).
func (s *store) syncAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.replicas {
		s.catchUp(r)
	}
}

// applyNext applies the next committed event on r: it becomes part of r's history, the
// crash-hazard detector checks it, and r's watchers are notified.
func (s *store) applyNext(r *replica, now time.Time) {
	i := r.pos
	l := &s.history.all[i]
	r.pos++
	r.applied = l.ev.index()
	if l.gone != nil {
		s.checkHazard(r, l, now)
	}
	r.watchers.notify(l.ev, l.gone != nil)
	if l.gone != nil && s.appliedEverywhere(i) {
		l.gone = nil // no node needs the frozen subtree any more
	}
}

// appliedEverywhere reports whether every node has applied the event at position i.
func (s *store) appliedEverywhere(i int) bool {
	for _, r := range s.replicas {
		if r.pos <= i {
			return false
		}
	}
	return true
}

// applyDue applies, on every lagging node, the events whose lag has passed at now, and
// returns when the next one is due (ok=false: nothing is pending).
func (s *store) applyDue(now time.Time) (next time.Time, ok bool) {
	for _, r := range s.replicas {
		lag := s.lagOf(r)
		for r.pos < len(s.history.all) && !s.history.all[r.pos].at.Add(lag).After(now) {
			s.applyNext(r, now)
		}
		if r.pos == len(s.history.all) {
			continue
		}
		if due := s.history.all[r.pos].at.Add(lag); !ok || due.Before(next) {
			next, ok = due, true
		}
	}
	return next, ok
}

// wakeApplier nudges the applier without blocking.
func (s *store) wakeApplier() {
	select {
	case s.applyKick <- struct{}{}:
	default:
	}
}

// applier applies lagging nodes' events when they are due, until done is closed. The
// cluster runs one, and only once some node has a lag.
func (s *store) applier(done <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		next, ok := s.applyDue(s.now())
		s.mu.Unlock()
		wait := time.Hour
		if ok {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-done:
			return
		case <-s.applyKick:
		case <-timer.C:
		}
	}
}

// setLag changes r's lag (own=false: back to the cluster's). A node whose lag becomes 0
// applies everything pending at once. It reports whether the node now lags.
func (s *store) setLag(r *replica, d time.Duration, own bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.lag, r.ownLag = max(d, 0), own
	if s.lagOf(r) == 0 {
		s.catchUp(r)
		return false
	}
	s.wakeApplier()
	return true
}

// prune forgets the abandoned watchers that an event consumed or whose timeout passed.
func (r *replica) prune(now time.Time) {
	keep := r.abandoned[:0]
	for _, w := range r.abandoned {
		switch {
		case w.done:
		case !w.active(now):
			r.watchers.remove(w)
		default:
			keep = append(keep, w)
		}
	}
	clear(r.abandoned[len(keep):])
	r.abandoned = keep
	r.pruneAt = 2*len(keep) + 16
}

// dropAbandoned forgets every abandoned watcher of r (its process stopped).
func (s *store) dropAbandoned(r *replica) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range r.abandoned {
		r.watchers.remove(w)
	}
	r.abandoned, r.pruneAt = nil, 0
}

// SetWatchLag makes this node's watches trail the committed store by d: a committed event
// reaches the node's watchers and its watch history d after the commit, unless the node
// answers a non-watch request first (which brings it up to date, as raft applies before it
// answers). d <= 0 makes the node apply everything at once. It overrides WithWatchLag until
// ClearWatchLag.
func (n *Node) SetWatchLag(d time.Duration) {
	if n.c.store.setLag(n.rep, d, true) {
		n.c.startApplier()
	}
}

// ClearWatchLag undoes SetWatchLag: the node trails the store by the cluster's
// WithWatchLag again (0 by default, and then it applies everything pending at once).
func (n *Node) ClearWatchLag() {
	if n.c.store.setLag(n.rep, 0, false) {
		n.c.startApplier()
	}
}

// AppliedIndex returns the store index this node has applied for its watches. It equals
// Cluster.Index unless the node lags (SetWatchLag, WithWatchLag).
func (n *Node) AppliedIndex() uint64 {
	n.c.store.mu.Lock()
	defer n.c.store.mu.Unlock()
	return n.rep.applied
}

// Watchers returns how many long-poll watches are waiting for an event on this node
// (abandoned ones, whose client left, are not counted).
func (n *Node) Watchers() int {
	n.c.store.mu.Lock()
	defer n.c.store.mu.Unlock()
	return n.rep.watchers.live()
}
