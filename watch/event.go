package watch

import (
	"strings"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Event is one change of the watched key or subtree.
type Event struct {
	// Action is what happened, one of the kv.Action constants.
	Action string
	// Node is the key after the change. For delete, compareAndDelete and
	// expire it carries no value; see PrevNode.
	Node *kv.Node
	// PrevNode is the key before the change, when there was one.
	PrevNode *kv.Node
}

// Index is the store index of the change: the node's modifiedIndex.
func (e Event) Index() uint64 {
	if e.Node == nil {
		return 0
	}
	return e.Node.ModifiedIndex
}

// IsDelete reports whether the event removed its key (delete,
// compareAndDelete or expire).
func (e Event) IsDelete() bool {
	switch e.Action {
	case kv.ActionDelete, kv.ActionCompareAndDelete, kv.ActionExpire:
		return true
	}
	return false
}

// Dir reports whether the event is about a directory. Expire events do not
// carry the flag on Node, so PrevNode is consulted too.
func (e Event) Dir() bool {
	return (e.Node != nil && e.Node.Dir) || (e.PrevNode != nil && e.PrevNode.Dir)
}

// hiddenBelow reports whether key has a segment starting with '_' below the
// watched key. The server leaks such keys when it answers from its history
// (docs/protocol.md §8.3), while live watchers never see them; filtering them here
// makes both paths agree. A hidden key watched directly is not filtered, and
// neither is an event on an ancestor of the watched key (the removal of a
// directory that holds it), whatever that ancestor's name.
func hiddenBelow(watched, key string) bool {
	if watched != "/" {
		if !strings.HasPrefix(key, watched+"/") {
			return false
		}
		key = key[len(watched):]
	}
	return strings.Contains(key, "/_")
}
