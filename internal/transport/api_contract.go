package transport

// CONTRACT STUB — the API kv, watch and the facade are written against. The transport
// implementer replaces these stubs with the real implementation (keeping every exported
// signature; adding is fine) and deletes this comment.

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Class says how a request may be retried.
type Class uint8

const (
	// Safe requests (GET without wait) are retried on other endpoints until the context
	// ends, and may be hedged.
	Safe Class = iota
	// Unsafe requests (every write) are re-sent only when they provably never reached a
	// server; otherwise the error matches ErrUnknownOutcome.
	Unsafe
	// LongPoll requests (watches) have no per-attempt timeout once the 200 header arrived,
	// are never hedged, and are attempted once: the watch loop owns retrying.
	LongPoll
)

// Request describes one logical operation; the transport turns it into HTTP attempts.
type Request struct {
	Op     string     // operation name for errors and logs, e.g. "set", "compareAndSwap"
	Method string     // GET, PUT, POST or DELETE
	Key    string     // normalised key, e.g. "/a/b", for messages only
	Path   string     // escaped URL path, e.g. "/keys/a/b" or "/machines"
	Params url.Values // GET and DELETE: query string; PUT and POST: form body
	Class  Class
}

// Response is the protocol metadata of a successful answer.
type Response struct {
	StatusCode int
	Index      uint64 // X-Deimos-Index; 0 when absent (watch responses have none)
	RaftIndex  uint64
	RaftTerm   uint64
	Endpoint   string // the endpoint that answered
	Empty      bool   // a 200 with an empty body (a watch the server ended without event)
}

// Config configures a Transport. Zero values mean defaults.
type Config struct {
	Endpoints        []string
	HTTPClient       *http.Client // used as is when set (TLSConfig and DialTimeout ignored)
	TLSConfig        *tls.Config
	RequestTimeout   time.Duration // per attempt; default 3 s
	DialTimeout      time.Duration // default 1 s
	RetryBackoff     func(attempt int) time.Duration
	AutoSyncInterval time.Duration // 0: no periodic /machines refresh
	Logger           *slog.Logger  // nil: no logging
	MaxResponseBytes int64         // default 64 MiB
	UserAgent        string
	DisableHedging   bool
}

// Transport carries every HTTP exchange with the cluster.
type Transport struct{}

// New validates cfg and builds a Transport. It starts background work only for auto-sync.
func New(cfg Config) (*Transport, error) { return nil, errors.New("not implemented") }

// Do sends req and, on a 2xx answer with a body, decodes the first JSON value into out
// (ignored when nil). Non-2xx answers become errors (*Error for server JSON errors).
func (t *Transport) Do(ctx context.Context, req *Request, out any) (*Response, error) {
	return nil, errors.New("not implemented")
}

// Sync refreshes the endpoint set from GET /machines.
func (t *Transport) Sync(ctx context.Context) error { return errors.New("not implemented") }

// Endpoints reports each endpoint's state for observability.
func (t *Transport) Endpoints() []EndpointStatus { return nil }

// EndpointStatus is a read-only view of one endpoint.
type EndpointStatus struct {
	URL       string
	State     string // "healthy", "cooldown", "probing"
	Score     float64
	Latency   time.Duration // EWMA
	Failures  int           // consecutive
	LastError error
}

// Close stops background work and closes idle connections.
func (t *Transport) Close() error { return nil }

// Error is an error answered by the server as JSON ({"errorCode":...}).
type Error struct {
	Code     int
	Message  string
	Cause    string
	Index    uint64
	Op       string
	Key      string
	Endpoint string
}

func (e *Error) Error() string { return e.Message }

// Client-side errors; matched with errors.Is.
var (
	ErrUnknownOutcome     = errors.New("deimos: outcome of the write is unknown")
	ErrClusterUnavailable = errors.New("deimos: no endpoint could serve the request")
	ErrResponseTooLarge   = errors.New("deimos: response body too large")
	ErrMalformedResponse  = errors.New("deimos: malformed response")
	ErrClosed             = errors.New("deimos: client closed")
)
