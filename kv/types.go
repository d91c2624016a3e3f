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
	// Index is X-Deimos-Index: for writes the index of this write, for reads the
	// store index when the read was applied. Zero on watch events.
	Index uint64 `json:"-"`
	// RaftIndex and RaftTerm are diagnostics of the answering node.
	RaftIndex uint64 `json:"-"`
	RaftTerm  uint64 `json:"-"`
}
