package kv

import (
	"context"
	"net/http"
	"strconv"

	"github.com/marsevilspirit/deimos-client/internal/transport"
)

// WaitEvent performs one long poll: it waits for the first event on key (or,
// with recursive, below it) whose index is at least waitIndex, and returns it.
// A nil Response with a nil error means the server ended the poll without an
// event (it does so after five minutes); poll again with the same index.
//
// This is the protocol's single-shot watch. Most callers want the watch
// package, which loops over it without losing or repeating events.
func (k *KV) WaitEvent(ctx context.Context, key string, waitIndex uint64, recursive bool) (*Response, error) {
	resp, _, err := k.WaitEventAt(ctx, "", key, waitIndex, recursive)
	return resp, err
}

// WaitEventAt is WaitEvent sent, first, to the given endpoint (one of
// Endpoints; "" lets the client choose, and so does an endpoint out of
// rotation). It also returns the endpoint that answered. Watches use it to
// stay on the node that delivers events first: a follower that trails the
// leader delivers them late (docs/protocol.md §13.2).
func (k *KV) WaitEventAt(ctx context.Context, endpoint, key string, waitIndex uint64, recursive bool) (*Response, string, error) {
	const op = "watch"
	clean, err := CleanKey(key)
	if err != nil {
		return nil, "", err
	}
	// The query is built in one go, in the order url.Values.Encode would
	// give: a watch sends it for every event.
	var buf [64]byte
	q := buf[:0]
	if recursive {
		q = append(q, "recursive=true&"...)
	}
	q = append(q, "wait=true"...)
	if waitIndex > 0 {
		q = append(q, "&waitIndex="...)
		q = strconv.AppendUint(q, waitIndex, 10)
	}
	return k.exchange(ctx, &transport.Request{
		Op:       op,
		Method:   http.MethodGet,
		Key:      clean,
		Path:     KeyPath(clean),
		Query:    string(q),
		Class:    transport.LongPoll,
		Endpoint: endpoint,
	})
}

// Endpoints returns the URLs of the endpoints requests may go to, or nil
// when the Doer does not tell (a test's fake).
func (k *KV) Endpoints() []string {
	if l, ok := k.doer.(interface{ URLs() []string }); ok {
		return l.URLs()
	}
	return nil
}

// KV returns k itself, so a *KV satisfies the small interfaces of the watch
// and concurrency packages (interface{ KV() *kv.KV }) just like the client.
func (k *KV) KV() *KV { return k }
