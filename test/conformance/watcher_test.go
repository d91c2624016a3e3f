package conformance

import (
	"bufio"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// headerWait bounds how long a watch may take to send its headers: the server
// flushes them before any event exists (docs/protocol.md §12.3).
const headerWait = 10 * time.Second

// watcher is one long-poll watch whose body is read line by line in the background.
type watcher struct {
	resp   *http.Response
	lines  chan []byte // closed at the end of the body
	cancel context.CancelFunc
}

// startWatch sends a watch request and returns as soon as the response headers
// arrived. It fails if they do not arrive while no event exists, and closes the
// connection when the test ends.
func startWatch(t testing.TB, c call) *watcher {
	t.Helper()
	if c.method == "" {
		c.method = "GET"
	}
	ctx, cancel := context.WithCancel(context.Background())
	req := newRequest(ctx, t, c)
	type done struct {
		resp *http.Response
		err  error
	}
	ch := make(chan done, 1)
	go func() {
		resp, err := client.Do(req)
		ch <- done{resp, err}
	}()
	var d done
	select {
	case d = <-ch:
	case <-time.After(headerWait):
		cancel()
		<-ch
		t.Fatalf("watch %s: no response headers within %v; the server must send them before the event", c.uri, headerWait)
	}
	if d.err != nil {
		cancel()
		t.Fatalf("watch %s: %v", c.uri, d.err)
	}
	w := &watcher{resp: d.resp, lines: make(chan []byte, 16), cancel: cancel}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(w.lines)
		br := bufio.NewReader(d.resp.Body)
		for {
			l, err := br.ReadBytes('\n')
			if len(l) > 0 {
				w.lines <- l
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		d.resp.Body.Close()
		for range w.lines { // let the reader finish
		}
		<-finished
	})
	return w
}

// watchKey starts a watch on key with wait=true plus the extra query.
func watchKey(t testing.TB, key string, query ...string) *watcher {
	t.Helper()
	return startWatch(t, call{uri: keys(key, append([]string{"wait=true"}, query...)...)})
}

// body waits up to d for the whole response body and returns it.
func (w *watcher) body(t testing.TB, d time.Duration) []byte {
	t.Helper()
	deadline := time.After(d)
	var out []byte
	for {
		select {
		case l, ok := <-w.lines:
			if !ok {
				return out
			}
			out = append(out, l...)
		case <-deadline:
			t.Fatalf("watch body did not end within %v; got so far %q", d, out)
		}
	}
}

// event waits for the single event of the watch and returns the whole body,
// checking that it is exactly one canonical JSON line.
func (w *watcher) event(t testing.TB, d time.Duration) (result, []byte) {
	t.Helper()
	b := w.body(t, d)
	require.NotEmpty(t, b, "the watch ended without an event")
	var res result
	canonical(t, b, &res)
	return res, b
}

// line waits for the next line of the body without requiring the body to end.
func (w *watcher) line(t testing.TB, d time.Duration) []byte {
	t.Helper()
	select {
	case l, ok := <-w.lines:
		require.True(t, ok, "the body ended")
		return l
	case <-time.After(d):
		t.Fatalf("no line within %v", d)
		return nil
	}
}

// quiet asserts that nothing arrives and the body does not end for d: the
// watch is still waiting.
func (w *watcher) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case l, ok := <-w.lines:
		if ok {
			t.Fatalf("expected no event yet, got %q", l)
		}
		t.Fatalf("expected the watch to keep waiting, but the body ended")
	case <-time.After(d):
	}
}
