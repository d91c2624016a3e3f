package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type wireNode struct {
	Key           string `json:"key"`
	Value         string `json:"value"`
	ModifiedIndex uint64 `json:"modifiedIndex"`
}

type wireResp struct {
	Action string    `json:"action"`
	Node   *wireNode `json:"node"`
}

// serve starts an httptest server answering every request with h and a
// transport aimed at it.
func serve(t *testing.T, h http.HandlerFunc, mod ...func(*Config)) (*Transport, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := Config{Endpoints: []string{srv.URL}, RequestTimeout: time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	tr, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr, srv
}

func getReq(key string) *Request {
	return &Request{Op: "get", Method: http.MethodGet, Key: key, Path: "/keys" + key, Class: Safe}
}

func TestDo_DecodesFirstJSONValueAndHeaders(t *testing.T) {
	tr, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Deimos-Index", "42")
		w.Header().Set("X-Raft-Index", "100")
		w.Header().Set("X-Raft-Term", "3")
		io.WriteString(w, `{"action":"get","node":{"key":"/a","value":"v","modifiedIndex":7}}`+"\nInternal Server Error\n")
	})
	var out wireResp
	resp, err := tr.Do(context.Background(), getReq("/a"), &out)
	require.NoError(t, err)
	assert.Equal(t, uint64(42), resp.Index)
	assert.Equal(t, uint64(100), resp.RaftIndex)
	assert.Equal(t, uint64(3), resp.RaftTerm)
	assert.Equal(t, srv.URL, resp.Endpoint)
	assert.Equal(t, "v", out.Node.Value)
}

func TestDo_ServerErrorWithTrailingLine(t *testing.T) {
	tr, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errorCode":100,"message":"Key not found","cause":"/a","index":9}`+"\nInternal Server Error\n")
	})
	_, err := tr.Do(context.Background(), getReq("/a"), nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrKeyNotFound))
	assert.False(t, errors.Is(err, ErrTestFailed))
	var se *Error
	require.True(t, errors.As(err, &se))
	assert.Equal(t, uint64(9), se.Index)
	assert.Equal(t, "deimos: get /a on "+srv.URL+": Key not found (/a) [100]", err.Error())
}

func TestDo_PlainTextStatuses(t *testing.T) {
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("x", 5000), http.StatusMethodNotAllowed)
	})
	_, err := tr.Do(context.Background(), getReq("/a"), nil)
	require.ErrorIs(t, err, ErrMalformedResponse)
	assert.Contains(t, err.Error(), "405")
	assert.Less(t, len(err.Error()), 600)
}

func putReq(key string, params map[string]string) *Request {
	v := make(map[string][]string)
	for k, x := range params {
		v[k] = []string{x}
	}
	return &Request{Op: "set", Method: http.MethodPut, Key: key, Path: "/keys" + key, Params: v, Class: Unsafe}
}

func TestDo_BuildsQueryAndFormRequests(t *testing.T) {
	type seen struct{ method, query, ctype, body, ua string }
	got := make(chan seen, 4)
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RawQuery, r.Header.Get("Content-Type"), string(b), r.UserAgent()}
		io.WriteString(w, `{"action":"x"}`)
	}, func(c *Config) { c.UserAgent = "test-agent/1" })
	ctx := context.Background()

	_, err := tr.Do(ctx, putReq("/a", map[string]string{"value": "x;y&z", "prevExists": "false"}), nil)
	require.NoError(t, err)
	s := <-got
	assert.Equal(t, seen{"PUT", "", "application/x-www-form-urlencoded", "prevExists=false&value=x%3By%26z", "test-agent/1"}, s)

	del := &Request{Op: "delete", Method: http.MethodDelete, Key: "/a", Path: "/keys/a",
		Params: map[string][]string{"prevValue": {"v"}}, Class: Unsafe}
	_, err = tr.Do(ctx, del, nil)
	require.NoError(t, err)
	s = <-got
	assert.Equal(t, "DELETE", s.method)
	assert.Equal(t, "prevValue=v", s.query)
	assert.Empty(t, s.body)

	get := getReq("/a")
	get.Params = map[string][]string{"recursive": {"true"}, "sorted": {"true"}}
	_, err = tr.Do(ctx, get, nil)
	require.NoError(t, err)
	s = <-got
	assert.Equal(t, "recursive=true&sorted=true", s.query)
}

func TestDo_GarbageBody(t *testing.T) {
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "this is not json <html>")
	})
	t.Run("write is unknown outcome", func(t *testing.T) {
		_, err := tr.Do(context.Background(), putReq("/a", map[string]string{"value": "v"}), &wireResp{})
		require.ErrorIs(t, err, ErrUnknownOutcome)
		require.ErrorIs(t, err, ErrMalformedResponse)
	})
	t.Run("read retries until the context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := tr.Do(ctx, getReq("/a"), &wireResp{})
		require.ErrorIs(t, err, ErrClusterUnavailable)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "malformed")
	})
}

func TestDo_EmptyBodyIsMalformedExceptForWatches(t *testing.T) {
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	_, err := tr.Do(context.Background(), putReq("/a", nil), &wireResp{})
	require.ErrorIs(t, err, ErrMalformedResponse)

	watch := getReq("/a")
	watch.Class = LongPoll
	resp, err := tr.Do(context.Background(), watch, &wireResp{})
	require.NoError(t, err)
	assert.True(t, resp.Empty)
}

const okBody = `{"action":"set","node":{"key":"/a","value":"v","modifiedIndex":7}}` + "\n"

// truncating answers 200 with half of okBody and cuts the connection.
func truncating(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, okBody[:len(okBody)/2])
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

func TestDo_TruncatedBody(t *testing.T) {
	var n atomic.Int64
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			truncating(w, r)
		}
		io.WriteString(w, okBody)
	})
	t.Run("read is retried", func(t *testing.T) {
		var out wireResp
		_, err := tr.Do(context.Background(), getReq("/a"), &out)
		require.NoError(t, err)
		assert.Equal(t, "v", out.Node.Value)
		assert.Equal(t, int64(2), n.Load())
	})
	t.Run("write is unknown outcome and sent once", func(t *testing.T) {
		n.Store(0)
		_, err := tr.Do(context.Background(), putReq("/a", map[string]string{"value": "v"}), &wireResp{})
		require.ErrorIs(t, err, ErrUnknownOutcome)
		require.ErrorIs(t, err, ErrMalformedResponse)
		assert.Equal(t, int64(1), n.Load())
	})
}

func TestDo_OversizeBodyIsBounded(t *testing.T) {
	const limit = 64 << 10
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"action":"get","node":{"key":"/a","value":"`)
		chunk := strings.Repeat("x", 32<<10)
		for i := 0; i < 256; i++ { // 8 MiB
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		io.WriteString(w, `"}}`)
	}, func(c *Config) { c.MaxResponseBytes = limit })

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := tr.Do(context.Background(), getReq("/a"), &wireResp{})
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, ErrResponseTooLarge)
	assert.Contains(t, err.Error(), "get /a on")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(2<<20), "memory must stay bounded by the limit, not the body")
}

func TestDo_Plain500(t *testing.T) {
	var n atomic.Int64
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "Internal Server Error\nInternal Server Error\n")
	})
	t.Run("write is unknown outcome, sent once", func(t *testing.T) {
		_, err := tr.Do(context.Background(), putReq("/a", map[string]string{"value": "v"}), nil)
		require.ErrorIs(t, err, ErrUnknownOutcome)
		require.ErrorIs(t, err, ErrServerUnavailable)
		assert.Contains(t, err.Error(), "500")
		assert.Equal(t, int64(1), n.Load())
	})
	t.Run("read retries until the context ends", func(t *testing.T) {
		n.Store(0)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := tr.Do(ctx, getReq("/a"), nil)
		require.ErrorIs(t, err, ErrClusterUnavailable)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var ce *ClusterError
		require.ErrorAs(t, err, &ce)
		require.Len(t, ce.Endpoints, 1)
		assert.ErrorIs(t, ce.Endpoints[0].Err, ErrServerUnavailable)
		assert.Greater(t, n.Load(), int64(1))
	})
}

func TestDo_404PageIsNotRetried(t *testing.T) {
	var n atomic.Int64
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.NotFound(w, r)
	})
	_, err := tr.Do(context.Background(), getReq("/a"), nil)
	require.ErrorIs(t, err, ErrMalformedResponse)
	require.NotErrorIs(t, err, ErrKeyNotFound)
	assert.Contains(t, err.Error(), "404")
	assert.Contains(t, err.Error(), "404 page not found")
	assert.Equal(t, int64(1), n.Load())
}

func TestDo_AfterClose(t *testing.T) {
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) })
	require.NoError(t, tr.Close())
	_, err := tr.Do(context.Background(), getReq("/a"), nil)
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, tr.Close())
}

func TestDo_LogsThroughSlogOnly(t *testing.T) {
	var buf deimostest.LogBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) },
		func(c *Config) { c.Logger = logger })
	_, err := tr.Do(context.Background(), getReq("/a"), nil)
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "deimos request")
	assert.Contains(t, buf.String(), "status=200")
}

func TestErrors_MessagesNameTheRequest(t *testing.T) {
	ce := &ClusterError{Op: "get", Key: "/a", Cause: context.DeadlineExceeded, Endpoints: []EndpointError{
		{Endpoint: "http://n1:4001", Err: &RequestError{Op: "get", Key: "/a", Endpoint: "http://n1:4001", Err: errors.New("connection refused")}},
		{Endpoint: "http://n2:4002", Err: &ResponseError{Op: "get", Key: "/a", Endpoint: "http://n2:4002", StatusCode: 500, Kind: ErrServerUnavailable, Snippet: "Internal Server Error"}},
	}}
	assert.Equal(t, `deimos: get /a: no endpoint could serve the request: context deadline exceeded; last errors: `+
		`http://n1:4001: connection refused; http://n2:4002: server could not complete the request: status 500 Internal Server Error: body "Internal Server Error"`,
		ce.Error())

	uo := &UnknownOutcomeError{Op: "set", Key: "/a", Endpoint: "http://n1:4001", Err: ErrAttemptTimeout}
	assert.Equal(t, "deimos: set /a on http://n1:4001: outcome unknown, the write may have been applied: deimos: no answer within the attempt timeout", uo.Error())
	assert.ErrorIs(t, uo, ErrAttemptTimeout)

	long := &Error{Code: 100, Message: "Key not found", Cause: strings.Repeat("k", 10000), Op: "get", Key: strings.Repeat("k", 10000)}
	assert.Less(t, len(long.Error()), 600, "server and user text is clipped")
}

func TestDo_WriteRetriedOnlyWhenNeverSent(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connection refused from now on
	var n atomic.Int64
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, okBody)
	}))
	defer live.Close()
	tr, err := New(Config{Endpoints: []string{deadURL, live.URL}})
	require.NoError(t, err)
	defer tr.Close()
	for i := 0; i < 20; i++ {
		resp, err := tr.Do(context.Background(), putReq("/a", map[string]string{"value": "v"}), nil)
		require.NoError(t, err)
		assert.Equal(t, live.URL, resp.Endpoint)
	}
	assert.Equal(t, int64(20), n.Load(), "each write reached the server exactly once")

	// With every endpoint refusing, the write is known not to be applied.
	tr2, err := New(Config{Endpoints: []string{deadURL}})
	require.NoError(t, err)
	defer tr2.Close()
	_, err = tr2.Do(context.Background(), putReq("/a", map[string]string{"value": "v"}), nil)
	require.ErrorIs(t, err, ErrClusterUnavailable)
	require.NotErrorIs(t, err, ErrUnknownOutcome)
	assert.Contains(t, err.Error(), "refused")
}

func TestNew_ValidatesEndpoints(t *testing.T) {
	_, err := New(Config{Endpoints: []string{"localhost:4001"}})
	require.Error(t, err)
	_, err = New(Config{})
	require.Error(t, err)
	_, err = New(Config{Endpoints: []string{"http://a:1"}, RequestTimeout: -1})
	require.Error(t, err)
}

func TestDo_RejectsBadRequests(t *testing.T) {
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no request may be sent") })
	for _, req := range []*Request{
		{Op: "get", Method: "PATCH", Path: "/keys/a"},
		{Op: "get", Method: "GET", Path: "/keys//a"},
		{Op: "get", Method: "GET", Path: "/keys/../a"},
		{Op: "get", Method: "GET", Path: "keys/a"},
		{Op: "get", Method: "GET", Path: "/keys/a?x=1"},
	} {
		_, err := tr.Do(context.Background(), req, nil)
		assert.Error(t, err, "%+v", req)
	}
}

func TestDo_TLS(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, okBody)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	tr, err := New(Config{Endpoints: []string{srv.URL}, TLSConfig: &tls.Config{RootCAs: pool}})
	require.NoError(t, err)
	defer tr.Close()
	_, err = tr.Do(context.Background(), putReq("/a", map[string]string{"value": "v"}), nil)
	require.NoError(t, err)

	// An untrusted certificate fails the handshake: the write provably never
	// reached the server, so it is not an unknown outcome.
	untrusted, err := New(Config{Endpoints: []string{srv.URL}, TLSConfig: &tls.Config{}})
	require.NoError(t, err)
	defer untrusted.Close()
	_, err = untrusted.Do(context.Background(), putReq("/a", map[string]string{"value": "v"}), nil)
	require.ErrorIs(t, err, ErrClusterUnavailable)
	require.NotErrorIs(t, err, ErrUnknownOutcome)
	assert.Equal(t, int64(1), n.Load())
}
