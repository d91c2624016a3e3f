package deimostest

import (
	"path"
	"strings"
)

// watcher is one pending long-poll watch. It receives at most one event.
type watcher struct {
	key       string
	recursive bool
	since     uint64
	ch        chan *Event // buffered 1
}

// watchers is the registry of live watchers by watched key. Guarded by store.mu.
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
	set := ws.byKey[w.key]
	delete(set, w)
	if len(set) == 0 {
		delete(ws.byKey, w.key)
	}
}

func (ws *watchers) deliver(w *watcher, ev *Event) {
	ws.remove(w)
	w.ch <- ev
}

// notify hands ev to every live watcher it concerns: watchers on the key itself, recursive
// watchers on an ancestor (unless a segment below the watched key is hidden) and, when a
// directory is deleted or expires (dirGone), watchers on any key inside it. The last rule
// is the server's intended behaviour; the real server crashes instead (PROTOCOL.md §12.7).
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

// watch starts a watch: it returns an event found in history, or a registered watcher, or
// the 401 error when since is older than the retained history. since 0 means "next event".
func (s *store) watch(key string, recursive bool, since uint64) (*Event, *watcher, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if since == 0 {
		since = s.index + 1
	} else if oldest := oldestRetained(s.index); since < oldest {
		cause := "the requested history has been cleared [" + utoa(oldest) + "/" + utoa(since) + "]"
		return nil, nil, newStoreError(codeEventIndexCleard, cause, s.index)
	}
	if since <= s.index {
		if ev := s.history.scan(key, recursive, since); ev != nil {
			return ev, nil, nil
		}
	}
	w := &watcher{key: key, recursive: recursive, since: since, ch: make(chan *Event, 1)}
	s.watchers.add(w)
	return nil, w, nil
}

// unwatch removes w if it is still registered.
func (s *store) unwatch(w *watcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers.remove(w)
}
