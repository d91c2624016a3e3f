package deimos_test

// Benchmarks of the client against a plain keep-alive net/http client doing
// the same requests (same URL, same form body, same JSON decoding and index
// header parsing) against the same in-process cluster, in one run.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

const benchKey = "/bench/key"

func BenchmarkGet(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...))
	defer client.Close()
	if _, err := client.Set(context.Background(), benchKey, "value"); err != nil {
		b.Fatal(err)
	}
	plain := newPlainClient(c.Endpoints())
	defer plain.close()

	b.Run("client", func(b *testing.B) {
		run(b, func(ctx context.Context) error { _, err := client.Get(ctx, benchKey); return err })
	})
	b.Run("nethttp", func(b *testing.B) {
		run(b, func(ctx context.Context) error { return plain.get(ctx, benchKey) })
	})
	b.Run("client-parallel16", func(b *testing.B) {
		runParallel(b, func(ctx context.Context) error { _, err := client.Get(ctx, benchKey); return err })
	})
	b.Run("nethttp-parallel16", func(b *testing.B) {
		runParallel(b, func(ctx context.Context) error { return plain.get(ctx, benchKey) })
	})
}

func BenchmarkSet(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...))
	defer client.Close()
	plain := newPlainClient(c.Endpoints())
	defer plain.close()

	b.Run("client", func(b *testing.B) {
		run(b, func(ctx context.Context) error { _, err := client.Set(ctx, benchKey, "value"); return err })
	})
	b.Run("nethttp", func(b *testing.B) {
		run(b, func(ctx context.Context) error { return plain.put(ctx, benchKey, "value") })
	})
	b.Run("client-parallel16", func(b *testing.B) {
		runParallel(b, func(ctx context.Context) error { _, err := client.Set(ctx, benchKey, "value"); return err })
	})
	b.Run("nethttp-parallel16", func(b *testing.B) {
		runParallel(b, func(ctx context.Context) error { return plain.put(ctx, benchKey, "value") })
	})
}

func run(b *testing.B, op func(context.Context) error) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// runParallel runs op from 16 goroutines whatever GOMAXPROCS is.
func runParallel(b *testing.B, op func(context.Context) error) {
	ctx := context.Background()
	b.ReportAllocs()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((16 + procs - 1) / procs)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// plainClient is what a careful hand-written client does: one keep-alive
// http.Client, requests spread round-robin over the same endpoints, a form
// body for PUT, the JSON answer decoded into the same Response type and the
// index header parsed.
type plainClient struct {
	endpoints []string
	next      atomic.Uint64
	tr        *http.Transport
	hc        *http.Client
}

func newPlainClient(endpoints []string) *plainClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	return &plainClient{endpoints: endpoints, tr: tr, hc: &http.Client{Transport: tr}}
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
	out.Index, _ = strconv.ParseUint(resp.Header.Get("X-Deimos-Index"), 10, 64)
	return nil
}
