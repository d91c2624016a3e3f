package watch

import (
	"context"
	"errors"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Client is what watches need from the SDK. *deimos.Client and *kv.KV both
// satisfy it, so a watch can be built from either.
type Client interface {
	KV() *kv.KV
}

// poller is the part of the key-value API a stream and a cache use; tests
// can substitute it.
type poller interface {
	// head returns the current store index, learned by reading key.
	head(ctx context.Context, key string) (uint64, error)
	// poll waits for the first event at or after waitIndex, asking endpoint
	// first ("" lets the client choose), and reports the endpoint that
	// answered; a nil response means the server ended the poll without one.
	poll(ctx context.Context, endpoint, key string, waitIndex uint64, recursive bool) (*kv.Response, string, error)
	// endpoints lists where polls may go; nil when unknown.
	endpoints() []string
	// list reads the subtree at key and the index it reflects; a missing key
	// is an empty subtree.
	list(ctx context.Context, key string) (*kv.Node, uint64, error)
}

func sourceOf(c Client) poller { return kvSource{kv: c.KV()} }

type kvSource struct{ kv *kv.KV }

func (s kvSource) head(ctx context.Context, key string) (uint64, error) {
	resp, err := s.kv.Get(ctx, key)
	if err != nil {
		return absentIndex(err)
	}
	return resp.Index, nil
}

func (s kvSource) poll(ctx context.Context, endpoint, key string, waitIndex uint64, recursive bool) (*kv.Response, string, error) {
	return s.kv.WaitEventAt(ctx, endpoint, key, waitIndex, recursive)
}

func (s kvSource) endpoints() []string { return s.kv.Endpoints() }

func (s kvSource) list(ctx context.Context, key string) (*kv.Node, uint64, error) {
	resp, err := s.kv.Get(ctx, key, kv.WithRecursive())
	if err != nil {
		idx, err := absentIndex(err)
		return nil, idx, err
	}
	return resp.Node, resp.Index, nil
}

// absentIndex turns "the key (or an ancestor) is missing" into the store index
// the server reported with it; a watch on a key that does not exist yet is
// legitimate and simply waits for it.
func absentIndex(err error) (uint64, error) {
	var se *kv.Error
	if errors.As(err, &se) && (errors.Is(err, kv.ErrKeyNotFound) || errors.Is(err, kv.ErrNotDir)) {
		return se.Index, nil
	}
	return 0, err
}
