package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
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
