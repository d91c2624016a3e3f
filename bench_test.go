//go:build unix

package deimos_test

// Benchmarks of the client against plain net/http doing the same requests
// (same URLs, User-Agent, form body, JSON decoded into the same type, the
// same index headers parsed), round-robin over the same endpoints of the
// same in-process cluster, and of hedging against no hedging.
//
// Each benchmark runs its sides in alternating rounds within one run, so
// load from elsewhere on the machine hits all of them alike, and reports
// the first side's figures (ns/op, cpu-ns/op, B/op, allocs/op) and, for each
// other side, the first side's ratio to it: cpu/<side>, allocs/<side> and
// B/<side> (CPU time, allocations and bytes allocated per operation, lower is
// better), p99/<side> (the 99th percentile latency, lower is better) and
// thru/<side> (operations per second, higher is better). CPU is the process's own
// (getrusage), so it includes the in-process server on every side.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

const benchKey = "/bench/key"

// side is one way of doing the benchmarked operation.
type side struct {
	name string
	op   func(context.Context) error
}

// BenchmarkGet: GET of one key, the client against plain net/http.
func BenchmarkGet(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	client := benchClient(b, c)
	if _, err := client.Set(context.Background(), benchKey, "value"); err != nil {
		b.Fatal(err)
	}
	plain := newPlainClient(c.Endpoints())
	defer plain.close()
	sides := []side{
		{"client", func(ctx context.Context) error { _, err := client.Get(ctx, benchKey); return err }},
		{"nethttp", func(ctx context.Context) error { return plain.get(ctx, benchKey) }},
	}
	b.Run("seq", func(b *testing.B) { compare(b, 1, sides...) })
	b.Run("par16", func(b *testing.B) { compare(b, 16, sides...) })
}

// BenchmarkSet: PUT of one key, the client against plain net/http.
func BenchmarkSet(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	client := benchClient(b, c)
	plain := newPlainClient(c.Endpoints())
	defer plain.close()
	sides := []side{
		{"client", func(ctx context.Context) error { _, err := client.Set(ctx, benchKey, "value"); return err }},
		{"nethttp", func(ctx context.Context) error { return plain.put(ctx, benchKey, "value") }},
	}
	b.Run("seq", func(b *testing.B) { compare(b, 1, sides...) })
	b.Run("par16", func(b *testing.B) { compare(b, 16, sides...) })
}

// BenchmarkHedging: 16 goroutines reading from three endpoints that each
// take about 2 ms per request (the shape of a real cluster, where a GET goes
// through raft), with hedging on and off and plain net/http round-robin;
// then with one node ten times slower.
func BenchmarkHedging(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	hedged := benchClient(b, c)
	unhedged := benchClient(b, c, deimos.WithoutHedging())
	if _, err := hedged.Set(context.Background(), benchKey, "value"); err != nil {
		b.Fatal(err)
	}
	plain := newPlainClient(c.Endpoints())
	defer plain.close()
	sides := []side{
		{"hedging", func(ctx context.Context) error { _, err := hedged.Get(ctx, benchKey); return err }},
		{"nohedging", func(ctx context.Context) error { _, err := unhedged.Get(ctx, benchKey); return err }},
		{"nethttp", func(ctx context.Context) error { return plain.get(ctx, benchKey) }},
	}
	for _, n := range c.Nodes() {
		n.SetLatency(2 * time.Millisecond)
	}
	b.Run("uniform/par16", func(b *testing.B) { compare(b, 16, sides...) })
	c.Node(0).SetLatency(20 * time.Millisecond)
	b.Run("oneslow/par16", func(b *testing.B) { compare(b, 16, sides...) })
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
			compare(b, 1, side{tc.name, func(ctx context.Context) error {
				start := time.Now()
				_, err := tc.client.Get(ctx, benchKey)
				slowest = max(slowest, time.Since(start))
				return err
			}})
			b.ReportMetric(float64(slowest)/float64(time.Millisecond), "max-ms")
		})
	}
}

func benchClient(b *testing.B, c *deimostest.Cluster, opts ...deimos.Option) *deimos.Client {
	client := deimos.New(append([]deimos.Option{deimos.WithEndpoints(c.Endpoints()...)}, opts...)...)
	b.Cleanup(func() { _ = client.Close() })
	return client
}

// tally is what one side cost over the rounds it ran.
type tally struct {
	ops           int
	wall, cpu     time.Duration
	allocs, bytes uint64
	lat           latencies
}

// latencies is a histogram of operation latencies in buckets of about 9 %
// (eight per power of two), filled without locks or allocations.
type latencies [64 * 8]atomic.Int64

func (l *latencies) add(d time.Duration) {
	n := uint64(max(d, 1))
	top := bits.Len64(n) - 1
	sub := 0
	if top >= 3 {
		sub = int(n>>(top-3)) & 7
	}
	l[top*8+sub].Add(1)
}

// quantile returns the upper bound of the bucket holding quantile q.
func (l *latencies) quantile(q float64) time.Duration {
	var total int64
	for i := range l {
		total += l[i].Load()
	}
	want := int64(q * float64(total))
	var seen int64
	for i := range l {
		if seen += l[i].Load(); seen > want {
			top, sub := i/8, i%8
			if top < 3 {
				return time.Duration(1) << (top + 1)
			}
			return time.Duration(8+sub+1) << (top - 3)
		}
	}
	return 0
}

func (t *tally) perOp(v float64) float64 { return v / float64(t.ops) }

// compare runs b.N operations of each side, by workers goroutines, in
// alternating rounds, and reports the first side's figures and its ratios
// to the others.
func compare(b *testing.B, workers int, sides ...side) {
	round := 50
	if workers > 1 {
		round = 10 * workers
	}
	for _, s := range sides { // warm the connection pools
		run(b, s, workers, round)
	}
	tallies := make([]tally, len(sides))
	b.ResetTimer()
	for done, r := 0, 0; done < b.N; r++ {
		n := min(round, b.N-done)
		for i := range sides {
			j := (i + r) % len(sides) // each side goes first in turn
			measure(b, sides[j], workers, n, &tallies[j])
		}
		done += n
	}
	b.StopTimer()
	report(b, sides, tallies)
}

// measure runs n operations of s and adds their cost to t.
func measure(b *testing.B, s side, workers, n int, t *tally) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0, start := cpuTime(), time.Now()
	timed := side{s.name, func(ctx context.Context) error {
		start := time.Now()
		err := s.op(ctx)
		t.lat.add(time.Since(start))
		return err
	}}
	run(b, timed, workers, n)
	t.wall += time.Since(start)
	t.cpu += cpuTime() - cpu0
	runtime.ReadMemStats(&m1)
	t.allocs += m1.Mallocs - m0.Mallocs
	t.bytes += m1.TotalAlloc - m0.TotalAlloc
	t.ops += n
}

// run does n operations of s spread over workers goroutines.
func run(b *testing.B, s side, workers, n int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		share := n / workers
		if w < n%workers {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range share {
				if err := s.op(ctx); err != nil {
					b.Errorf("%s: %v", s.name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func report(b *testing.B, sides []side, tallies []tally) {
	ref := &tallies[0]
	if ref.ops == 0 {
		return
	}
	b.ReportMetric(ref.perOp(float64(ref.wall)), "ns/op")
	b.ReportMetric(ref.perOp(float64(ref.cpu)), "cpu-ns/op")
	b.ReportMetric(ref.perOp(float64(ref.bytes)), "B/op")
	b.ReportMetric(ref.perOp(float64(ref.allocs)), "allocs/op")
	p99 := ref.lat.quantile(0.99)
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99-ms")
	for i, s := range sides[1:] {
		o := &tallies[i+1]
		b.ReportMetric(ratio(float64(p99), float64(o.lat.quantile(0.99))), "p99/"+s.name)
		b.ReportMetric(ratio(ref.perOp(float64(ref.cpu)), o.perOp(float64(o.cpu))), "cpu/"+s.name)
		b.ReportMetric(ratio(ref.perOp(float64(ref.allocs)), o.perOp(float64(o.allocs))), "allocs/"+s.name)
		b.ReportMetric(ratio(ref.perOp(float64(ref.bytes)), o.perOp(float64(o.bytes))), "B/"+s.name)
		b.ReportMetric(ratio(o.perOp(float64(o.wall)), ref.perOp(float64(ref.wall))), "thru/"+s.name)
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
