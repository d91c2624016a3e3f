package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	formType      = "application/x-www-form-urlencoded"
	jsonType      = "application/json"
	textPlainType = "text/plain; charset=utf-8"
	// trailer is the second line the server appends to every error raised after
	// validation (docs/protocol.md §7.1).
	trailer = "Internal Server Error\n"
	// requestTimeout bounds every non-watch request.
	requestTimeout = 15 * time.Second
)

// call describes one raw HTTP request.
type call struct {
	method      string
	uri         string // raw request-URI, sent byte for byte: path plus optional ?query
	body        string
	contentType string // "" sends no Content-Type header
	endpoint    string // "" picks one round-robin
}

// reply is everything the suite looks at in a response.
type reply struct {
	status        int
	header        http.Header
	body          []byte
	chunked       bool  // Transfer-Encoding: chunked
	contentLength int64 // -1 when unknown
	close         bool  // the server asked to close the connection
}

// buildRequest builds the request without letting net/http rewrite the URI:
// the path goes into URL.Opaque, which is written to the request line unchanged.
func buildRequest(ctx context.Context, c call) (*http.Request, error) {
	ep := c.endpoint
	if ep == "" {
		ep = tgt.endpoint()
	}
	base, err := url.Parse(ep)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, ep, body)
	if err != nil {
		return nil, err
	}
	path, query, _ := strings.Cut(c.uri, "?")
	req.URL = &url.URL{Scheme: base.Scheme, Host: base.Host, Opaque: path, RawQuery: query}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	return req, nil
}

// newRequest is buildRequest that fails the test on error.
func newRequest(ctx context.Context, t testing.TB, c call) *http.Request {
	t.Helper()
	req, err := buildRequest(ctx, c)
	require.NoError(t, err)
	return req
}

// send performs the request and reads the whole response. It is safe to call
// from any goroutine.
func send(c call) (reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := buildRequest(ctx, c)
	if err != nil {
		return reply{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{
		status:        resp.StatusCode,
		header:        resp.Header,
		body:          body,
		chunked:       len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked",
		contentLength: resp.ContentLength,
		close:         resp.Close,
	}, nil
}

// do is send that fails the test on a transport error.
func do(t testing.TB, c call) reply {
	t.Helper()
	r, err := send(c)
	require.NoError(t, err, "%s %s", c.method, c.uri)
	return r
}

// get, put, post and del are the four key-space methods. put and post send
// their form in the body with the form content type; get and del send none.
func get(t testing.TB, uri string) reply { t.Helper(); return do(t, call{method: "GET", uri: uri}) }
func del(t testing.TB, uri string) reply {
	t.Helper()
	return do(t, call{method: "DELETE", uri: uri})
}
func put(t testing.TB, uri, form string) reply {
	t.Helper()
	return do(t, call{method: "PUT", uri: uri, body: form, contentType: formType})
}
func post(t testing.TB, uri, form string) reply {
	t.Helper()
	return do(t, call{method: "POST", uri: uri, body: form, contentType: formType})
}

// keys builds "/keys<key>" plus an optional query.
func keys(key string, query ...string) string {
	u := "/keys" + key
	if q := strings.Join(query, "&"); q != "" {
		u += "?" + q
	}
	return u
}

// form encodes name/value pairs in the given order.
func form(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// node is a node in the canonical shape of docs/protocol.md §5.1: the fields in
// their wire order, with the server's omission rules. Marshalling a node gives
// the exact bytes the server must send.
type node struct {
	Key           string  `json:"key"`
	Value         *string `json:"value,omitempty"`
	Dir           bool    `json:"dir,omitempty"`
	Expiration    *string `json:"expiration,omitempty"`
	TTL           int64   `json:"ttl,omitempty"`
	Nodes         []*node `json:"nodes,omitempty"`
	ModifiedIndex uint64  `json:"modifiedIndex"`
	CreatedIndex  uint64  `json:"createdIndex"`
}

// result is a success body in canonical shape.
type result struct {
	Action   string `json:"action"`
	Node     *node  `json:"node"`
	PrevNode *node  `json:"prevNode,omitempty"`
}

// apiError is an error body in canonical shape (§7.1).
type apiError struct {
	ErrorCode int    `json:"errorCode"`
	Message   string `json:"message"`
	Cause     string `json:"cause,omitempty"`
	Index     uint64 `json:"index"`
}

func str(s string) *string { return &s }

// file and dirNode build expected nodes.
func file(key, value string, modified, created uint64) *node {
	return &node{Key: key, Value: str(value), ModifiedIndex: modified, CreatedIndex: created}
}
func dirNode(key string, modified, created uint64, children ...*node) *node {
	return &node{Key: key, Dir: true, Nodes: children, ModifiedIndex: modified, CreatedIndex: created}
}
func bare(key string, modified, created uint64) *node {
	return &node{Key: key, ModifiedIndex: modified, CreatedIndex: created}
}

// line marshals v the way the server does: Go's encoder plus one newline.
func line(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b) + "\n"
}

// canonical decodes exactly one JSON value followed by exactly one newline
// into v, refusing unknown fields, and checks that re-encoding v gives the
// same bytes: this pins field order, omission rules ("value":"" kept, "dir"
// only when true, "ttl" not when 0, no empty "nodes") and the HTML escaping.
func canonical(t testing.TB, body []byte, v any) {
	t.Helper()
	require.True(t, bytes.HasSuffix(body, []byte("}\n")), "body must be one JSON object and a single newline: %q", body)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), "body %q", body)
	require.Equal(t, string(body), line(t, v), "field order or omission differs from the canonical form")
}

// ok asserts a successful key-space response with the given status and returns it decoded.
func (r reply) ok(t testing.TB, status int) result {
	t.Helper()
	require.Equal(t, status, r.status, "body %q", r.body)
	require.Equal(t, jsonType, r.header.Get("Content-Type"))
	var res result
	canonical(t, r.body, &res)
	require.NotNil(t, res.Node, "body %q", r.body)
	return res
}

// index parses X-Deimos-Index and fails if it is missing.
func (r reply) index(t testing.TB) uint64 {
	t.Helper()
	vs := r.header.Values("X-Deimos-Index")
	require.Len(t, vs, 1, "X-Deimos-Index in %v", r.header)
	i, err := strconv.ParseUint(vs[0], 10, 64)
	require.NoError(t, err)
	return i
}

// hasHeader reports whether the response carries the header at all.
func (r reply) hasHeader(name string) bool {
	_, ok := r.header[http.CanonicalHeaderKey(name)]
	return ok
}

// storeError asserts an error raised after validation (§7.1): the status of
// its code, text/plain, the JSON line with index = X-Deimos-Index, and the
// trailing "Internal Server Error" line. It returns the index.
func (r reply) storeError(t testing.TB, status, code int, message, cause string) uint64 {
	t.Helper()
	require.Equal(t, status, r.status, "body %q", r.body)
	require.Equal(t, textPlainType, r.header.Get("Content-Type"))
	idx := r.index(t)
	want := line(t, apiError{ErrorCode: code, Message: message, Cause: cause, Index: idx}) + trailer
	require.Equal(t, want, string(r.body))
	require.False(t, r.hasHeader("X-Raft-Index"), "no X-Raft-Index on errors")
	require.False(t, r.hasHeader("X-Raft-Term"), "no X-Raft-Term on errors")
	return idx
}

// validationError asserts a request validation error (§3, §7.2): HTTP 400,
// index 0 in the body and in X-Deimos-Index, and no trailing line.
func (r reply) validationError(t testing.TB, code int, message, cause string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, r.status, "body %q", r.body)
	require.Equal(t, textPlainType, r.header.Get("Content-Type"))
	require.Equal(t, line(t, apiError{ErrorCode: code, Message: message, Cause: cause}), string(r.body))
	require.Equal(t, "0", r.header.Get("X-Deimos-Index"))
	require.False(t, r.hasHeader("X-Raft-Index"), "no X-Raft-Index on errors")
}

// firstError decodes the first JSON value of an error body, ignoring what follows.
func (r reply) firstError(t testing.TB) apiError {
	t.Helper()
	var e apiError
	require.NoError(t, json.NewDecoder(bytes.NewReader(r.body)).Decode(&e), "body %q", r.body)
	return e
}

// written returns the index of a successful write: its node.modifiedIndex.
// X-Deimos-Index can name a later write (docs/protocol.md §6.2, §6.4), so it
// is only checked not to be earlier.
func (r reply) written(t testing.TB) uint64 {
	t.Helper()
	var res result
	require.NoError(t, json.Unmarshal(r.body, &res), "write response %q", r.body)
	require.NotNil(t, res.Node, "write response %q", r.body)
	i := res.Node.ModifiedIndex
	require.GreaterOrEqual(t, r.index(t), i, "X-Deimos-Index of a write names this write or a later one")
	return i
}

// mustSet writes key=value and returns the index of the write.
func mustSet(t testing.TB, key, value string, query ...string) uint64 {
	t.Helper()
	r := put(t, keys(key, query...), form("value", value))
	require.Contains(t, []int{200, 201}, r.status, "PUT %s: %q", key, r.body)
	return r.written(t)
}

// mustMkdir creates a directory and returns the index of the write.
func mustMkdir(t testing.TB, key string, query ...string) uint64 {
	t.Helper()
	r := put(t, keys(key, append([]string{"dir=true"}, query...)...), "")
	require.Equal(t, http.StatusCreated, r.status, "PUT %s?dir=true: %q", key, r.body)
	return r.written(t)
}

// mustGet reads a key and returns the decoded result.
func mustGet(t testing.TB, key string, query ...string) result {
	t.Helper()
	return get(t, keys(key, query...)).ok(t, http.StatusOK)
}

// absent asserts that GET key answers errorCode 100.
func absent(t testing.TB, key string) {
	t.Helper()
	r := get(t, keys(key))
	require.Equal(t, http.StatusNotFound, r.status, "GET %s: %q", key, r.body)
	require.Equal(t, 100, r.firstError(t).ErrorCode)
}

// exactly asserts the status and that the body is byte for byte the canonical
// encoding of want.
func (r reply) exactly(t testing.TB, status int, want result) {
	t.Helper()
	r.ok(t, status)
	require.Equal(t, line(t, want), string(r.body))
}

func itoa(i uint64) string { return strconv.FormatUint(i, 10) }
