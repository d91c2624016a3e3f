package robustness

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer is a hostile HTTP server on a raw TCP listener: each connection is handed
// to a behaviour that reads the request head and then answers however it likes
// (slowly, never, endlessly). Behaviours must return once stop is closed.
type rawServer struct {
	ln       net.Listener
	behave   func(stop <-chan struct{}, c net.Conn, req *http.Request)
	stop     chan struct{}
	wg       sync.WaitGroup
	accepted atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

func newRawServer(t *testing.T, behave func(stop <-chan struct{}, c net.Conn, req *http.Request)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &rawServer{ln: ln, behave: behave, stop: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *rawServer) URL() string { return "http://" + s.ln.Addr().String() }

func (s *rawServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				if req.Method == http.MethodHead {
					// The client's health probe (HEAD /machines): answered
					// plainly, since a HEAD answer must not carry a body.
					if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")); err != nil {
						return
					}
					continue
				}
				s.behave(s.stop, c, req)
				select {
				case <-s.stop:
					return
				default:
				}
			}
		}()
	}
}

func (s *rawServer) close() {
	close(s.stop)
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// writeSlowly writes b one byte every gap until done or stop; false if cut short.
func writeSlowly(stop <-chan struct{}, c net.Conn, b []byte, gap time.Duration) bool {
	for i := range b {
		select {
		case <-stop:
			return false
		case <-time.After(gap):
		}
		if _, err := c.Write(b[i : i+1]); err != nil {
			return false
		}
	}
	return true
}
