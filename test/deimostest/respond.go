package deimostest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

const (
	contentJSON = "application/json"
	contentText = "text/plain; charset=utf-8"
)

// flush sends what was written so far, so the response goes out chunked like the real
// server's instead of with a Content-Length.
func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// writeJSON writes v as one JSON line (HTML characters escaped, as encoding/json does).
func writeJSON(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}

// setRaftHeaders adds the fake X-Raft-Index and X-Raft-Term headers.
func (c *Cluster) setRaftHeaders(h http.Header) {
	idx, term := c.raft.read()
	h.Set("X-Raft-Index", strconv.FormatUint(idx, 10))
	h.Set("X-Raft-Term", strconv.FormatUint(term, 10))
}

// writeReply answers a successful get or write (docs/protocol.md §5). X-Deimos-Index is
// read now, so the write-index race can have raised it (§6.2).
func (c *Cluster) writeReply(w http.ResponseWriter, r *reply) {
	idx, raced := r.header()
	if raced {
		c.writeRaces.Add(1)
	}
	h := w.Header()
	h.Set("Content-Type", contentJSON)
	h.Set("X-Deimos-Index", strconv.FormatUint(idx, 10))
	c.setRaftHeaders(h)
	w.WriteHeader(r.status)
	writeJSON(w, r.ev)
	flush(w)
}

// writeError answers a JSON error. Store and watch errors get the trailing
// "Internal Server Error" line (docs/protocol.md §7.1).
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", contentText)
	h.Set("X-Deimos-Index", strconv.FormatUint(e.Index, 10))
	w.WriteHeader(e.httpStatus())
	writeJSON(w, e)
	if e.stored {
		_, _ = w.Write([]byte("Internal Server Error\n"))
	}
	flush(w)
}

// writeTimeout answers the plain 500 of a request that timed out without quorum.
func writeTimeout(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", contentText)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte("Internal Server Error\nInternal Server Error\n"))
	flush(w)
}

// writeText answers a plain-text page (404, 405) like http.Error, chunked.
func writeText(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", contentText)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
	flush(w)
}
