package deimostest

import (
	"context"
	"sync/atomic"
	"time"
)

// raceCell reproduces the shared event index of the server's write-index race
// (docs/protocol.md §6.2): a watch answered from history on the node that answered the
// write overwrites it with that node's current store index, and the write's
// X-Deimos-Index is read from it when the answer's headers are written.
type raceCell struct {
	origin  *replica // the node whose client write made the event
	touched atomic.Uint64
}

// touch records a history answer on node r. The caller holds store.mu (r.applied).
func (rc *raceCell) touch(r *replica) {
	if rc != nil && rc.origin == r {
		rc.touched.Store(r.applied)
	}
}

// header returns the X-Deimos-Index of a successful answer, and whether the race made it
// later than the write's own index.
func (r *reply) header() (uint64, bool) {
	if r.race != nil {
		if v := r.race.touched.Load(); v > r.index {
			return v, true
		}
	}
	return r.index, false
}

// raceWindow holds a successful write between its apply and its headers for the
// configured window, so that history-answered watches can touch its event (the race
// exists on the real server, in a window too narrow to hit in tests). It returns early if
// the client leaves or the node stops.
func (h *nodeHandler) raceWindow(ctx context.Context) {
	d := h.n.c.cfg.raceWindow
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-h.g.stop:
	}
}

// WriteIndexRaces returns how many write answers carried an X-Deimos-Index later than
// their own index because of WithWriteIndexRace.
func (c *Cluster) WriteIndexRaces() int64 { return c.writeRaces.Load() }
