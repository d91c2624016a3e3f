package deimostest

import (
	"path"
	"strings"
	"time"
)

// watcher is one pending long-poll watch on one node. It receives at most one event.
// Once its client has gone (abandoned) it stays registered, as on the real server, until
// an event consumes it or its watch timeout (deadline) passes; it then only matters to the
// crash-hazard detector. Its fields are guarded by store.mu.
type watcher struct {
	key       string
	recursive bool
	since     uint64
	ch        chan *Event // buffered 1
	abandoned bool
	deadline  time.Time // when the server would end it; set when abandoned
	done      bool      // no longer registered
}

// active reports whether w still exists on the real server at now.
func (w *watcher) active(now time.Time) bool {
	return !w.done && (!w.abandoned || now.Before(w.deadline))
}

// watchers is one node's registry of watchers by watched key. Guarded by store.mu.
type watchers struct {
	byKey map[string]map[*watcher]struct{}
}

func newWatchers() watchers { return watchers{byKey: map[string]map[*watcher]struct{}{}} }

func (ws *watchers) add(w *watcher) {
	set, ok := ws.byKey[w.key]
	if !ok {
		set = map[*watcher]struct{}{}
		ws.byKey[w.key] = set
	}
	set[w] = struct{}{}
}

func (ws *watchers) remove(w *watcher) {
	w.done = true
	set, ok := ws.byKey[w.key]
	if !ok {
		return
	}
	delete(set, w)
	if len(set) == 0 {
		delete(ws.byKey, w.key)
	}
}

// deliver ends w with ev; an abandoned watcher is simply consumed.
func (ws *watchers) deliver(w *watcher, ev *Event) {
	ws.remove(w)
	if !w.abandoned {
		w.ch <- ev
	}
}

// live counts the watchers whose client is still waiting.
func (ws *watchers) live() int {
	n := 0
	for _, set := range ws.byKey {
		for w := range set {
			if !w.abandoned {
				n++
			}
		}
	}
	return n
}

// notify hands ev to every watcher it concerns: watchers on the key itself, recursive
// watchers on an ancestor (unless a segment below the watched key is hidden) and, when a
// directory is deleted or expires (dirGone), watchers on any key inside it. The last rule
// is the server's intended behaviour; the real server crashes instead (docs/protocol.md
// §12.7), which the crash-hazard detector records before notify runs.
func (ws *watchers) notify(ev *Event, dirGone bool) {
	idx, key := ev.index(), ev.Node.Key
	for k := key; ; k = path.Dir(k) {
		for w := range ws.byKey[k] {
			if w.since > idx || (k != key && !(w.recursive && !isHidden(key[len(withSlash(k)):]))) {
				continue
			}
			ws.deliver(w, ev)
		}
		if k == "/" {
			break
		}
	}
	if !dirGone {
		return
	}
	for k, set := range ws.byKey {
		if !strings.HasPrefix(k, withSlash(key)) || k == key {
			continue
		}
		for w := range set {
			if w.since <= idx {
				ws.deliver(w, ev)
			}
		}
	}
}

// watch starts a watch on node r: it returns an event found in the node's history, or a
// registered watcher, or the 401 error when since is older than the history the node
// retains. since 0 means "the next event after what the node has applied", so on a
// lagging node it can be an event another node already acknowledged (docs/protocol.md
// §13.2). A history answer touches the event's write-index race cell.
func (s *store) watch(r *replica, key string, recursive bool, since uint64) (*Event, *watcher, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := r.applied
	if since == 0 {
		since = cur + 1
	} else if oldest := oldestRetained(cur); since < oldest {
		cause := "the requested history has been cleared [" + utoa(oldest) + "/" + utoa(since) + "]"
		return nil, nil, newStoreError(codeEventIndexCleard, cause, cur)
	}
	if since <= cur {
		if i := s.history.scan(key, recursive, since, r.pos); i >= 0 {
			l := &s.history.all[i]
			l.race.touch(r)
			return l.ev, nil, nil
		}
	}
	w := &watcher{key: key, recursive: recursive, since: since, ch: make(chan *Event, 1)}
	r.watchers.add(w)
	return nil, w, nil
}

// unwatch removes w if it is still registered.
func (s *store) unwatch(r *replica, w *watcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.watchers.remove(w)
}

// abandon keeps w registered after its client left, until an event consumes it or
// deadline (the end of its watch timeout) passes.
func (s *store) abandon(r *replica, w *watcher, deadline time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.done {
		return
	}
	w.abandoned, w.deadline = true, deadline
	r.abandoned = append(r.abandoned, w)
	if len(r.abandoned) > r.pruneAt {
		r.prune(s.now())
	}
}
