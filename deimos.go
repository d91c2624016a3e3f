package deimos

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
)

// DefaultEndpoint is the endpoint a client uses when none is configured.
const DefaultEndpoint = "http://127.0.0.1:4001"

// Client talks to a Deimos cluster. It is safe for concurrent use; create one
// per cluster and share it. Close it to stop its background work.
type Client struct {
	tr     *transport.Transport // nil when the configuration was invalid
	kv     *kv.KV
	err    error        // the configuration error, returned by every call
	logger *slog.Logger // nil unless WithLogger
}

// New returns a client for the configured cluster. It never fails: an invalid
// option makes every call return an error matching ErrInvalidConfig. Use
// Connect to check the configuration and reach the cluster up front.
func New(opts ...Option) *Client {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	if len(s.cfg.Endpoints) == 0 {
		s.cfg.Endpoints = []string{DefaultEndpoint}
	}
	c := &Client{err: s.err, logger: s.cfg.Logger}
	if c.err == nil {
		tr, err := transport.New(s.cfg)
		if err != nil {
			c.err = fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		} else {
			c.tr = tr
		}
	}
	if c.err != nil {
		c.kv = kv.New(failingDoer{err: c.err})
		return c
	}
	c.kv = kv.New(c.tr)
	return c
}

// NewClient returns a client for the given endpoints, e.g.
// []string{"http://127.0.0.1:4001", "http://127.0.0.1:4002"}.
func NewClient(endpoints []string) *Client {
	return New(WithEndpoints(endpoints...))
}

// Connect builds a client, returns the configuration error if there is one,
// and refreshes the member list from the cluster, so a nil error means the
// cluster answered. Like every operation it is bounded: by ctx's deadline,
// or, when ctx has none, by WithOperationTimeout (12 s by default). A
// cluster that does not answer in time gives an error matching
// ErrClusterUnavailable that names each endpoint and its last error.
func Connect(ctx context.Context, opts ...Option) (*Client, error) {
	c := New(opts...)
	if c.err != nil {
		return nil, c.err
	}
	if err := c.Sync(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close stops background work (auto-sync) and closes idle connections. Calls
// made after Close fail with ErrClosed.
func (c *Client) Close() error {
	if c.tr == nil {
		return nil
	}
	return c.tr.Close()
}

// KV returns the key-space API with every operation and option: Create,
// Update, CompareAndSwap, CompareAndDelete, CreateInOrder, Mkdir, List, and
// kv.NewTyped for typed values. Packages built on the client (watch,
// concurrency) start from it.
func (c *Client) KV() *kv.KV { return c.kv }

// Set writes value at key. Options: WithTTL, WithDir, and the conditions
// WithPrevExist, WithPrevValue, WithPrevIndex.
func (c *Client) Set(ctx context.Context, key, value string, opts ...SetOption) (*Response, error) {
	return c.kv.Set(ctx, key, value, opts...)
}

// Get reads key. Options: WithRecursive, WithSorted.
func (c *Client) Get(ctx context.Context, key string, opts ...GetOption) (*Response, error) {
	return c.kv.Get(ctx, key, opts...)
}

// Delete removes key. Options: WithDir, WithRecursive, and the conditions
// WithPrevValue, WithPrevIndex.
func (c *Client) Delete(ctx context.Context, key string, opts ...DeleteOption) (*Response, error) {
	return c.kv.Delete(ctx, key, opts...)
}

// Sync refreshes the client's member list from the cluster's /machines.
// Configured endpoints are never forgotten.
func (c *Client) Sync(ctx context.Context) error {
	if c.err != nil {
		return c.err
	}
	return c.tr.Sync(ctx)
}

// failingDoer stands in for the transport of a misconfigured client.
type failingDoer struct{ err error }

func (d failingDoer) Do(context.Context, *transport.Request, any) (*transport.Response, error) {
	return nil, d.err
}
