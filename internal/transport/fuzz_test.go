package transport

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fuzzStatuses are the statuses a fuzzed answer may carry.
var fuzzStatuses = []int{200, 201, 204, 307, 400, 401, 403, 404, 405, 412, 431, 500, 502, 503}

// FuzzDecodeResponse: random bytes as the answer of a server, with a status from the
// protocol's range, through the whole request path. The result is a success or one of
// the transport's typed errors, never a panic, with a bounded message; the decoded
// body never exceeds MaxResponseBytes.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []struct {
		status uint8
		body   string
	}{
		{0, `{"action":"get","node":{"key":"/a","value":"v","modifiedIndex":3}}` + "\n"},
		{0, `{"action":"get"}` + "\nInternal Server Error\n"},
		{0, ""},
		{0, "<html>502</html>"},
		{0, `{"action":"get","node":{"key":"/a","value":"` + "\xff\xfe"},
		{0, `{"action":`},
		{0, `[1,2,3]`},
		{0, `"a string"`},
		{0, `{"node":{"nodes":[{"nodes":[{"nodes":[]}]}]}}`},
		{6, `{"errorCode":100,"message":"Key not found","cause":"/a","index":9}` + "\nInternal Server Error\n"},
		{9, `{"errorCode":101,"message":"Compare failed","cause":"[a != b]","index":9}`},
		{11, "Internal Server Error\nInternal Server Error\n"},
		{6, "404 page not found\n"},
		{4, `{"errorCode":"x"}`},
		{4, `{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [3/2]","index":1002}`},
	} {
		f.Add(s.status, []byte(s.body), uint8(0))
		f.Add(s.status, []byte(s.body), uint8(1))
		f.Add(s.status, []byte(s.body), uint8(2))
	}

	var mu sync.Mutex
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		st, b := status, body
		mu.Unlock()
		w.Header().Set("X-Deimos-Index", "9")
		w.WriteHeader(st)
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	const maxBody = 4 << 10
	tr, err := New(Config{
		Endpoints:        []string{srv.URL},
		RequestTimeout:   time.Second,
		MaxResponseBytes: maxBody,
		RetryBackoff:     func(int) time.Duration { return 5 * time.Millisecond },
		DisableHedging:   true,
	})
	if err != nil {
		f.Fatal(err)
	}
	defer tr.Close()

	f.Fuzz(func(t *testing.T, st uint8, b []byte, class uint8) {
		mu.Lock()
		status, body = fuzzStatuses[int(st)%len(fuzzStatuses)], b
		mu.Unlock()
		req := &Request{Op: "get", Method: http.MethodGet, Key: "/a", Path: "/keys/a", Class: Safe}
		switch class % 3 {
		case 1:
			req = &Request{Op: "set", Method: http.MethodPut, Key: "/a", Path: "/keys/a", Class: Unsafe}
		case 2:
			req = &Request{Op: "watch", Method: http.MethodGet, Key: "/a", Path: "/keys/a", Class: LongPoll}
		}
		var out struct {
			Action string `json:"action"`
			Node   *struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"node"`
		}
		// Safe requests are retried on a plain 5xx until the context ends.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		resp, err := tr.Do(ctx, req, &out)
		if err == nil {
			if resp == nil {
				t.Fatal("nil response without error")
			}
			if out.Node != nil && len(out.Node.Value) > maxBody {
				t.Fatalf("decoded %d bytes from a body capped at %d", len(out.Node.Value), maxBody)
			}
			return
		}
		var (
			se *Error
			re *ResponseError
			ce *ClusterError
			ue *UnknownOutcomeError
			qe *RequestError
		)
		if !errors.As(err, &se) && !errors.As(err, &re) && !errors.As(err, &ce) && !errors.As(err, &ue) && !errors.As(err, &qe) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if n := len(err.Error()); n > 2048 {
			t.Fatalf("error message of %d bytes for a %d-byte body", n, len(b))
		}
	})
}
