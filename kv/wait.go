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
	const op = "watch"
	clean, err := CleanKey(key)
	if err != nil {
		return nil, err
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
	resp, _, err := k.exchange(ctx, &transport.Request{
		Op:     op,
		Method: http.MethodGet,
		Key:    clean,
		Path:   KeyPath(clean),
		Query:  string(q),
		Class:  transport.LongPoll,
	})
	return resp, err
}

// KV returns k itself, so a *KV satisfies the small interfaces of the watch
// and concurrency packages (interface{ KV() *kv.KV }) just like the client.
func (k *KV) KV() *KV { return k }
