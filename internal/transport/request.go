package transport

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
)

// Class says how a request may be retried.
type Class uint8

const (
	// Safe requests (GET without wait) are retried on other endpoints until the
	// context ends, and may be hedged.
	Safe Class = iota
	// Unsafe requests (every write) are re-sent only when they provably never
	// reached a server; otherwise the error matches ErrUnknownOutcome.
	Unsafe
	// LongPoll requests (watches) have no per-attempt timeout once the 200
	// header arrived, are never hedged, and are attempted once: the watch loop
	// owns retrying.
	LongPoll
)

// String returns "safe", "unsafe" or "longpoll".
func (c Class) String() string {
	switch c {
	case Safe:
		return "safe"
	case Unsafe:
		return "unsafe"
	case LongPoll:
		return "longpoll"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Request describes one logical operation; the transport turns it into HTTP attempts.
type Request struct {
	Op     string     // operation name for errors and logs, e.g. "set", "compareAndSwap"
	Method string     // GET, PUT, POST or DELETE
	Key    string     // normalised key, e.g. "/a/b", for messages only
	Path   string     // escaped URL path, e.g. "/keys/a/b" or "/machines"
	Params url.Values // GET and DELETE: query string; PUT and POST: form body
	// Query, when Params is empty, is the query string already encoded (a
	// GET or DELETE): hot paths such as watches build it in one allocation.
	Query string
	// Endpoint, when set, is where the first attempt goes if the endpoint is
	// in the set and healthy; otherwise, and for every retry, the endpoint
	// is picked as usual. A watch uses it to stay on the node that delivers
	// its events first.
	Endpoint string
	Class    Class
	// Check, when set, is asked whether a decoded 2xx answer (out, as
	// given to Do) serves the operation. An error makes the call fail with
	// a *ResponseError matching ErrMalformedResponse that wraps it; for a
	// write it is an unknown outcome, since a 2xx means it was applied.
	// Empty long-poll answers are not checked.
	Check func(out any) error
}

// Response is the protocol metadata of a successful answer.
type Response struct {
	StatusCode int
	Index      uint64 // X-Deimos-Index; 0 when absent (watch responses have none)
	RaftIndex  uint64
	RaftTerm   uint64
	Endpoint   string // the endpoint that answered
	Empty      bool   // a 200 with an empty body (a watch the server ended without event)
}

const formContentType = "application/x-www-form-urlencoded"

// hasBody reports whether the method carries its parameters in a form body;
// the server ignores bodies on GET and DELETE.
func hasBody(method string) bool {
	return method == http.MethodPut || method == http.MethodPost
}

// newHTTPRequest builds the request of an attempt to ep, carrying ctx.
func (c *call) newHTTPRequest(ctx context.Context, ep *endpoints.Endpoint) (*http.Request, error) {
	r := c.req
	var target string
	var body io.Reader
	switch {
	case hasBody(r.Method):
		target = ep.URL() + r.Path
		if c.form != "" {
			body = strings.NewReader(c.form)
		}
	case c.query != "":
		target = ep.URL() + r.Path + "?" + c.query
	default:
		target = ep.URL() + r.Path
	}
	hreq, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return nil, err
	}
	if c.t.userAgent != nil {
		hreq.Header["User-Agent"] = c.t.userAgent
	}
	if hasBody(r.Method) {
		hreq.Header["Content-Type"] = formContentTypeHeader
	}
	return hreq, nil
}

// logRequest logs, at debug level, that attempt number of the call goes out.
func (c *call) logRequest(hreq *http.Request, number int) {
	if l := c.t.cfg.Logger; l != nil {
		l.Debug("deimos request", "method", hreq.Method, "url", logURL(hreq.URL), "attempt", number)
	}
}

var formContentTypeHeader = []string{formContentType}

// validMethod reports whether the server's key API knows the method.
func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead:
		return true
	}
	return false
}

// validPath refuses paths that would make the server redirect (§2) or address
// something outside the API.
func validPath(p string) bool {
	if p == "" || p[0] != '/' || strings.Contains(p, "//") || strings.ContainsAny(p, "?#") {
		return false
	}
	rest := p
	for rest != "" {
		rest = rest[1:] // drop the leading '/'
		seg := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			seg, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
