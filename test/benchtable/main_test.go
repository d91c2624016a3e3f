package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sample = `goos: linux
pkg: github.com/marsevilspirit/deimos-client
BenchmarkGet/seq-2   	   10000	     70000 ns/op	        1.04 cpu/nethttp	   108.0 allocs/op	        0.97 allocs/nethttp
BenchmarkGet/seq-2   	   10000	     71000 ns/op	        1.01 cpu/nethttp	   108.0 allocs/op	        0.97 allocs/nethttp
BenchmarkGet/seq-2   	   10000	     72000 ns/op	        1.09 cpu/nethttp	   108.0 allocs/op	        0.97 allocs/nethttp
PASS
pkg: github.com/marsevilspirit/deimos-client/watch
BenchmarkStream/live-2 	    2000	    130000 ns/op	        1.20 cpu/rawpoll	        1.02 allocs/rawpoll
ok  	github.com/marsevilspirit/deimos-client/watch	10s
`

func TestParseAndWrite(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	require.NoError(t, err)
	require.Equal(t, []string{"deimos-client.Get/seq", "watch.Stream/live"}, res.order)
	assert.Equal(t, []float64{1.04, 1.01, 1.09}, res.metrics["deimos-client.Get/seq"].values["cpu/nethttp"])

	var out strings.Builder
	missed := write(&out, res, targets)
	text := out.String()
	assert.Contains(t, text, "| deimos-client.Get/seq | cpu/nethttp | 1.04 [1.01–1.09] | 3 |")
	assert.Contains(t, text, "| deimos-client.Get/seq | allocs/nethttp | 0.97 | 3 |")
	assert.NotContains(t, text, "ns/op", "per-operation figures are not ratios")
	assert.Contains(t, text, "| deimos-client.Get/seq cpu/nethttp | 1.04 [1.01–1.09] | ≤ 1.05 | met |")
	assert.Contains(t, text, "| watch.Stream/live cpu/rawpoll | 1.20 | ≤ 1.1 | **missed** |")
	assert.Equal(t, 1, missed)
	assert.NotContains(t, text, "Set/seq", "targets of benchmarks that did not run are not judged")
}

func TestSummariseEvenCount(t *testing.T) {
	s := summarise([]float64{4, 1, 3, 2})
	assert.Equal(t, summary{2.5, 1, 4}, s)
}

func TestParse_RejectsBadValue(t *testing.T) {
	_, err := parse(strings.NewReader("pkg: x/y\nBenchmarkA-2 10 abc ns/op\n"))
	require.Error(t, err)
}
