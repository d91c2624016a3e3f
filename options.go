package deimos

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/observe"
)

// Option configures a Client.
type Option func(*settings)

type settings struct {
	cfg transport.Config
	err error // the first invalid option
}

func (s *settings) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
}

// WithEndpoints sets the client URLs of the cluster's nodes, e.g.
// "http://127.0.0.1:4001". They seed the member list, which the client keeps
// refreshing from the cluster; seeds are never forgotten. Without it the
// client uses DefaultEndpoint.
func WithEndpoints(endpoints ...string) Option {
	return func(s *settings) { s.cfg.Endpoints = append([]string(nil), endpoints...) }
}

// WithHTTPClient sends requests through hc's transport (hc itself when it
// has a cookie jar or a timeout). Redirects are never followed.
// WithTLSConfig and WithDialTimeout are then ignored: configure hc's
// transport instead.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) {
		if hc == nil {
			s.fail("nil HTTP client")
			return
		}
		s.cfg.HTTPClient = hc
	}
}

// WithTLSConfig sets the TLS configuration for https endpoints, including
// client certificates (tls.Config.Certificates) and private CAs (RootCAs).
func WithTLSConfig(cfg *tls.Config) Option {
	return func(s *settings) { s.cfg.TLSConfig = cfg }
}

// WithRequestTimeout bounds each attempt (not the whole call: the context
// bounds that, or WithOperationTimeout when it has no deadline). The
// default, 3 s, is well under the server's own 10 s timeout, so a node
// without quorum is left for another in time.
func WithRequestTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d <= 0 {
			s.fail("request timeout %v must be positive", d)
			return
		}
		s.cfg.RequestTimeout = d
	}
}

// WithOperationTimeout bounds every operation whose context has no
// deadline, all its attempts and pauses included; Connect too. When it
// runs out, a read returns a *ClusterError naming each endpoint that failed
// and why, a write whose outcome is unknown an *UnknownOutcomeError; both
// also match context.DeadlineExceeded. The default is four request
// timeouts (12 s). A context deadline, longer or shorter, replaces it.
// Watches are exempt: they wait for events by design, and each poll's node
// is probed while they do. WithOperationTimeout(0) takes the bound away, so
// that an operation with such a context waits until the cluster answers.
func WithOperationTimeout(d time.Duration) Option {
	return func(s *settings) {
		switch {
		case d < 0:
			s.fail("operation timeout %v must not be negative", d)
		case d == 0:
			s.cfg.OperationTimeout = transport.NoOperationTimeout
		default:
			s.cfg.OperationTimeout = d
		}
	}
}

// WithDialTimeout bounds connection set-up (default 1 s).
func WithDialTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d <= 0 {
			s.fail("dial timeout %v must be positive", d)
			return
		}
		s.cfg.DialTimeout = d
	}
}

// WithRetryBackoff sets the pause before each retry of a request that may be
// retried; attempt counts retries from 0. By default the first retry goes to
// another node at once and later ones back off exponentially with jitter.
func WithRetryBackoff(backoff func(attempt int) time.Duration) Option {
	return func(s *settings) {
		if backoff == nil {
			s.fail("nil retry backoff")
			return
		}
		s.cfg.RetryBackoff = backoff
	}
}

// WithAutoSync refreshes the member list from the cluster every interval; 0
// turns it off.
func WithAutoSync(interval time.Duration) Option {
	return func(s *settings) {
		if interval < 0 {
			s.fail("auto-sync interval %v must not be negative", interval)
			return
		}
		s.cfg.AutoSyncInterval = interval
	}
}

// WithLogger makes the client log to logger: a warning when an endpoint is
// taken out of rotation and when every endpoint is failing, info when an
// endpoint is back and when the member list changes, and debug lines for
// each retry, hedge and request. Transitions are logged once, not per
// request. By default it logs nothing.
func WithLogger(logger *slog.Logger) Option {
	return func(s *settings) { s.cfg.Logger = logger }
}

// WithMaxResponseBytes caps the size of a response body (default 64 MiB);
// larger answers fail with ErrResponseTooLarge.
func WithMaxResponseBytes(n int64) Option {
	return func(s *settings) {
		if n <= 0 {
			s.fail("max response bytes %d must be positive", n)
			return
		}
		s.cfg.MaxResponseBytes = n
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(s *settings) { s.cfg.UserAgent = ua }
}

// WithoutHedging turns off hedged reads: a slow GET is then never duplicated
// to a second node, at the price of waiting up to one request timeout on a
// hung node.
func WithoutHedging() Option {
	return func(s *settings) { s.cfg.DisableHedging = true }
}

// WithHooks makes the client report each operation and attempt, endpoint
// health changes and member list changes to hooks (see package observe; the
// OpenTelemetry adapter in contrib/otel builds one). It may be given more than
// once: every set of hooks is called, in the order given. A client without
// hooks does no observation work.
func WithHooks(hooks observe.Hooks) Option {
	return func(s *settings) {
		if !hooks.Empty() {
			s.cfg.Hooks = append(s.cfg.Hooks, hooks)
		}
	}
}
