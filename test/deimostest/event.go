package deimostest

import "time"

// Actions of events and responses.
const (
	actionGet    = "get"
	actionSet    = "set"
	actionCreate = "create"
	actionUpdate = "update"
	actionCAS    = "compareAndSwap"
	actionDelete = "delete"
	actionCAD    = "compareAndDelete"
	actionExpire = "expire"
)

// Event is one store event as the server would deliver it to a watcher. Events returned by
// the Cluster are shared with the server: treat them as read-only.
type Event struct {
	Action   string    `json:"action"`
	Node     *NodeJSON `json:"node"`
	PrevNode *NodeJSON `json:"prevNode,omitempty"`
}

// NodeJSON is a node as it appears in responses.
type NodeJSON struct {
	Key           string      `json:"key"`
	Value         *string     `json:"value,omitempty"`
	Dir           bool        `json:"dir,omitempty"`
	Expiration    *time.Time  `json:"expiration,omitempty"`
	TTL           int64       `json:"ttl,omitempty"`
	Nodes         []*NodeJSON `json:"nodes,omitempty"`
	ModifiedIndex uint64      `json:"modifiedIndex"`
	CreatedIndex  uint64      `json:"createdIndex"`
}

// index is the store index the event was emitted at.
func (e *Event) index() uint64 { return e.Node.ModifiedIndex }

// clone returns a copy of e whose nodes can be changed without touching the server's copy.
func (e Event) clone() Event {
	e.Node = e.Node.clone()
	e.PrevNode = e.PrevNode.clone()
	return e
}

func (n *NodeJSON) clone() *NodeJSON {
	if n == nil {
		return nil
	}
	c := *n
	c.Nodes = nil
	for _, ch := range n.Nodes {
		c.Nodes = append(c.Nodes, ch.clone())
	}
	return &c
}

// ttlSeconds is ceil((exp-now)/1s), as the server computes the ttl field.
func ttlSeconds(exp, now time.Time) int64 {
	d := exp.Sub(now)
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return s
}

// localTime returns t in the answering node's local zone (as the real server prints it),
// except the zero time that the prevNode.expiration bug prints in UTC.
func localTime(t time.Time) *time.Time {
	if !t.IsZero() {
		t = t.Local()
	}
	return &t
}
