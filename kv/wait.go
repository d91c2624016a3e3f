package kv

import (
	"context"
	"net/http"
	"net/url"
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
	q := make(url.Values, 3)
	q["wait"] = []string{"true"}
	if waitIndex > 0 {
		q["waitIndex"] = []string{strconv.FormatUint(waitIndex, 10)}
	}
	setBool(q, "recursive", recursive)
	return k.do(ctx, op, http.MethodGet, clean, q, transport.LongPoll)
}

// KV returns k itself, so a *KV satisfies the small interfaces of the watch
// and concurrency packages (interface{ KV() *kv.KV }) just like the client.
func (k *KV) KV() *KV { return k }
