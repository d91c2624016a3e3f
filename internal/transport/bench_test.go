package transport

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// The benchmarks compare Transport.Do with a hand-written keep-alive net/http
// client doing the same requests (same endpoints, headers, form body and JSON
// decoding) against the same in-process cluster. Allocations include the
// in-process server's.

func benchCluster(b *testing.B) (*deimostest.Cluster, *Transport) {
	b.Helper()
	c := deimostest.NewCluster(b, 3)
	tr, err := New(Config{Endpoints: c.Endpoints()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tr.Close() })
	if _, err := tr.Do(context.Background(), putReq("/bench", map[string]string{"value": "v"}), nil); err != nil {
		b.Fatal(err)
	}
	return c, tr
}

// plainClient is the baseline: round-robin over the endpoints, one shared
// keep-alive transport.
type plainClient struct {
	hc   *http.Client
	urls []string
	next atomic.Uint64
}

func newPlainClient(c *deimostest.Cluster) *plainClient {
	return &plainClient{
		hc:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		urls: c.Endpoints(),
	}
}

func (p *plainClient) do(ctx context.Context, method, path, form string, out any) error {
	base := p.urls[p.next.Add(1)%uint64(len(p.urls))]
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", DefaultUserAgent)
	if form != "" {
		req.Header.Set("Content-Type", formContentType)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return &Error{Code: resp.StatusCode}
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

func benchOps(b *testing.B, parallel bool, op func() error) {
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for i := 0; i < b.N; i++ {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism(max(1, 16/procs()))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchmarkOp runs op through the transport and through the plain client,
// sequentially and 16-way parallel, against one shared cluster.
func benchmarkOp(b *testing.B, req *Request, method, path, form string) {
	c, tr := benchCluster(b)
	p := newPlainClient(c)
	defer p.hc.CloseIdleConnections()
	for _, mode := range []struct {
		name     string
		parallel bool
	}{{"seq", false}, {"par16", true}} {
		b.Run(mode.name+"/nethttp", func(b *testing.B) {
			benchOps(b, mode.parallel, func() error {
				var out wireResp
				f := form
				if f != "" {
					f = url.Values{"value": {"v"}}.Encode() // as the transport does per call
				}
				return p.do(context.Background(), method, path, f, &out)
			})
		})
		b.Run(mode.name+"/transport", func(b *testing.B) { // T
			benchOps(b, mode.parallel, func() error {
				var out wireResp
				_, err := tr.Do(context.Background(), req, &out)
				return err
			})
		})
	}
}

func BenchmarkGet(b *testing.B) {
	benchmarkOp(b, getReq("/bench"), http.MethodGet, "/keys/bench", "")
}

func BenchmarkPut(b *testing.B) {
	benchmarkOp(b, putReq("/bench", map[string]string{"value": "v"}), http.MethodPut, "/keys/bench", "value=v")
}

func procs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkPaired alternates one transport request and one plain request in
// every iteration, so load from other processes hits both alike; it reports
// each side's mean latency and their ratio (allocations are not split).
func BenchmarkPaired(b *testing.B) {
	for _, tc := range []struct {
		name               string
		req                *Request
		method, path, form string
	}{
		{"get", getReq("/bench"), http.MethodGet, "/keys/bench", ""},
		{"put", putReq("/bench", map[string]string{"value": "v"}), http.MethodPut, "/keys/bench", "value=v"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c, tr := benchCluster(b)
			p := newPlainClient(c)
			defer p.hc.CloseIdleConnections()
			ctx := context.Background()
			var tt, pt time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var out wireResp
				start := time.Now()
				if _, err := tr.Do(ctx, tc.req, &out); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				f := tc.form
				if f != "" {
					f = url.Values{"value": {"v"}}.Encode()
				}
				if err := p.do(ctx, tc.method, tc.path, f, &out); err != nil {
					b.Fatal(err)
				}
				tt += mid.Sub(start)
				pt += time.Since(mid)
			}
			b.ReportMetric(float64(tt.Nanoseconds())/float64(b.N), "transport-ns/op")
			b.ReportMetric(float64(pt.Nanoseconds())/float64(b.N), "nethttp-ns/op")
			b.ReportMetric(float64(tt)/float64(pt), "ratio")
		})
	}
}
