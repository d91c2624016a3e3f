package deimostest

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Fault is what a node does with a request instead of answering it normally.
type Fault int

// Faults a Hook can choose.
const (
	FaultNone         Fault = iota // answer normally
	Fault500                       // plain 500 "Internal Server Error" without touching the store
	FaultDropResponse              // apply the request to the store, then close the connection without answering
	FaultGarbage                   // 200 with a body that is not JSON
	FaultTruncate                  // the normal status and headers, then half the body and a cut connection
	FaultReset                     // close the connection without applying the request
)

// Request is what a Hook sees of an incoming request.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Seq    int64 // 1-based count of requests this node has received, this one included
}

// Hook picks a fault for a request. It is called from the node's handler goroutines and
// must be safe for concurrent use.
type Hook func(Request) Fault

// FailNext returns a hook that applies f to the next count requests with the given method
// ("" matches any method) and path prefix ("" matches any path), then does nothing.
func FailNext(method, pathPrefix string, f Fault, count int) Hook {
	var mu sync.Mutex
	left := count
	return func(r Request) Fault {
		if (method != "" && r.Method != method) || !strings.HasPrefix(r.Path, pathPrefix) {
			return FaultNone
		}
		mu.Lock()
		defer mu.Unlock()
		if left <= 0 {
			return FaultNone
		}
		left--
		return f
	}
}

// garbageBody is what FaultGarbage answers.
const garbageBody = "<html><body>502 proxy garbage</body></html>\n"

// serveFault answers r according to f; serve is the normal handler.
func serveFault(w http.ResponseWriter, r *http.Request, f Fault, serve http.HandlerFunc) {
	switch f {
	case Fault500:
		writeTimeout(w)
	case FaultGarbage:
		w.Header().Set("Content-Type", contentJSON)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(garbageBody))
		flush(w)
	case FaultReset:
		cutConn(w, true)
	case FaultDropResponse:
		serve(newRecorder(), r)
		cutConn(w, false)
	case FaultTruncate:
		rec := newRecorder()
		serve(rec, r)
		for k, v := range rec.h {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes()[:rec.body.Len()/2])
		flush(w)
		cutConn(w, false)
	default:
		serve(w, r)
	}
}

// cutConn closes the client connection without (more) response bytes; rst makes it a
// TCP reset instead of an orderly close.
func cutConn(w http.ResponseWriter, rst bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if rst {
		raw := conn
		if tc, ok := conn.(*tls.Conn); ok {
			raw = tc.NetConn()
		}
		if tcp, ok := raw.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// recorder captures a response so a fault can mangle it.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// Flush is a no-op; it lets watch handlers run against a recorder.
func (r *recorder) Flush() {}
