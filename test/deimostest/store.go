package deimostest

import (
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// entry is one node of the key tree.
type entry struct {
	key      string
	value    string
	dir      bool
	children map[string]*entry
	parent   *entry
	expireAt time.Time // zero: permanent
	created  uint64
	modified uint64
	removed  bool
}

func (e *entry) permanent() bool { return e.expireAt.IsZero() }

// store is the committed key space: one tree, one global index and the committed event
// log, plus one replica per node (what that node has applied, for its watches). Every
// field is guarded by mu.
type store struct {
	mu       sync.Mutex
	root     *entry
	index    uint64
	history  history
	replicas []*replica
	ttl      ttlQueue
	now      func() time.Time
	// kick wakes the reaper when the earliest expiration may have changed.
	kick chan struct{}
	// reapDelay picks how late a key due at the given time is reaped.
	reapDelay func() time.Duration
	// defaultLag is WithWatchLag: how long a node without its own lag trails the log.
	defaultLag time.Duration
	// lagging is set once the applier runs; emit then wakes it through applyKick.
	lagging   bool
	applyKick chan struct{}
	// writeRace is WithWriteIndexRace: client writes get a race cell.
	writeRace bool
	hazards   []CrashHazard
}

func newStore(cfg config) *store {
	return &store{
		root:       &entry{key: "/", dir: true, children: map[string]*entry{}},
		now:        time.Now,
		kick:       make(chan struct{}, 1),
		reapDelay:  cfg.reapDelay,
		defaultLag: max(cfg.watchLag, 0),
		applyKick:  make(chan struct{}, 1),
		writeRace:  cfg.writeRace,
	}
}

// Index returns the current store index.
func (s *store) Index() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index
}

// cleanKey turns a decoded path into a rooted, cleaned key.
func cleanKey(k string) string { return path.Clean("/" + k) }

// splitKey returns the segments of a cleaned key ("/" has none).
func splitKey(k string) []string {
	if k == "/" {
		return nil
	}
	return strings.Split(k[1:], "/")
}

// lookup walks to key. It returns the entry (nil if missing) or a 100/104 error whose
// cause is the first missing component or the file in the way.
func (s *store) lookup(key string) (*entry, *apiError) {
	cur := s.root
	for _, seg := range splitKey(key) {
		if !cur.dir {
			return nil, newStoreError(codeNotDir, cur.key, s.index)
		}
		next, ok := cur.children[seg]
		if !ok {
			return nil, newStoreError(codeKeyNotFound, path.Join(cur.key, seg), s.index)
		}
		cur = next
	}
	return cur, nil
}

// parentFor checks that every ancestor of key is a directory or missing. It returns the
// deepest existing ancestor and the segments still to create (the last one is key's name).
func (s *store) parentFor(key string) (*entry, []string, *apiError) {
	segs := splitKey(key)
	cur := s.root
	for i, seg := range segs {
		if !cur.dir {
			return nil, nil, newStoreError(codeNotDir, cur.key, s.index)
		}
		next, ok := cur.children[seg]
		if !ok || i == len(segs)-1 {
			return cur, segs[i:], nil
		}
		cur = next
	}
	return cur, nil, nil
}

// mkdirs creates the missing directories segs under parent at index idx and returns the last.
func mkdirs(parent *entry, segs []string, idx uint64) *entry {
	for _, seg := range segs {
		d := &entry{key: path.Join(parent.key, seg), dir: true, children: map[string]*entry{},
			parent: parent, created: idx, modified: idx}
		parent.children[seg] = d
		parent = d
	}
	return parent
}

// attach puts e under parent, replacing any entry of the same name.
func attach(parent, e *entry) {
	if old, ok := parent.children[path.Base(e.key)]; ok {
		markRemoved(old)
	}
	e.parent = parent
	parent.children[path.Base(e.key)] = e
}

// detach removes e (and its subtree) from the tree.
func detach(e *entry) {
	delete(e.parent.children, path.Base(e.key))
	markRemoved(e)
}

// has reports whether the subtree of the directory e holds the relative path rel.
func (e *entry) has(rel string) bool {
	cur := e
	for _, seg := range strings.Split(rel, "/") {
		next, ok := cur.children[seg] // nil map for files: not found
		if !ok {
			return false
		}
		cur = next
	}
	return true
}

func markRemoved(e *entry) {
	e.removed = true
	for _, c := range e.children {
		markRemoved(c)
	}
}

// emit commits an event at the current index (the caller has already incremented
// s.index): it is logged, and every node without lag applies it at once (its watchers are
// notified now); lagging nodes apply it later. origin is the node whose client write made
// it (nil for expiry and member records), dir the detached directory when one went away.
// It returns the event's write-index race cell (nil unless WithWriteIndexRace).
func (s *store) emit(ev *Event, origin *replica, dir *entry) *raceCell {
	l := logged{ev: ev, at: s.now(), gone: dir}
	if s.writeRace && origin != nil {
		l.race = &raceCell{origin: origin}
	}
	s.history.add(l)
	for _, r := range s.replicas {
		if s.lagOf(r) == 0 {
			s.catchUp(r)
		}
	}
	if s.lagging {
		s.wakeApplier()
	}
	return l.race
}

// isHidden reports whether any segment of the relative path rel starts with '_'.
func isHidden(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, "_") {
			return true
		}
	}
	return false
}

func utoa(u uint64) string { return strconv.FormatUint(u, 10) }
