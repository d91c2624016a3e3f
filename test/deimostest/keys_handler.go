package deimostest

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// serveKeys handles /keys and /keys/<key>: validation, dispatch (docs/protocol.md §4) and
// the answer.
func (h *nodeHandler) serveKeys(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete:
	default:
		w.Header().Set("Allow", "GET,PUT,POST,DELETE")
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed\n")
		return
	}
	form, err := readForm(r)
	if err != nil {
		if errors.Is(err, errFormTooLarge) {
			w.Header().Set("Connection", "close")
		}
		writeError(w, newValidationError(codeInvalidForm, err.Error()))
		return
	}
	p, aerr := parseParams(r.Method, form)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	key := cleanKey(strings.TrimPrefix(r.URL.Path, "/keys"))
	if r.Method == http.MethodGet && p.wait {
		h.serveWatch(w, r, key, p)
		return
	}
	c := h.n.c
	o, write := c.operation(r.Method, key, p, h.n.rep)
	res, status := c.commit(r.Context(), h.g.stop, o, write)
	if status == committed && res.rep != nil && res.rep.race != nil {
		h.raceWindow(r.Context())
	}
	if status != abandoned && !h.n.waitResumed(r.Context(), h.g.stop) {
		// Paused meanwhile and the client left: like a stopped process, say nothing.
		status = abandoned
	}
	switch {
	case status == timedOut:
		writeTimeout(w)
	case status == abandoned:
	case res.err != nil:
		writeError(w, res.err)
	default:
		c.writeReply(w, res.rep)
	}
}

// operation maps a validated request answered by node rep to a store operation; write
// reports whether it mutates. Like a raft member, the node applies everything committed
// (the operation included) before it answers. The TTL's absolute expiration is taken now,
// at request time.
func (c *Cluster) operation(method, key string, p *params, rep *replica) (o op, write bool) {
	run, write := c.storeOp(method, key, p, rep)
	return func() (*reply, *apiError) {
		res, err := run()
		c.store.caughtUp(rep)
		return res, err
	}, write
}

// storeOp maps a validated request to the store operation itself.
func (c *Cluster) storeOp(method, key string, p *params, rep *replica) (o op, write bool) {
	st := c.store
	if method == http.MethodGet {
		return func() (*reply, *apiError) { return st.get(key, p.recursive, p.sorted) }, false
	}
	r := &writeReq{key: key, value: p.value, dir: p.dir, recursive: p.recursive,
		prevValue: p.prevValue, hasPrevValue: p.hasPrevValue, prevIndex: p.prevIndex, origin: rep}
	if p.hasTTL {
		r.exp = expirationFor(time.Now(), p.ttl)
	}
	conditional := p.prevIndex > 0 || p.hasPrevValue
	switch {
	case method == http.MethodPost:
		return func() (*reply, *apiError) { return st.post(r) }, true
	case method == http.MethodDelete && conditional:
		return func() (*reply, *apiError) { return st.cad(r) }, true
	case method == http.MethodDelete:
		return func() (*reply, *apiError) { return st.remove(r) }, true
	case p.hasPrevExist && p.prevExists:
		return func() (*reply, *apiError) { return st.update(r) }, true
	case p.hasPrevExist:
		return func() (*reply, *apiError) { return st.set(r, true) }, true
	case conditional:
		return func() (*reply, *apiError) { return st.cas(r) }, true
	default:
		return func() (*reply, *apiError) { return st.set(r, false) }, true
	}
}
