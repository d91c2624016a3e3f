package deimostest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// benchClient is a keep-alive client with enough idle connections for parallel runs.
func benchClient(b *testing.B) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func benchDo(b *testing.B, hc *http.Client, method, url, body string) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		b.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode >= 300 {
		b.Fatalf("status %d", res.StatusCode)
	}
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkServerGet(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	hc := benchClient(b)
	url := c.Endpoints()[0] + "/keys/bench"
	benchDo(b, hc, "PUT", url, "value=v")
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			benchDo(b, hc, "GET", url, "")
		}
		reportRate(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				benchDo(b, hc, "GET", url, "")
			}
		})
		reportRate(b)
	})
}

func BenchmarkServerPut(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	hc := benchClient(b)
	url := c.Endpoints()[0] + "/keys/bench"
	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			benchDo(b, hc, "PUT", url, "value=v")
		}
		reportRate(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				benchDo(b, hc, "PUT", url, "value=v")
			}
		})
		reportRate(b)
	})
}
