package kv

import (
	"time"
)

// Actions the server reports in Response.Action and in watch events.
const (
	ActionGet              = "get"
	ActionSet              = "set"
	ActionCreate           = "create"
	ActionUpdate           = "update"
	ActionCompareAndSwap   = "compareAndSwap"
	ActionDelete           = "delete"
	ActionCompareAndDelete = "compareAndDelete"
	ActionExpire           = "expire"
)

// Node is a key or directory as the server reports it.
type Node struct {
	// Key is the absolute, cleaned key, e.g. "/config/db". The root is "/".
	Key string `json:"key"`
	// Value is the value of a file; empty for directories and for the node of
	// delete, compareAndDelete and expire events.
	Value string `json:"value,omitempty"`
	// Dir is true for directories. Expire events never set it (see PrevNode.Dir).
	Dir bool `json:"dir,omitempty"`
	// Expiration is when the key expires, nil for permanent keys. The server may
	// still return a key after this instant (it reaps late); see Expired.
	Expiration *time.Time `json:"expiration,omitempty"`
	// TTL is the remaining time to live in whole seconds as computed by the
	// answering node; zero or negative once expired.
	TTL int64 `json:"ttl,omitempty"`
	// Nodes holds the children of a directory in get responses.
	Nodes []*Node `json:"nodes,omitempty"`
	// ModifiedIndex is the store index of the last change of this node.
	ModifiedIndex uint64 `json:"modifiedIndex"`
	// CreatedIndex is the store index at which this node was created.
	CreatedIndex uint64 `json:"createdIndex"`
}

// Expired reports whether the node has an expiration at or before now. The
// server keeps expired keys readable until it reaps them, seconds later.
func (n *Node) Expired(now time.Time) bool {
	return n != nil && n.Expiration != nil && !n.Expiration.After(now)
}

// Response is the answer to a key-space operation, with the protocol metadata.
type Response struct {
	// Action is what the server did, one of the Action constants.
	Action string `json:"action"`
	// Node is the node after the operation (for deletes: the deleted key).
	Node *Node `json:"node"`
	// PrevNode is the node before the operation, when there was one.
	PrevNode *Node `json:"prevNode,omitempty"`
	// Index is the store index this answer stands for.
	//   - For a read (Get, List) it is the X-Deimos-Index header: the store index
	//     at which the read was applied, usually above Node.ModifiedIndex. A
	//     list-then-watch resumes exactly from Index+1.
	//   - For a write (Set, Create, Update, CompareAndSwap, Delete,
	//     CompareAndDelete, CreateInOrder, Mkdir) it is the write's own index,
	//     Node.ModifiedIndex. The header is not used: the server can send a later
	//     index there (docs/protocol.md §6.2, §6.4), which would make a watch
	//     from Index+1 skip events or a wait for Index wait for an unrelated
	//     write. The header stays in HeaderIndex.
	//   - Zero on watch events, which carry no header (see Event.Index).
	Index uint64 `json:"-"`
	// HeaderIndex is the raw X-Deimos-Index header of the answer, for
	// diagnostics: equal to Index for reads, and sometimes above it for writes.
	HeaderIndex uint64 `json:"-"`
	// RaftIndex and RaftTerm are diagnostics of the answering node.
	RaftIndex uint64 `json:"-"`
	RaftTerm  uint64 `json:"-"`
}
