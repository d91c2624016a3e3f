// Command benchtable summarises the output of `go test -bench` run with
// -count N: for every benchmark it prints the ratio metrics the
// side-by-side benchmarks report (cpu/<side>, allocs/<side>, thru/<side>,
// p99/<side>, ...), each as its median and [range] over the runs, and checks
// the targets the project holds its hot paths to.
//
//	go test -run '^$' -bench . -count 3 ./... > bench.out
//	go run ./test/benchtable bench.out
//
// It exits 1 when a target is missed by the median of its runs, 2 on bad
// input. `make bench` runs it.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	res, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	if len(res.order) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results in the input")
		os.Exit(2)
	}
	missed := write(os.Stdout, res, targets)
	if missed > 0 {
		os.Exit(1)
	}
}

// results holds every value of every metric of every benchmark, in the
// order first seen.
type results struct {
	order   []string
	metrics map[string]*metrics
}

type metrics struct {
	order  []string
	values map[string][]float64
}

// procSuffix is the -GOMAXPROCS suffix go test appends to benchmark names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// parse reads `go test -bench` output: a result line is the benchmark's
// name, its iteration count, then value-unit pairs.
func parse(r io.Reader) (*results, error) {
	res := &results{metrics: map[string]*metrics{}}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndexByte(p, '/')+1:]
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue
		}
		name := pkg + "." + strings.TrimPrefix(procSuffix.ReplaceAllString(fields[0], ""), "Benchmark")
		m := res.metrics[name]
		if m == nil {
			m = &metrics{values: map[string][]float64{}}
			res.metrics[name] = m
			res.order = append(res.order, name)
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q: %w", name, fields[i], err)
			}
			unit := fields[i+1]
			if _, seen := m.values[unit]; !seen {
				m.order = append(m.order, unit)
			}
			m.values[unit] = append(m.values[unit], v)
		}
	}
	return res, sc.Err()
}

// isRatio reports whether a unit is a side-by-side ratio ("cpu/nethttp"),
// not a per-operation figure ("ns/op", "B/op").
func isRatio(unit string) bool {
	return strings.Contains(unit, "/") && !strings.HasSuffix(unit, "/op")
}

// summary is the median and range of a metric's values.
type summary struct{ median, lo, hi float64 }

func summarise(vs []float64) summary {
	s := slices.Clone(vs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return summary{med, s[0], s[len(s)-1]}
}

func (s summary) String() string {
	if s.lo == s.hi {
		return fmt.Sprintf("%.2f", s.median)
	}
	return fmt.Sprintf("%.2f [%.2f–%.2f]", s.median, s.lo, s.hi)
}

// target is a bound a benchmark's metric must keep, by the median of its
// runs.
type target struct {
	bench  string // the benchmark's name as printed, package first
	metric string
	atMost bool // the median must be at most bound; else at least
	bound  float64
}

func (t target) holds(median float64) bool {
	if t.atMost {
		return median <= t.bound
	}
	return median >= t.bound
}

func (t target) String() string {
	op := "≥"
	if t.atMost {
		op = "≤"
	}
	return fmt.Sprintf("%s %s", op, strconv.FormatFloat(t.bound, 'f', -1, 64))
}

// targets are the hot paths' bounds: a client operation costs at most 1.05x
// plain net/http's CPU and allocations; hedging costs at most 1.05x CPU and
// keeps 0.98x the throughput of no hedging on a uniform cluster, idle or
// busy; a stream's
// event costs at most 1.1x a raw long-poll loop's, and arrives about when
// the raw loop's does even when followers lag.
var targets = func() []target {
	var ts []target
	for _, b := range []string{"deimos-client.Get/seq", "deimos-client.Get/par16", "deimos-client.Set/seq", "deimos-client.Set/par16"} {
		ts = append(ts, target{b, "cpu/nethttp", true, 1.05}, target{b, "allocs/nethttp", true, 1.05})
	}
	for _, b := range []string{"deimos-client.Hedging/uniform/par16", "deimos-client.Hedging/busy/par16"} {
		ts = append(ts, target{b, "cpu/nohedging", true, 1.05}, target{b, "thru/nohedging", false, 0.98})
	}
	for _, b := range []string{"watch.Stream/catchup", "watch.Stream/live", "watch.Stream/flatout"} {
		ts = append(ts, target{b, "cpu/rawpoll", true, 1.1}, target{b, "allocs/rawpoll", true, 1.1})
	}
	// Followers that lag: a stream delivers about when a raw loop on the
	// fresh node does (before it raced for the fresh node: 140x at p50).
	ts = append(ts,
		target{"watch.Stream_FollowerLag", "p50/rawpoll", true, 1.25},
		target{"watch.Stream_FollowerLag", "p99/rawpoll", true, 1.5},
	)
	return ts
}()

// write prints the table of ratios and the targets' verdicts, and returns
// how many targets the medians missed.
func write(w io.Writer, res *results, targets []target) (missed int) {
	fmt.Fprintln(w, "| benchmark | ratio | median [range] | runs |")
	fmt.Fprintln(w, "|---|---|---:|---:|")
	for _, name := range res.order {
		m := res.metrics[name]
		for _, unit := range m.order {
			if !isRatio(unit) {
				continue
			}
			vs := m.values[unit]
			fmt.Fprintf(w, "| %s | %s | %s | %d |\n", name, unit, summarise(vs), len(vs))
		}
	}
	checked := false
	for _, t := range targets {
		m := res.metrics[t.bench]
		if m == nil || len(m.values[t.metric]) == 0 {
			continue // not run this time
		}
		if !checked {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "| target | median | bound | verdict |")
			fmt.Fprintln(w, "|---|---:|---:|---|")
			checked = true
		}
		s := summarise(m.values[t.metric])
		verdict := "met"
		if !t.holds(s.median) {
			verdict, missed = "**missed**", missed+1
		}
		fmt.Fprintf(w, "| %s %s | %s | %s | %s |\n", t.bench, t.metric, s, t, verdict)
	}
	return missed
}
