package kv_test

import (
	"context"
	"encoding/json"
	"net/url"
	"sync"

	"github.com/marsevilspirit/deimos-client/internal/transport"
)

// recorder is a Doer that records every request and answers with body (a
// JSON response) or err.
type recorder struct {
	mu   sync.Mutex
	reqs []transport.Request
	body string
	err  error
	// header is the X-Deimos-Index of every answer; 0 means 7, the index of
	// the default body.
	header uint64
}

func (r *recorder) Do(_ context.Context, req *transport.Request, out any) (*transport.Response, error) {
	r.mu.Lock()
	cp := *req
	cp.Params = url.Values{}
	for k, v := range req.Params {
		cp.Params[k] = append([]string(nil), v...)
	}
	r.reqs = append(r.reqs, cp)
	body, err, header := r.body, r.err, r.header
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if body == "" {
		body = `{"action":"set","node":{"key":"/k","value":"v","modifiedIndex":7,"createdIndex":7}}`
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		return nil, err
	}
	if req.Check != nil {
		if err := req.Check(out); err != nil {
			return nil, err // the transport would say malformed or unknown outcome
		}
	}
	if header == 0 {
		header = 7
	}
	return &transport.Response{StatusCode: 200, Index: header, RaftIndex: 70, RaftTerm: 2, Endpoint: "http://fake"}, nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) last() transport.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}
