package robustness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/kv"
)

const (
	hostileAttempt  = 300 * time.Millisecond // the client's per-attempt timeout
	hostileDeadline = 2 * time.Second        // the deadline of each call
)

const okBody = `{"action":"set","node":{"key":"/a","value":"v","modifiedIndex":7,"createdIndex":7}}` + "\n"

func okHead(extra string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Deimos-Index: 7\r\n" + extra
}

// hostileBehaviours answer every request in a way no real server should.
var hostileBehaviours = map[string]func(stop <-chan struct{}, c net.Conn, req *http.Request){
	// The whole answer, status line included, one byte every 40 ms.
	"slowloris": func(stop <-chan struct{}, c net.Conn, _ *http.Request) {
		resp := okHead(fmt.Sprintf("Content-Length: %d\r\n\r\n", len(okBody))) + okBody
		writeSlowly(stop, c, []byte(resp), 40*time.Millisecond)
	},
	// Headers that never end: a new header line every 20 ms.
	"endless headers": func(stop <-chan struct{}, c net.Conn, _ *http.Request) {
		if _, err := c.Write([]byte(okHead(""))); err != nil {
			return
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := fmt.Fprintf(c, "X-Pad-%d: %s\r\n", i, strings.Repeat("p", 64)); err != nil {
				return
			}
		}
	},
	// Good headers, then the body one byte every 40 ms.
	"slow body": func(stop <-chan struct{}, c net.Conn, _ *http.Request) {
		if _, err := c.Write([]byte(okHead(fmt.Sprintf("Content-Length: %d\r\n\r\n", len(okBody))))); err != nil {
			return
		}
		writeSlowly(stop, c, []byte(okBody), 40*time.Millisecond)
	},
	// A JSON string that never ends, as fast as the client reads it.
	"endless body": func(stop <-chan struct{}, c net.Conn, _ *http.Request) {
		if _, err := c.Write([]byte(okHead("Transfer-Encoding: chunked\r\n\r\n"))); err != nil {
			return
		}
		head := `{"action":"get","node":{"key":"/a","value":"`
		if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(head), head); err != nil {
			return
		}
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 32<<10, strings.Repeat("a", 32<<10))
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Write([]byte(chunk)); err != nil {
				return
			}
		}
	},
}

// TestHostileServers: every hostile answer ends in a typed error, well within the
// call's deadline for writes (one attempt) and by the deadline for reads (which are
// retried, each attempt cut by the per-attempt timeout).
func TestHostileServers(t *testing.T) {
	for name, behave := range hostileBehaviours {
		t.Run(name, func(t *testing.T) {
			srv := newRawServer(t, behave)
			// The response limit is reached well within one attempt even under
			// the race detector on a loaded machine: at 1 MiB, decoding the
			// endless body sometimes outlasted the 300 ms attempt in CI.
			c := deimos.New(deimos.WithEndpoints(srv.URL()), deimos.WithRequestTimeout(hostileAttempt),
				deimos.WithMaxResponseBytes(256<<10), deimos.WithoutHedging())
			defer c.Close()

			// A write is sent once: the answer never came, so its outcome is unknown.
			ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
			begin := time.Now()
			_, err := c.Set(ctx, "/a", "v")
			took := time.Since(begin)
			cancel()
			require.Error(t, err)
			if name == "endless body" {
				assert.ErrorIs(t, err, kv.ErrResponseTooLarge)
			} else {
				assert.ErrorIs(t, err, kv.ErrUnknownOutcome)
			}
			assert.Less(t, took, hostileDeadline/2, "the write must end after one attempt, not at the deadline: %v", err)
			assert.LessOrEqual(t, len(err.Error()), 2048, "bounded message")

			// A read is retried; each attempt is cut by the attempt timeout, and
			// the call honours its deadline.
			before := srv.accepted.Load()
			ctx, cancel = context.WithTimeout(context.Background(), hostileDeadline)
			begin = time.Now()
			_, err = c.Get(ctx, "/a")
			took = time.Since(begin)
			cancel()
			require.Error(t, err)
			if name == "endless body" {
				assert.ErrorIs(t, err, kv.ErrResponseTooLarge, "every node would answer alike: not retried")
			} else {
				assert.ErrorIs(t, err, kv.ErrClusterUnavailable)
				assert.GreaterOrEqual(t, srv.accepted.Load()-before, int64(2), "attempts were cut and retried")
			}
			assert.Less(t, took, hostileDeadline+time.Second, "the read honours its deadline")
			assert.LessOrEqual(t, len(err.Error()), 4096, "bounded message")
		})
	}
}

// TestRedirectsAreNotFollowed: a 307 or 302 to another host must not move the request
// there (a write would be re-sent to a server nobody configured).
func TestRedirectsAreNotFollowed(t *testing.T) {
	other := newRawServer(t, func(_ <-chan struct{}, c net.Conn, _ *http.Request) {
		_, _ = c.Write([]byte(okHead(fmt.Sprintf("Content-Length: %d\r\n\r\n", len(okBody))) + okBody))
	})
	for _, status := range []int{307, 302, 301, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newRawServer(t, func(_ <-chan struct{}, c net.Conn, req *http.Request) {
				_, _ = fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nLocation: %s%s\r\nContent-Length: 0\r\n\r\n",
					status, http.StatusText(status), other.URL(), req.URL.RequestURI())
			})
			c := deimos.New(deimos.WithEndpoints(srv.URL()), deimos.WithRequestTimeout(hostileAttempt))
			defer c.Close()
			for _, call := range []func(ctx context.Context) error{
				func(ctx context.Context) error { _, err := c.Set(ctx, "/a", "v"); return err },
				func(ctx context.Context) error { _, err := c.Get(ctx, "/a"); return err },
				func(ctx context.Context) error { _, err := c.Delete(ctx, "/a"); return err },
			} {
				ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
				begin := time.Now()
				err := call(ctx)
				took := time.Since(begin)
				cancel()
				require.Error(t, err)
				assert.True(t, errors.Is(err, kv.ErrMalformedResponse) || errors.Is(err, kv.ErrClusterUnavailable), "typed error, got %v", err)
				assert.Less(t, took, hostileDeadline+time.Second)
			}
			assert.Zero(t, other.accepted.Load(), "the redirect target was contacted")
		})
	}
}
