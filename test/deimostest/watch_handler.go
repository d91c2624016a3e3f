package deimostest

import (
	"net/http"
	"time"
)

// serveWatch answers a long-poll watch (PROTOCOL.md §12): 200 and headers at once (no
// X-Deimos-Index), then one event, or nothing when the watch timeout passes. With
// stream=true the response stays open and idle after the event until the timeout. A paused
// node holds the event and the end of the response until it resumes.
func (h *nodeHandler) serveWatch(w http.ResponseWriter, r *http.Request, key string, p *params) {
	c := h.n.c
	ev, wt, err := c.store.watch(key, p.recursive, p.waitIndex)
	if err != nil {
		writeError(w, err)
		return
	}
	if wt != nil {
		defer c.store.unwatch(wt)
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
