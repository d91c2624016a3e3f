package deimos_test

// Benchmarks of the client against plain net/http doing the same requests
// (same URLs, User-Agent, form body, JSON decoded into the same type, the
// same index headers parsed), round-robin over the same endpoints of the
// same in-process cluster, and of hedging against no hedging.
//
// Each benchmark runs its sides in alternating rounds within one run
// (internal/benchpair), so load from elsewhere on the machine hits all of
// them alike, and reports the first side's figures and, for each other side,
// the first side's ratio to it: cpu/<side>, allocs/<side>, B/<side>,
// p50/<side>, p99/<side>, max/<side> (lower is better) and thru/<side>
// (higher is better). CPU is the process's own, so it includes the
// in-process server on every side.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/internal/benchpair"
	"github.com/marsevilspirit/deimos-client/observe"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

const benchKey = "/bench/key"

// BenchmarkGet: GET of one key, the client against plain net/http.
func BenchmarkGet(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	client := benchClient(b, c)
	if _, err := client.Set(context.Background(), benchKey, "value"); err != nil {
		b.Fatal(err)
	}
	plain := newPlainClient(c.Endpoints())
	defer plain.close()
	sides := []benchpair.Side{
		{Name: "client", Op: func(ctx context.Context) error { _, err := client.Get(ctx, benchKey); return err }},
		{Name: "nethttp", Op: func(ctx context.Context) error { return plain.get(ctx, benchKey) }},
	}
	b.Run("seq", func(b *testing.B) { benchpair.Compare(b, benchpair.Config{}, sides...) })
	b.Run("par16", func(b *testing.B) { benchpair.Compare(b, benchpair.Config{Workers: 16}, sides...) })
}

// BenchmarkSet: PUT of one key, the client against plain net/http.
func BenchmarkSet(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	client := benchClient(b, c)
	plain := newPlainClient(c.Endpoints())
	defer plain.close()
	sides := []benchpair.Side{
		{Name: "client", Op: func(ctx context.Context) error { _, err := client.Set(ctx, benchKey, "value"); return err }},
		{Name: "nethttp", Op: func(ctx context.Context) error { return plain.put(ctx, benchKey, "value") }},
	}
	b.Run("seq", func(b *testing.B) { benchpair.Compare(b, benchpair.Config{}, sides...) })
	b.Run("par16", func(b *testing.B) { benchpair.Compare(b, benchpair.Config{Workers: 16}, sides...) })
}

// BenchmarkHedging: 16 goroutines reading from three endpoints that each
// take about 2 ms per request (the shape of a real cluster, where a GET goes
// through raft), with hedging on and off and plain net/http round-robin;
// then with one node ten times slower; then with every node busy (a few
// reads at a time, the rest queued). Besides the usual figures it reports
// the connections each client dialled per thousand reads (dials/kop-hedging,
// dials/kop-nohedging) in the benchmark's last run: a cut request costs one.
func BenchmarkHedging(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	var hedgedDials, unhedgedDials, hedgedOps, unhedgedOps, hedges atomic.Int64
	// Both clients count their attempts through the same hook, so both pay
	// for it alike; the hedged one's hedges are reported per thousand reads.
	countHedges := func(counter *atomic.Int64) deimos.Option {
		return deimos.WithHooks(observe.Hooks{AttemptStart: func(ctx context.Context, a observe.Attempt) context.Context {
			if a.Hedged && counter != nil {
				counter.Add(1)
			}
			return ctx
		}})
	}
	hedged := benchClient(b, c, deimos.WithHTTPClient(dialCounting(b, &hedgedDials)), countHedges(&hedges))
	unhedged := benchClient(b, c, deimos.WithoutHedging(), deimos.WithHTTPClient(dialCounting(b, &unhedgedDials)), countHedges(nil))
	if _, err := hedged.Set(context.Background(), benchKey, "value"); err != nil {
		b.Fatal(err)
	}
	plain := newPlainClient(c.Endpoints())
	defer plain.close()
	sides := []benchpair.Side{
		{Name: "hedging", Op: func(ctx context.Context) error {
			hedgedOps.Add(1)
			_, err := hedged.Get(ctx, benchKey)
			return err
		}},
		{Name: "nohedging", Op: func(ctx context.Context) error {
			unhedgedOps.Add(1)
			_, err := unhedged.Get(ctx, benchKey)
			return err
		}},
		{Name: "nethttp", Op: func(ctx context.Context) error { return plain.get(ctx, benchKey) }},
	}
	run := func(b *testing.B) {
		for _, n := range []*atomic.Int64{&hedgedDials, &unhedgedDials, &hedgedOps, &unhedgedOps, &hedges} {
			n.Store(0)
		}
		benchpair.Compare(b, benchpair.Config{Workers: 16}, sides...)
		perKop := func(dials, ops *atomic.Int64) float64 {
			return 1000 * float64(dials.Load()) / float64(max(ops.Load(), 1))
		}
		b.ReportMetric(perKop(&hedgedDials, &hedgedOps), "dials/kop-hedging")
		b.ReportMetric(perKop(&unhedgedDials, &unhedgedOps), "dials/kop-nohedging")
		b.ReportMetric(perKop(&hedges, &hedgedOps), "hedges/kop")
	}
	for _, n := range c.Nodes() {
		n.SetLatency(2 * time.Millisecond)
	}
	b.Run("uniform/par16", run)
	c.Node(0).SetLatency(20 * time.Millisecond)
	b.Run("oneslow/par16", run)
	// A busy cluster: each node works on four reads at a time, 2 ms each,
	// and queues the rest, as a raft-bound node does; 16 readers keep every
	// queue full, so every answer is late alike and a hedge would only add
	// load.
	for _, n := range c.Nodes() {
		n.SetLatency(2 * time.Millisecond)
		n.SetCapacity(4)
	}
	b.Run("busy/par16", run)
}

// dialCounting is an HTTP client with the pool the client makes by
// default, counting the connections it dials.
func dialCounting(b *testing.B, dials *atomic.Int64) *http.Client {
	d := &net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second} // the default dial timeout
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// BenchmarkPausedNode: sequential GETs from three endpoints while one node
// is paused (accepts connections, answers nothing), with hedging on and
// off. Besides the usual figures it reports the slowest GET (max-ms): with
// hedging a hung node costs a hedge delay, without it one request timeout
// (3 s) each time the node is tried again.
func BenchmarkPausedNode(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	hedged := benchClient(b, c)
	unhedged := benchClient(b, c, deimos.WithoutHedging())
	if _, err := hedged.Set(context.Background(), benchKey, "value"); err != nil {
		b.Fatal(err)
	}
	c.Node(0).Pause()
	defer c.Node(0).Resume()
	for _, tc := range []struct {
		name   string
		client *deimos.Client
	}{{"hedging", hedged}, {"nohedging", unhedged}} {
		var slowest time.Duration // over every run of the benchmark, the first included
		b.Run(tc.name, func(b *testing.B) {
			benchpair.Compare(b, benchpair.Config{}, benchpair.Side{Name: tc.name, Op: func(ctx context.Context) error {
				start := time.Now()
				_, err := tc.client.Get(ctx, benchKey)
				slowest = max(slowest, time.Since(start))
				return err
			}})
			// The slowest GET of every run of the benchmark, its warm-up
			// and first runs included (where a paused node is met first).
			b.ReportMetric(float64(slowest)/float64(time.Millisecond), "max-ms")
		})
	}
}

func benchClient(b *testing.B, c *deimostest.Cluster, opts ...deimos.Option) *deimos.Client {
	client := deimos.New(append([]deimos.Option{deimos.WithEndpoints(c.Endpoints()...)}, opts...)...)
	b.Cleanup(func() { _ = client.Close() })
	return client
}

// plainClient is what a careful hand-written client does: one keep-alive
// http.Client, requests spread round-robin over the endpoints, a form body
// for PUT, the JSON answer decoded into the same Response type and the
// index headers parsed.
type plainClient struct {
	endpoints []string
	next      atomic.Uint64
	tr        *http.Transport
	hc        *http.Client
}

func newPlainClient(endpoints []string) *plainClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	return &plainClient{endpoints: slices.Clone(endpoints), tr: tr, hc: &http.Client{Transport: tr}}
}

func (p *plainClient) base() string {
	return p.endpoints[p.next.Add(1)%uint64(len(p.endpoints))]
}

func (p *plainClient) close() { p.tr.CloseIdleConnections() }

func (p *plainClient) get(ctx context.Context, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base()+"/keys"+key, nil)
	if err != nil {
		return err
	}
	return p.do(req)
}

func (p *plainClient) put(ctx context.Context, key, value string) error {
	body := url.Values{"value": {value}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.base()+"/keys"+key, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return p.do(req)
}

func (p *plainClient) do(req *http.Request) error {
	req.Header.Set("User-Agent", "deimos-client-go")
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out deimos.Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	out.HeaderIndex, _ = strconv.ParseUint(resp.Header.Get("X-Deimos-Index"), 10, 64)
	out.RaftIndex, _ = strconv.ParseUint(resp.Header.Get("X-Raft-Index"), 10, 64)
	out.RaftTerm, _ = strconv.ParseUint(resp.Header.Get("X-Raft-Term"), 10, 64)
	return nil
}
