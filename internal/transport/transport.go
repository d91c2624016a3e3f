package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/observe"
)

// Defaults for the zero values of Config.
const (
	DefaultRequestTimeout   = 3 * time.Second
	DefaultDialTimeout      = 1 * time.Second
	DefaultMaxResponseBytes = 64 << 20
	DefaultUserAgent        = "deimos-client-go"
)

// Config configures a Transport. Zero values mean defaults.
type Config struct {
	Endpoints      []string
	HTTPClient     *http.Client // used as is when set (TLSConfig and DialTimeout ignored)
	TLSConfig      *tls.Config
	RequestTimeout time.Duration // per attempt; default 3 s
	// OperationTimeout bounds a whole operation (all its attempts and
	// pauses) whose context has no deadline; long polls are exempt. 0 means
	// 4 attempt timeouts (12 s by default); NoOperationTimeout, none.
	OperationTimeout time.Duration
	DialTimeout      time.Duration // default 1 s
	RetryBackoff     func(attempt int) time.Duration
	AutoSyncInterval time.Duration // 0: no periodic /machines refresh
	Logger           *slog.Logger  // nil: no logging
	MaxResponseBytes int64         // default 64 MiB
	UserAgent        string
	DisableHedging   bool
	Hooks            []observe.Hooks // called in order; empty: no observation cost
}

// tuning holds knobs tests adjust; the defaults suit real clusters.
type tuning struct {
	hedgeFloor   time.Duration // never hedge sooner than this
	hedgeCap     time.Duration // never wait longer than this before hedging
	hedgeDefault time.Duration // hedge delay of an endpoint without latency samples
	// pollProbeInterval is how often the endpoint of a waiting long poll is
	// probed for liveness.
	pollProbeInterval time.Duration
	// pollIdleGrace is how long an endpoint's guard outlives its last
	// waiting poll (pollguard.go).
	pollIdleGrace time.Duration
	endpoints     endpoints.Options
}

func defaultTuning(requestTimeout time.Duration) tuning {
	hedgeCap := min(time.Second, requestTimeout/2)
	return tuning{
		hedgeFloor:   15 * time.Millisecond,
		hedgeCap:     hedgeCap,
		hedgeDefault: min(50*time.Millisecond, hedgeCap),
		// One probe per waiting poll every few seconds: a hung node costs a
		// watch at most this plus one attempt timeout.
		pollProbeInterval: max(time.Second, requestTimeout),
		// A watch polls again within microseconds of its last answer; a
		// program that stopped watching (and may never Close its client)
		// keeps no guard for long.
		pollIdleGrace: 100 * time.Millisecond,
	}
}

// Transport carries every HTTP exchange with the cluster. It is safe for
// concurrent use.
type Transport struct {
	cfg       Config
	tune      tuning
	set       *endpoints.Set
	rt        http.RoundTripper // what attempts are sent through
	base      http.RoundTripper // the real round tripper: probes, CloseIdleConnections
	policy    policy
	calls     sync.Pool // of *call
	userAgent []string
	// tracesConns: the base round tripper reports GotConn (see call.neverSent).
	tracesConns bool
	polls       pollGuards // liveness of the endpoints long polls wait on
	hedges      hedgeBudget
	opTimeout   *operationTimeout // nil: only contexts bound operations
	obs         *observer         // nil without hooks and logger

	// Counters for tests and diagnostics.
	hedgesSent    atomic.Int64 // second attempts sent
	primariesLost atomic.Int64 // hedges that answered first (an inline primary's connection is cut)
	hedgesCut     atomic.Int64 // losing copies, hedges or detached primaries, that never answered (their connection too)

	closed atomic.Bool
	ctx    context.Context // ends background work on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // auto-sync and hedge goroutines
	mu     sync.Mutex     // orders wg.Add against Close
	done   bool           // guarded by mu
}

// New validates cfg and builds a Transport. It starts background work only for auto-sync.
func New(cfg Config) (*Transport, error) {
	return newTransport(cfg, nil)
}

func newTransport(cfg Config, tune *tuning) (*Transport, error) {
	if cfg.RequestTimeout < 0 || cfg.DialTimeout < 0 || cfg.MaxResponseBytes < 0 || cfg.AutoSyncInterval < 0 ||
		(cfg.OperationTimeout < 0 && cfg.OperationTimeout != NoOperationTimeout) {
		return nil, errors.New("negative timeout, interval or size")
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	t := &Transport{cfg: cfg, userAgent: []string{cfg.UserAgent}}
	if d := operationBound(cfg); d > 0 {
		t.opTimeout = &operationTimeout{d: d}
	}
	t.hedges.credit.Store(hedgeBurst)
	if tune != nil {
		t.tune = *tune
	} else {
		t.tune = defaultTuning(cfg.RequestTimeout)
	}
	epOpts := t.tune.endpoints
	epOpts.Probe = t.probe
	if epOpts.ProbeTimeout == 0 {
		epOpts.ProbeTimeout = cfg.RequestTimeout
	}
	t.obs = newObserver(cfg.Hooks, cfg.Logger)
	if t.obs != nil {
		epOpts.OnChange = t.obs.endpointChanged
	}
	set, err := endpoints.New(cfg.Endpoints, epOpts)
	if err != nil {
		return nil, err
	}
	t.set = set
	if t.obs != nil {
		t.obs.set = set
		t.obs.membership(endpoints.Diff{Added: set.URLs()}, true)
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.base, t.rt = t.buildRoundTripper()
	t.policy = newPolicy(cfg)
	if cfg.AutoSyncInterval > 0 {
		t.goBackground(t.autoSync)
	}
	return t, nil
}

// buildRoundTripper returns the round tripper of the configured client, or
// of a fresh keep-alive transport, and what attempts are sent through: that
// round tripper itself, which does everything http.Client would do for
// these requests (they are never redirected: the client builds only clean
// paths, and following a redirect would re-send writes somewhere
// unexpected) without copying headers for redirects on every request; or,
// for a configured client with a cookie jar or a timeout of its own, the
// client, with redirects off.
func (t *Transport) buildRoundTripper() (base, rt http.RoundTripper) {
	hc := t.cfg.HTTPClient
	if hc == nil {
		dialer := &net.Dialer{Timeout: t.cfg.DialTimeout, KeepAlive: 30 * time.Second}
		tr := &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dialer.DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: t.cfg.RequestTimeout,
		}
		if t.cfg.TLSConfig != nil {
			tr.TLSClientConfig = t.cfg.TLSConfig.Clone()
		}
		base = tr
	} else if base = hc.Transport; base == nil {
		base = http.DefaultTransport
	}
	// Only net/http's own transport is known to report GotConn; with any
	// other round tripper a failed write is never assumed unsent.
	_, t.tracesConns = base.(*http.Transport)
	if hc == nil || (hc.Jar == nil && hc.Timeout == 0) {
		return base, base
	}
	c := *hc
	c.Transport = base
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return base, clientTripper{&c}
}

// clientTripper sends attempts through a configured http.Client.
type clientTripper struct{ hc *http.Client }

func (c clientTripper) RoundTrip(req *http.Request) (*http.Response, error) { return c.hc.Do(req) }

// goBackground runs f in a goroutine that Close waits for; it reports false
// when the transport is already closed.
func (t *Transport) goBackground(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// URLs returns the endpoints requests may go to.
func (t *Transport) URLs() []string { return t.set.URLs() }

// Endpoints reports each endpoint's state for observability.
func (t *Transport) Endpoints() []EndpointStatus {
	snap := t.set.Snapshot()
	out := make([]EndpointStatus, len(snap))
	for i, s := range snap {
		out[i] = EndpointStatus{
			URL:       s.URL,
			State:     s.State.String(),
			Score:     s.Score,
			Latency:   s.Latency,
			Failures:  s.Failures,
			LastError: s.LastErr,
			Seed:      s.Seed,
			InFlight:  s.InFlight,
		}
	}
	return out
}

// EndpointStatus is a read-only view of one endpoint.
type EndpointStatus struct {
	URL       string
	State     string // "healthy", "cooldown", "probing"
	Score     float64
	Latency   time.Duration // EWMA
	Failures  int           // consecutive
	LastError error
	Seed      bool  // given by the user, never forgotten
	InFlight  int64 // requests in flight
}

// Close stops background work and closes idle connections. Do after Close
// returns ErrClosed. It is idempotent.
func (t *Transport) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	t.mu.Lock()
	t.done = true
	t.mu.Unlock()
	t.cancel()
	t.set.Close()
	t.wg.Wait()
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
	return nil
}

// probe checks that an endpoint answers HTTP at all (HEAD /machines works
// without quorum), before it takes traffic again after a cool-down.
func (t *Transport) probe(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, base+"/machines", nil)
	if err != nil {
		return err
	}
	req.Header["User-Agent"] = t.userAgent
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe: status %d", resp.StatusCode)
	}
	return nil
}
