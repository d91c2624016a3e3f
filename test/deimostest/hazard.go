package deimostest

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CrashHazard is a moment when a real Deimos node would have panicked and exited
// (docs/protocol.md §12.7): a directory was deleted recursively, or a directory with a TTL
// expired, while that node had a watcher (live, or abandoned by its client but not yet
// ended by an event or its watch timeout) on a key strictly inside it. On a lagging node
// the moment is when the node applies the delete or expiry (docs/protocol.md §13.2). The
// emulator delivers the directory's event to those watchers instead, which is what the
// server intends.
type CrashHazard struct {
	Node    string   // name of the node that would have crashed (node1, node2, ...)
	Dir     string   // the directory deleted or expired
	Action  string   // "delete" or "expire"
	Index   uint64   // index of the delete or expire event
	Watched []string // watched keys strictly inside Dir, sorted
}

// String describes the hazard in one line.
func (h CrashHazard) String() string {
	what := "recursive delete"
	if h.Action == actionExpire {
		what = "expiry"
	}
	return h.Node + " would have crashed: " + what + " of directory " + h.Dir + " at index " +
		strconv.FormatUint(h.Index, 10) + " while it had watches inside it on " +
		strings.Join(h.Watched, ", ")
}

// checkHazard records a hazard if r, applying the directory delete or expiry l, has an
// active watcher on a key of the removed subtree other than the directory itself. Like the
// real server, which only notifies the paths of the nodes it removes, a watch on a key
// that did not exist inside the directory is harmless.
func (s *store) checkHazard(r *replica, l *logged, now time.Time) {
	dir := l.ev.Node.Key
	prefix := withSlash(dir)
	var watched []string
	for k, set := range r.watchers.byKey {
		if !strings.HasPrefix(k, prefix) || k == dir || !l.gone.has(k[len(prefix):]) || !anyActive(set, now) {
			continue
		}
		watched = append(watched, k)
	}
	if len(watched) == 0 {
		return
	}
	sort.Strings(watched)
	s.hazards = append(s.hazards, CrashHazard{Node: r.name, Dir: dir, Action: l.ev.Action,
		Index: l.ev.index(), Watched: watched})
}

func anyActive(set map[*watcher]struct{}, now time.Time) bool {
	for w := range set {
		if w.active(now) {
			return true
		}
	}
	return false
}

// CrashHazards returns every crash hazard recorded so far, in the order they happened.
// NewCluster fails the test with them at cleanup unless ExpectCrashHazards was called or
// the cluster has WithCrashHazardsAllowed; StartCluster users check them here.
func (c *Cluster) CrashHazards() []CrashHazard {
	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	out := make([]CrashHazard, len(c.store.hazards))
	for i, h := range c.store.hazards {
		h.Watched = append([]string(nil), h.Watched...)
		out[i] = h
	}
	return out
}

// ExpectCrashHazards tells NewCluster that the test provokes crash hazards on purpose, so
// they do not fail it at cleanup. CrashHazards still returns them.
func (c *Cluster) ExpectCrashHazards() { c.hazardsExpected.Store(true) }

// reportHazards fails t with every recorded hazard, unless they are expected.
func (c *Cluster) reportHazards(t testing.TB) {
	t.Helper()
	hs := c.CrashHazards()
	if len(hs) == 0 || c.cfg.hazardsAllowed || c.hazardsExpected.Load() {
		return
	}
	var b strings.Builder
	b.WriteString("deimostest: a real Deimos cluster would have crashed (crash hazards: ")
	b.WriteString(strconv.Itoa(len(hs)))
	b.WriteString("): a node panics when a directory is deleted recursively or expires " +
		"while it has a watch, live or abandoned, on a key strictly inside it (docs/protocol.md " +
		"§12.7; a lagging node counts when it applies the delete, §13.2). Watch the directory " +
		"recursively instead, or call Cluster.ExpectCrashHazards if the test means it.")
	for _, h := range hs {
		b.WriteString("\n\t")
		b.WriteString(h.String())
	}
	t.Errorf("%s", b.String())
}
