package deimostest

import (
	"bytes"
	"io"
	"net/http"
	"path"
	"strings"
)

// nodeHandler serves one generation of a node.
type nodeHandler struct {
	n *Node
	g *generation
}

// ServeHTTP counts the request, then applies pause, capacity, latency and the hook's
// fault before routing it like the real server.
func (h *nodeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seq, hook := h.n.count(r.Method)
	if !h.g.enter() {
		return
	}
	defer h.g.active.Done()
	preread(r)
	if !h.n.waitResumed(r.Context(), h.g.stop) {
		return
	}
	release, ok := h.n.take(r, h.g.stop)
	if !ok {
		return
	}
	defer release()
	if !h.n.delay(h.g.stop) {
		return
	}
	fault := FaultNone
	if hook != nil {
		fault = hook(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Seq: seq})
	}
	serveFault(w, r, fault, func(w http.ResponseWriter, r *http.Request) { h.route(w, r) })
}

// preread buffers the request body (up to the form limit) before any fault or pause, so
// that net/http watches the connection and cancels the request context when the client
// goes away while the request is held.
func preread(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	buf, _ := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(buf), r.Body))
}

// route dispatches like the server's router (docs/protocol.md §2).
func (h *nodeHandler) route(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusOK)
		return
	}
	if loc, ok := redirectTarget(r); ok {
		http.Redirect(w, r, loc, http.StatusTemporaryRedirect)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/machines":
		h.n.c.serveMachines(w, r)
	case p == "/keys" || strings.HasPrefix(p, "/keys/"):
		h.serveKeys(w, r)
	default:
		writeText(w, http.StatusNotFound, "404 page not found\n")
	}
}

// redirectTarget returns the cleaned location of a raw path containing //, /./, /../ or
// a trailing /. (a trailing slash is kept).
func redirectTarget(r *http.Request) (string, bool) {
	raw := r.URL.EscapedPath()
	if raw == "" {
		return "", false
	}
	clean := path.Clean(raw)
	if strings.HasSuffix(raw, "/") && clean != "/" {
		clean += "/"
	}
	if clean == raw {
		return "", false
	}
	if r.URL.RawQuery != "" {
		clean += "?" + r.URL.RawQuery
	}
	return clean, true
}

// serveMachines answers /machines from local state (no quorum needed).
func (c *Cluster) serveMachines(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET,HEAD")
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed\n")
		return
	}
	w.Header().Set("Content-Type", contentText)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(strings.Join(c.machines(), ", ")))
	}
	flush(w)
}
