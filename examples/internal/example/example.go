// Package example holds what every runnable example shares: a cluster to
// talk to (the one named by DEIMOS_ENDPOINTS, comma-separated URLs, when set;
// otherwise a 3-node cluster started in-process, so every example runs with
// no setup), a deadline, fresh key names, and exit status 1 when something
// is not as the example expects.
package example

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// Main runs body against the cluster within timeout. It prints "OK: " and
// success when body returns nil, and otherwise the error, exiting with
// status 1.
func Main(timeout time.Duration, success string, body func(ctx context.Context, endpoints []string) error) {
	if err := run(timeout, body); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("OK:", success)
}

func run(timeout time.Duration, body func(ctx context.Context, endpoints []string) error) error {
	endpoints, stop, err := Endpoints()
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return body(ctx, endpoints)
}

// Endpoints returns the cluster's client URLs and a function that stops the
// in-process cluster (a no-op for a real one).
func Endpoints() ([]string, func(), error) {
	if env := os.Getenv("DEIMOS_ENDPOINTS"); env != "" {
		var eps []string
		for ep := range strings.SplitSeq(env, ",") {
			if ep = strings.TrimSpace(ep); ep != "" {
				eps = append(eps, ep)
			}
		}
		return eps, func() {}, nil
	}
	c, err := deimostest.StartCluster(3)
	if err != nil {
		return nil, nil, fmt.Errorf("start in-process cluster: %w", err)
	}
	fmt.Println("no DEIMOS_ENDPOINTS: started an in-process 3-node cluster")
	return c.Endpoints(), c.Close, nil
}

// Key returns a fresh key under /examples, so runs against a real cluster do
// not collide with earlier ones.
func Key(name string) string {
	return "/examples/" + name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// Check returns an error made of format and args unless ok.
func Check(ok bool, format string, args ...any) error {
	if !ok {
		return fmt.Errorf(format, args...)
	}
	return nil
}
