package kv

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/marsevilspirit/deimos-client/internal/transport"
)

// List reads the children of a directory, one level deep. Response.Node.Nodes
// holds them: in the server's random order by default, byte-wise with
// WithSorted, or in creation order with WithNumericOrder. Listing a file fails
// with an error matching ErrNotDir. Hidden children (names starting with "_")
// are never listed.
func (k *KV) List(ctx context.Context, dir string, opts ...ListOption) (*Response, error) {
	const op = "list"
	clean, err := CleanKey(dir)
	if err != nil {
		return nil, err
	}
	var p params
	for _, o := range opts {
		o.applyList(&p)
	}
	if p.err == nil && p.sorted && p.numeric {
		p.fail(fmt.Errorf("%w: WithSorted and WithNumericOrder exclude each other", ErrInvalidOption))
	}
	if p.err != nil {
		return nil, optionError(op, clean, p.err)
	}
	var q url.Values
	if p.sorted {
		q = url.Values{"sorted": {"true"}}
	}
	resp, endpoint, err := k.send(ctx, op, http.MethodGet, clean, q, transport.Safe)
	if err != nil {
		return nil, err
	}
	if !resp.Node.Dir {
		return nil, &Error{Code: 104, Message: "Not a directory", Cause: clean, Index: resp.Index, Op: op, Key: clean, Endpoint: endpoint}
	}
	if p.numeric {
		SortByCreation(resp.Node.Nodes)
	}
	return resp, nil
}

// SortByCreation sorts nodes by CreatedIndex (then by key), which for keys
// made by CreateInOrder is their numeric, queue order.
func SortByCreation(nodes []*Node) {
	slices.SortFunc(nodes, func(a, b *Node) int {
		return cmp.Or(cmp.Compare(a.CreatedIndex, b.CreatedIndex), cmp.Compare(a.Key, b.Key))
	})
}
