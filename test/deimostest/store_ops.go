package deimostest

import (
	"net/http"
	"path"
	"strconv"
	"time"
)

// writeReq is a validated mutation, ready to be applied to the store.
type writeReq struct {
	key          string
	value        string
	dir          bool
	recursive    bool
	exp          time.Time // zero: permanent
	prevValue    string
	hasPrevValue bool
	prevIndex    uint64
	origin       *replica // the node answering the write
}

// reply is a successful store answer: the body, its HTTP status and X-Deimos-Index (the
// write-index race may raise the header through race, see header).
type reply struct {
	ev     *Event
	status int
	index  uint64
	race   *raceCell
}

func (s *store) rootReadOnly() *apiError { return newStoreError(codeRootReadOnly, "/", s.index) }

// get reads key (docs/protocol.md §9).
func (s *store) get(key string, recursive, sorted bool) (*reply, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.lookup(key)
	if err != nil {
		return nil, err
	}
	ev := &Event{Action: actionGet, Node: e.listing(s.now(), recursive, sorted)}
	return &reply{ev: ev, status: http.StatusOK, index: s.index}, nil
}

// set creates or replaces key; create does the same but fails when key exists.
func (s *store) set(r *writeReq, create bool) (*reply, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.key == "/" {
		return nil, s.rootReadOnly()
	}
	parent, rest, err := s.parentFor(r.key)
	if err != nil {
		return nil, err
	}
	var old *entry
	if len(rest) == 1 {
		old = parent.children[rest[0]]
	}
	switch {
	case old != nil && create:
		return nil, newStoreError(codeNodeExist, r.key, s.index)
	case old != nil && old.dir:
		return nil, newStoreError(codeNotFile, r.key, s.index)
	}
	now := s.now()
	idx := s.index + 1
	parent = mkdirs(parent, rest[:len(rest)-1], idx)
	e := newEntry(r.key, r.value, r.dir, r.exp, idx)
	attach(parent, e)
	s.index = idx
	ev := &Event{Action: actionSet, Node: e.repr(now)}
	status := http.StatusCreated
	if create {
		ev.Action = actionCreate
	} else if old != nil {
		ev.PrevNode = old.repr(now)
		status = http.StatusOK
	}
	s.track(e)
	race := s.emit(ev, r.origin, nil)
	return &reply{ev: ev, status: status, index: idx, race: race}, nil
}

func newEntry(key, value string, dir bool, exp time.Time, idx uint64) *entry {
	e := &entry{key: key, dir: dir, expireAt: exp, created: idx, modified: idx}
	if dir {
		e.children = map[string]*entry{}
	} else {
		e.value = value
	}
	return e
}

// update replaces the value and TTL of an existing key (prevExists=true).
func (s *store) update(r *writeReq) (*reply, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.key == "/" {
		return nil, s.rootReadOnly()
	}
	e, err := s.lookup(r.key)
	if err != nil {
		return nil, err
	}
	if e.dir && r.value != "" {
		return nil, newStoreError(codeNotFile, r.key, s.index)
	}
	return s.replace(e, r, actionUpdate), nil
}

// cas replaces value and TTL of a file if prevValue and prevIndex match.
func (s *store) cas(r *writeReq) (*reply, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.key == "/" {
		return nil, s.rootReadOnly()
	}
	e, err := s.compare(r)
	if err != nil {
		return nil, err
	}
	return s.replace(e, r, actionCAS), nil
}

// replace applies an update or compareAndSwap to e. A directory keeps its stored
// modifiedIndex (the server's bug, docs/protocol.md §9) while the event shows the new one.
func (s *store) replace(e *entry, r *writeReq, action string) *reply {
	now := s.now()
	idx := s.index + 1
	old := e.repr(now)
	if !e.dir {
		e.value = r.value
		e.modified = idx
	}
	e.expireAt = r.exp
	s.index = idx
	node := e.repr(now)
	node.ModifiedIndex = idx
	ev := &Event{Action: action, Node: node, PrevNode: prevWithBug(old, r.exp)}
	s.track(e)
	race := s.emit(ev, r.origin, nil)
	return &reply{ev: ev, status: http.StatusOK, index: idx, race: race}
}

// compare finds the file r targets and checks prevValue/prevIndex (101 on mismatch).
func (s *store) compare(r *writeReq) (*entry, *apiError) {
	e, err := s.lookup(r.key)
	if err != nil {
		return nil, err
	}
	if e.dir {
		return nil, newStoreError(codeNotFile, r.key, s.index)
	}
	cause := ""
	if r.hasPrevValue && r.prevValue != e.value {
		cause = "[" + r.prevValue + " != " + e.value + "]"
	}
	if r.prevIndex != 0 && r.prevIndex != e.modified {
		if cause != "" {
			cause += " "
		}
		cause += "[" + strconv.FormatUint(r.prevIndex, 10) + " != " + strconv.FormatUint(e.modified, 10) + "]"
	}
	if cause != "" {
		return nil, newStoreError(codeTestFailed, cause, s.index)
	}
	return e, nil
}

// remove deletes key (dir/recursive rules of docs/protocol.md §9).
func (s *store) remove(r *writeReq) (*reply, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.key == "/" {
		return nil, s.rootReadOnly()
	}
	e, err := s.lookup(r.key)
	if err != nil {
		return nil, err
	}
	if e.dir && !r.dir && !r.recursive {
		return nil, newStoreError(codeNotFile, r.key, s.index)
	}
	if e.dir && !r.recursive && len(e.children) > 0 {
		return nil, newStoreError(codeDirNotEmpty, r.key, s.index)
	}
	return s.drop(e, r.origin, actionDelete, true), nil
}

// cad deletes a file if prevValue and prevIndex match.
func (s *store) cad(r *writeReq) (*reply, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.key == "/" {
		return nil, newStoreError(codeNotFile, "/", s.index)
	}
	e, err := s.compare(r)
	if err != nil {
		return nil, err
	}
	return s.drop(e, r.origin, actionCAD, false), nil
}

// drop removes e and its subtree at the next index and emits the event.
func (s *store) drop(e *entry, origin *replica, action string, withDir bool) *reply {
	idx := s.index + 1
	prev := e.repr(s.now())
	detach(e)
	s.index = idx
	ev := &Event{Action: action, Node: e.bare(idx, withDir), PrevNode: prev}
	race := s.emit(ev, origin, dirOrNil(e))
	return &reply{ev: ev, status: http.StatusOK, index: idx, race: race}
}

// dirOrNil returns e if it is a directory: a removed directory is kept (frozen) beside
// its event for the crash-hazard detector.
func dirOrNil(e *entry) *entry {
	if e.dir {
		return e
	}
	return nil
}

// post creates an in-order child of the directory key, named after its index.
func (s *store) post(r *writeReq) (*reply, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, rest, err := s.parentFor(r.key)
	if err != nil {
		return nil, err
	}
	if len(rest) == 1 {
		if c, ok := parent.children[rest[0]]; ok {
			if !c.dir {
				return nil, newStoreError(codeNotDir, c.key, s.index)
			}
			parent, rest = c, nil
		}
	}
	now := s.now()
	idx := s.index + 1
	parent = mkdirs(parent, rest, idx)
	e := newEntry(path.Join(parent.key, strconv.FormatUint(idx, 10)), r.value, r.dir, r.exp, idx)
	attach(parent, e)
	s.index = idx
	ev := &Event{Action: actionCreate, Node: e.repr(now)}
	s.track(e)
	race := s.emit(ev, r.origin, nil)
	return &reply{ev: ev, status: http.StatusCreated, index: idx, race: race}, nil
}
