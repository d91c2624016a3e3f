package robustness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// nemesis injects faults until its context ends, then heals everything.
type nemesis interface {
	// run injects faults until ctx ends; it returns with the cluster healed.
	run(ctx context.Context, rng *rand.Rand)
	// counts returns how many faults of each kind were injected.
	counts() map[string]int
}

// faultCounter counts injected faults by kind.
type faultCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *faultCounter) inc(kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[kind]++
}

func (f *faultCounter) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.n {
		out[k] = v
	}
	return out
}

func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
}

// clusterNemesis faults the in-process cluster: one fault at a time, each undone after
// a random window. Faults: stop/restart a node, pause/resume a node, latency on a node
// (sometimes above the client's per-attempt timeout), lost quorum (writes hang for the
// server timeout, answer 500 and are applied when quorum returns), and hooks that
// apply a write and drop the answer, answer 500 without applying, truncate the answer,
// reset the connection or answer garbage.
type clusterNemesis struct {
	faultCounter
	c   *deimostest.Cluster
	cfg runConfig
}

func newClusterNemesis(c *deimostest.Cluster, cfg runConfig) *clusterNemesis {
	return &clusterNemesis{c: c, cfg: cfg}
}

func (n *clusterNemesis) run(ctx context.Context, rng *rand.Rand) {
	nodes := n.c.Nodes()
	for wait.Sleep(ctx, between(rng, 100*time.Millisecond, 400*time.Millisecond)) {
		node := nodes[rng.IntN(len(nodes))]
		window := between(rng, 200*time.Millisecond, 900*time.Millisecond)
		var undo func()
		switch k := rng.IntN(20); k {
		case 18, 19:
			// A node gone for longer than the lock TTL: sessions pinned to it
			// expire, and their holders must notice before anyone else enters.
			window = between(rng, n.cfg.lockTTL+500*time.Millisecond, n.cfg.lockTTL+1500*time.Millisecond)
			if k == 18 {
				n.inc("long-stop")
				node.Stop()
				undo = func() { _ = node.Start() }
			} else {
				n.inc("long-pause")
				node.Pause()
				undo = node.Resume
			}
		case 0, 1:
			n.inc("stop")
			node.Stop()
			undo = func() { _ = node.Start() }
		case 2, 3:
			n.inc("pause")
			node.Pause()
			undo = node.Resume
		case 4, 5:
			n.inc("latency")
			d := between(rng, 20*time.Millisecond, 150*time.Millisecond)
			if rng.IntN(3) == 0 {
				d = n.cfg.requestTimeout + 100*time.Millisecond // the attempt times out
			}
			node.SetLatency(d)
			undo = func() { node.SetLatency(0) }
		case 8, 9:
			// A busy node: it works on one or two requests at a time and
			// queues the rest, as a raft-bound node under load does.
			n.inc("busy")
			node.SetLatency(between(rng, 2*time.Millisecond, 10*time.Millisecond))
			node.SetCapacity(1 + rng.IntN(2))
			undo = func() { node.SetCapacity(0); node.SetLatency(0) }
		case 6, 7:
			n.inc("lose-quorum")
			n.c.LoseQuorum()
			undo = n.c.RestoreQuorum
		default:
			faults := []struct {
				name string
				f    deimostest.Fault
			}{
				{"drop-response-after-apply", deimostest.FaultDropResponse},
				{"drop-response-after-apply", deimostest.FaultDropResponse},
				{"500-not-applied", deimostest.Fault500},
				{"truncate", deimostest.FaultTruncate},
				{"reset", deimostest.FaultReset},
				{"garbage", deimostest.FaultGarbage},
			}
			f := faults[rng.IntN(len(faults))]
			method := []string{"PUT", "DELETE", "GET", ""}[rng.IntN(4)]
			count := 1 + rng.IntN(5)
			n.inc(f.name)
			node.SetHook(deimostest.FailNext(method, "/keys"+n.cfg.prefix, f.f, count))
			undo = func() { node.SetHook(nil) }
		}
		stopped := !wait.Sleep(ctx, window)
		undo()
		if stopped {
			break
		}
	}
	n.heal()
}

// heal undoes every fault, whatever the schedule left behind.
func (n *clusterNemesis) heal() {
	n.c.RestoreQuorum()
	for _, node := range n.c.Nodes() {
		node.SetHook(nil)
		node.SetLatency(0)
		node.SetCapacity(0)
		node.Resume()
		_ = node.Start()
	}
}

// commandNemesis faults a real cluster by running an operator's command, e.g.
// DEIMOS_NEMESIS='./ctl.sh {action} {node}' with actions kill, start, pause and
// resume and 1-based node numbers. Without a command it injects nothing.
type commandNemesis struct {
	faultCounter
	tmpl  string
	nodes int
	mu    sync.Mutex
	errs  []string
}

func newCommandNemesis(tmpl string, nodes int) *commandNemesis {
	return &commandNemesis{tmpl: strings.TrimSpace(tmpl), nodes: nodes}
}

func (n *commandNemesis) exec(action string, node int) {
	cmd := strings.NewReplacer("{action}", action, "{node}", strconv.Itoa(node)).Replace(n.tmpl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sh", "-c", cmd).CombinedOutput(); err != nil {
		n.mu.Lock()
		n.errs = append(n.errs, fmt.Sprintf("%s: %v: %s", cmd, err, clipString(string(out), 200)))
		n.mu.Unlock()
	}
}

func (n *commandNemesis) run(ctx context.Context, rng *rand.Rand) {
	if n.tmpl == "" {
		<-ctx.Done()
		return
	}
	for wait.Sleep(ctx, between(rng, 2*time.Second, 5*time.Second)) {
		node := 1 + rng.IntN(n.nodes)
		fault, undo := "kill", "start"
		if rng.IntN(2) == 0 {
			fault, undo = "pause", "resume"
		}
		n.inc(fault)
		n.exec(fault, node)
		wait.Sleep(context.WithoutCancel(ctx), between(rng, time.Second, 4*time.Second))
		n.exec(undo, node)
	}
	// Leave every node running, whatever happened.
	for i := 1; i <= n.nodes; i++ {
		n.exec("resume", i)
		n.exec("start", i)
	}
}

// failures returns the commands that failed.
func (n *commandNemesis) failures() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.errs...)
}
