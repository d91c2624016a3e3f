package concurrency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Entry is one contender in a lock, semaphore or election queue, as stored
// on the server.
type Entry struct {
	// Key is the entry's in-order key, e.g. "/locks/orders/1234".
	Key string
	// Owner is what the contender passed to WithOwner (or NewDistributedLock).
	Owner string
	// Value is the candidate's value in an election; empty for locks.
	Value string
	// Token identifies the entry: its session's token and a sequence number.
	Token string
	// CreatedIndex is the entry's position in the queue and, for the holder
	// of a lock, its fencing token.
	CreatedIndex uint64
	// ModifiedIndex is the index of the entry's last write (creation or
	// refresh).
	ModifiedIndex uint64
	// Expiration is when the entry expires unless refreshed, on the server's
	// clock.
	Expiration *time.Time
}

// envelope is the JSON value of a queue entry. Leaving marks an entry that
// never reached the head and is being removed (see retire): readers of the
// queue skip it.
type envelope struct {
	Token   string `json:"token"`
	Owner   string `json:"owner,omitempty"`
	Value   string `json:"value,omitempty"`
	Leaving bool   `json:"leaving,omitempty"`
}

func (e envelope) encode() string {
	b, _ := json.Marshal(e) // strings and a bool: cannot fail
	return string(b)
}

// decodeEnvelope reads a queue entry's value. A value that is not an
// envelope (written by another tool) has no token.
func decodeEnvelope(value string) envelope {
	var env envelope
	if err := json.Unmarshal([]byte(value), &env); err != nil || env.Token == "" {
		return envelope{Value: value}
	}
	return env
}

// entryOf decodes a queue node.
func entryOf(n *kv.Node) *Entry {
	env := decodeEnvelope(n.Value)
	return &Entry{
		Key: n.Key, Owner: env.Owner, Value: env.Value, Token: env.Token,
		CreatedIndex: n.CreatedIndex, ModifiedIndex: n.ModifiedIndex, Expiration: n.Expiration,
	}
}

// leaving reports whether the node of a queue entry is marked leaving.
func leaving(n *kv.Node) bool { return decodeEnvelope(n.Value).Leaving }

// listQueue returns the entries of dir in queue order (numerically by
// createdIndex, never by key string) and the store index of the listing. A
// missing directory is an empty queue; directories inside it and entries
// marked leaving are skipped.
func listQueue(ctx context.Context, k *kv.KV, dir string) ([]*kv.Node, uint64, error) {
	resp, err := k.List(ctx, dir, kv.WithNumericOrder())
	if err != nil {
		var se *kv.Error
		if errors.As(err, &se) && errors.Is(err, kv.ErrKeyNotFound) {
			return nil, se.Index, nil
		}
		return nil, 0, err
	}
	nodes := resp.Node.Nodes[:0:0]
	for _, n := range resp.Node.Nodes {
		if !n.Dir && !leaving(n) {
			nodes = append(nodes, n)
		}
	}
	return nodes, resp.Index, nil
}

// head returns the first entry of the queue at dir, or none when empty.
func head(ctx context.Context, k *kv.KV, dir string, none error) (*Entry, error) {
	nodes, _, err := listQueue(ctx, k, dir)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, none
	}
	return entryOf(nodes[0]), nil
}

// cleanPrefix validates a queue directory.
func cleanPrefix(prefix string) (string, error) {
	clean, err := kv.CleanKey(prefix)
	if err == nil && clean == "/" {
		err = fmt.Errorf("%w: a queue cannot live at the root", kv.ErrInvalidKey)
	}
	return clean, err
}

// isChild reports whether key is directly under dir.
func isChild(dir, key string) bool { return path.Dir(key) == dir }
