package robustness

import (
	"os"
	"strings"
	"testing"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// target is the cluster a run talks to: the in-process cluster, or a real one named by
// DEIMOS_ENDPOINTS.
type target struct {
	endpoints []string
	cluster   *deimostest.Cluster // nil on a real cluster
	nemesis   nemesis
}

// realEndpoints returns the endpoints of DEIMOS_ENDPOINTS, or nil when it is unset.
func realEndpoints() []string {
	v := strings.TrimSpace(os.Getenv("DEIMOS_ENDPOINTS"))
	if v == "" {
		return nil
	}
	var eps []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	return eps
}

// newTarget starts a 3-node in-process cluster (closed by the caller through close) or
// connects to the real cluster of DEIMOS_ENDPOINTS.
func newTarget(t *testing.T, cfg runConfig) *target {
	t.Helper()
	if eps := realEndpoints(); eps != nil {
		return &target{endpoints: eps, nemesis: newCommandNemesis(os.Getenv("DEIMOS_NEMESIS"), len(eps))}
	}
	c, err := deimostest.StartCluster(3,
		deimostest.WithServerTimeout(cfg.serverTimeout),
		deimostest.WithWatchTimeout(cfg.watchTimeout),
	)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	return &target{endpoints: c.Endpoints(), cluster: c, nemesis: newClusterNemesis(c, cfg)}
}

func (tg *target) close() {
	if tg.cluster != nil {
		tg.cluster.Close()
	}
}
