package deimos

import "github.com/marsevilspirit/deimos-client/kv"

// Response is the answer to a key-space operation: the action, the node
// before and after, and the cluster's index at that moment.
type Response = kv.Response

// Node is a key or a directory as the server reports it.
type Node = kv.Node

// Actions a Response can report.
const (
	ActionGet              = kv.ActionGet
	ActionSet              = kv.ActionSet
	ActionCreate           = kv.ActionCreate
	ActionUpdate           = kv.ActionUpdate
	ActionCompareAndSwap   = kv.ActionCompareAndSwap
	ActionDelete           = kv.ActionDelete
	ActionCompareAndDelete = kv.ActionCompareAndDelete
	ActionExpire           = kv.ActionExpire
)
