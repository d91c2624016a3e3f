// Package devcluster gives the examples a cluster to talk to: the one named
// by DEIMOS_ENDPOINTS (comma-separated URLs) when set, otherwise a 3-node
// cluster started in-process, so every example runs with no setup.
package devcluster

import (
	"fmt"
	"os"
	"strings"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

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
