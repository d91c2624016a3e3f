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
	// As unkind as a real cluster: each node's watches trail the store, and a
	// write's X-Deimos-Index can name a later write (docs/protocol.md §13.2, §6.2).
	c, err := deimostest.StartCluster(3,
		deimostest.WithServerTimeout(cfg.serverTimeout),
		deimostest.WithWatchTimeout(cfg.watchTimeout),
		deimostest.WithWatchLag(cfg.watchLag),
		deimostest.WithWriteIndexRace(),
	)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	return &target{endpoints: c.Endpoints(), cluster: c, nemesis: newClusterNemesis(c, cfg)}
}

// crashHazards reports, as violations, every moment a real node would have
// crashed (a watcher inside a directory that was deleted or expired): the
// SDK's recipes must never cause one. A real cluster reports them by dying,
// which the other checks then see.
func (tg *target) crashHazards() []violation {
	if tg.cluster == nil {
		return nil
	}
	var vs []violation
	for _, h := range tg.cluster.CrashHazards() {
		vs = append(vs, violation{Check: "crash-hazard", Detail: h.String()})
	}
	return vs
}

// writeIndexRaces is how many write answers carried a later X-Deimos-Index
// than their own (0 on a real cluster, where nobody counts).
func (tg *target) writeIndexRaces() int64 {
	if tg.cluster == nil {
		return 0
	}
	return tg.cluster.WriteIndexRaces()
}

func (tg *target) close() {
	if tg.cluster != nil {
		tg.cluster.Close()
	}
}
