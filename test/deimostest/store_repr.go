package deimostest

import (
	"sort"
	"time"
)

// repr is the node as a get or a write response shows it: value or dir flag, TTL fields
// and indexes, without children.
func (e *entry) repr(now time.Time) *NodeJSON {
	n := &NodeJSON{Key: e.key, Dir: e.dir, ModifiedIndex: e.modified, CreatedIndex: e.created}
	if !e.dir {
		v := e.value
		n.Value = &v
	}
	if !e.permanent() {
		n.Expiration = localTime(e.expireAt)
		n.TTL = ttlSeconds(e.expireAt, now)
	}
	return n
}

// bare is the node of delete, compareAndDelete and expire events: key and indexes only.
func (e *entry) bare(idx uint64, withDir bool) *NodeJSON {
	return &NodeJSON{Key: e.key, Dir: withDir && e.dir, ModifiedIndex: idx, CreatedIndex: e.created}
}

// listing is the get view of e: one level of visible children, or all levels if recursive.
func (e *entry) listing(now time.Time, recursive, sorted bool) *NodeJSON {
	n := e.repr(now)
	if !e.dir {
		return n
	}
	for name, c := range e.children {
		if isHidden(name) {
			continue
		}
		if recursive && c.dir {
			n.Nodes = append(n.Nodes, c.listing(now, true, sorted))
		} else {
			n.Nodes = append(n.Nodes, c.repr(now))
		}
	}
	if sorted {
		sort.Slice(n.Nodes, func(i, j int) bool { return n.Nodes[i].Key < n.Nodes[j].Key })
	}
	return n
}

// prevWithBug is the prevNode of update and compareAndSwap as the real server shows it:
// the old ttl, but the expiration field pointing at the node's new expiration (the zero
// time when the TTL was removed). docs/protocol.md §11.2, reproduced on purpose.
func prevWithBug(old *NodeJSON, newExp time.Time) *NodeJSON {
	if old.Expiration != nil {
		old.Expiration = localTime(newExp)
	}
	return old
}
