package deimostest

import (
	"net/http"
	"time"
)

// serveWatch answers a long-poll watch (docs/protocol.md §12) from this node's view of
// the store: 200 and headers at once (no X-Deimos-Index), then one event, or nothing when
// the watch timeout passes. With stream=true the response stays open and idle after the
// event until the timeout. A paused node holds the event and the end of the response until
// it resumes. A watcher whose client leaves stays registered (abandoned) until an event or
// its timeout, as on the real server; one cut by Stop goes with the node.
func (h *nodeHandler) serveWatch(w http.ResponseWriter, r *http.Request, key string, p *params) {
	c, rep := h.n.c, h.n.rep
	ev, wt, err := c.store.watch(rep, key, p.recursive, p.waitIndex)
	if err != nil {
		writeError(w, err)
		return
	}
	deadline := time.Now().Add(c.cfg.watchTimeout)
	left := false // the client left: keep the watcher, abandoned
	if wt != nil {
		defer func() {
			if left {
				c.store.abandon(rep, wt, deadline)
			} else {
				c.store.unwatch(rep, wt) // a no-op once delivered
			}
		}()
	}
	w.Header().Set("Content-Type", contentJSON)
	c.setRaftHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	flush(w)
	timer := time.NewTimer(c.cfg.watchTimeout)
	defer timer.Stop()
	ctx, stop := r.Context(), h.g.stop
	if ev == nil {
		select {
		case ev = <-wt.ch:
		case <-timer.C:
			// A paused node ends nothing, not even an idle watch, until it resumes.
			h.n.waitResumed(ctx, stop)
			return
		case <-ctx.Done():
			left = !h.g.dying.Load()
			return
		case <-stop:
			return
		}
	}
	if !h.n.waitResumed(ctx, stop) {
		return
	}
	writeJSON(w, ev)
	flush(w)
	if p.stream {
		select {
		case <-timer.C:
			h.n.waitResumed(ctx, stop)
		case <-ctx.Done():
		case <-stop:
		}
	}
}
