package watch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/benchpair"
	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

// BenchmarkStream compares a Stream with a raw long-poll loop, side by side
// in alternating rounds (internal/benchpair), both watching one directory
// recursively on a one-node in-process cluster. The raw loop is what a
// careful hand-written watcher does: one goroutine, one keep-alive
// http.Client, GET ?wait=true&recursive=true&waitIndex=last+1, the answer
// decoded into the same kv.Response, each event handed over on a channel
// of the same size. Ratios are stream / raw loop; an operation is one
// event.
//
//   - catchup: the round's events are written before it starts (outside the
//     measurement) and the watcher, started after them, drains them from the
//     server's history: the client's own cost per event, with no writer in
//     the figures.
//   - live: one write at a time, each waiting for its event; the latency is
//     from sending the write to receiving the event.
//   - flatout: a writer writes the round's events as fast as it can while
//     the watcher keeps up; the latency is the tail, from the last write's
//     answer to its event (one per round).
//
// Writes go through a plain net/http client, the same on both sides.
func BenchmarkStream(b *testing.B) {
	c := deimostest.NewCluster(b, 1)
	w, k, raw, last := newStreamRig(b, c)

	start := map[string]func(ctx context.Context, after uint64) (watcher, error){
		"stream": func(ctx context.Context, after uint64) (watcher, error) {
			s, err := watch.Watch(ctx, k, dir, watch.WithRecursive(), watch.WithAfterIndex(after))
			if err != nil {
				return nil, err
			}
			return streamWatcher{s}, nil
		},
		"rawpoll": func(ctx context.Context, after uint64) (watcher, error) {
			return raw.start(ctx, after), nil
		},
	}
	sides := func(mode func(string, func(context.Context, uint64) (watcher, error)) benchpair.Side) []benchpair.Side {
		return []benchpair.Side{mode("stream", start["stream"]), mode("rawpoll", start["rawpoll"])}
	}
	cfg := benchpair.Config{RoundSize: 200}

	b.Run("catchup", func(b *testing.B) {
		var from uint64 // the index the round's watcher starts after
		benchpair.Compare(b, cfg, sides(func(name string, open func(context.Context, uint64) (watcher, error)) benchpair.Side {
			return benchpair.Side{
				Name: name,
				Prepare: func(ctx context.Context, n int) error {
					from = last
					for i := range n {
						var err error
						if last, err = w.put(ctx, dir+"/"+strconv.Itoa(i%16), strconv.Itoa(i)); err != nil {
							return err
						}
					}
					return nil
				},
				Round: func(ctx context.Context, n int, _ func(time.Duration)) error {
					wt, err := open(ctx, from)
					if err != nil {
						return err
					}
					defer wt.stop()
					return receive(wt, n, last)
				},
			}
		})...)
	})

	b.Run("live", func(b *testing.B) {
		benchpair.Compare(b, cfg, sides(func(name string, open func(context.Context, uint64) (watcher, error)) benchpair.Side {
			return liveSide(name, w, &last, open)
		})...)
	})

	b.Run("flatout", func(b *testing.B) {
		// Small rounds: the tail is one sample per round.
		benchpair.Compare(b, benchpair.Config{RoundSize: 50}, sides(func(name string, open func(context.Context, uint64) (watcher, error)) benchpair.Side {
			return benchpair.Side{Name: name, Round: func(ctx context.Context, n int, lat func(time.Duration)) error {
				wt, err := open(ctx, last)
				if err != nil {
					return err
				}
				defer wt.stop()
				type written struct {
					index uint64
					at    time.Time
					err   error
				}
				done := make(chan written, 1)
				go func() {
					var idx uint64
					var err error
					for i := range n {
						if idx, err = w.put(ctx, dir+"/"+strconv.Itoa(i%16), strconv.Itoa(i)); err != nil {
							break
						}
					}
					done <- written{idx, time.Now(), err}
				}()
				if err := receive(wt, n-1, 0); err != nil {
					return err
				}
				wr := <-done
				if wr.err != nil {
					return wr.err
				}
				last = wr.index
				if err := receive(wt, 1, wr.index); err != nil {
					return err
				}
				lat(time.Since(wr.at))
				return nil
			}}
		})...)
	})
}

// liveSide is a side of the live mode: one write at a time through w, each
// waiting for its event on a watcher open starts after *last; the latency is
// from sending the write to receiving the event.
func liveSide(name string, w *benchWriter, last *uint64, open func(context.Context, uint64) (watcher, error)) benchpair.Side {
	return benchpair.Side{Name: name, Round: func(ctx context.Context, n int, lat func(time.Duration)) error {
		wt, err := open(ctx, *last)
		if err != nil {
			return err
		}
		defer wt.stop()
		for i := range n {
			sent := time.Now()
			if *last, err = w.put(ctx, dir+"/live", strconv.Itoa(i)); err != nil {
				return err
			}
			if err := receive(wt, 1, *last); err != nil {
				return err
			}
			lat(time.Since(sent))
		}
		return nil
	}}
}

// BenchmarkStream_FollowerLag is the live mode on three nodes, two of which
// apply writes to their watches 20 ms late (followers that trail the
// leader, docs/protocol.md §13.2): the stream is given all three
// endpoints, as users configure it; the raw loop polls the node that does
// not lag, as a loop pinned to the leader would; the writes go to that node
// too, as to a leader. Before streams raced for the node that delivers first
// (route.go), the stream's events came 21 ms after their writes at the
// median, 140 times the raw loop's.
func BenchmarkStream_FollowerLag(b *testing.B) {
	c := deimostest.NewCluster(b, 3)
	c.Node(1).SetWatchLag(20 * time.Millisecond)
	c.Node(2).SetWatchLag(20 * time.Millisecond)
	w, k, raw, last := newStreamRig(b, c)
	benchpair.Compare(b, benchpair.Config{RoundSize: 50},
		liveSide("stream", w, &last, func(ctx context.Context, after uint64) (watcher, error) {
			s, err := watch.Watch(ctx, k, dir, watch.WithRecursive(), watch.WithAfterIndex(after))
			if err != nil {
				return nil, err
			}
			return streamWatcher{s}, nil
		}),
		liveSide("rawpoll", w, &last, func(ctx context.Context, after uint64) (watcher, error) {
			return raw.start(ctx, after), nil
		}),
	)
}

// newStreamRig returns, for cluster c, the writer (to the first node), a
// key-value client over every node for the stream, the raw loop (on the
// first node), and the index of a first write that makes the watched
// directory exist, so that a round's first write is no create. All are
// closed with b.
func newStreamRig(b *testing.B, c *deimostest.Cluster) (*benchWriter, *kv.KV, *rawWatcher, uint64) {
	w := newBenchWriter(c.Endpoints()[0])
	b.Cleanup(w.close)
	raw := &rawWatcher{base: c.Endpoints()[0], hc: &http.Client{Transport: &http.Transport{}}}
	b.Cleanup(raw.hc.CloseIdleConnections)
	last, err := w.put(context.Background(), dir+"/k", "v")
	require.NoError(b, err)
	return w, newBenchKV(b, c.Endpoints()...), raw, last
}

// dir is the directory the benchmark's watchers watch.
const dir = "/bench/w"

// watcher is what the benchmark needs of each side: its events and a way to
// stop it.
type watcher interface {
	events() <-chan watch.Event
	stop()
}

type streamWatcher struct{ s *watch.Stream }

func (w streamWatcher) events() <-chan watch.Event { return w.s.Events() }
func (w streamWatcher) stop()                      { w.s.Close() }

// receive takes n events from w; when want is not 0, the last one must have
// that index.
func receive(w watcher, n int, want uint64) error {
	var ev watch.Event
	for range n {
		var ok bool
		if ev, ok = <-w.events(); !ok {
			return errors.New("the watcher stopped")
		}
	}
	if want != 0 && ev.Index() != want {
		return fmt.Errorf("last event %d, want %d", ev.Index(), want)
	}
	return nil
}

// rawWatcher is the raw long-poll loop.
type rawWatcher struct {
	base string
	hc   *http.Client
}

type rawRun struct {
	ch     chan watch.Event
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *rawRun) events() <-chan watch.Event { return r.ch }
func (r *rawRun) stop()                      { r.cancel(); <-r.done }

func (w *rawWatcher) start(ctx context.Context, after uint64) *rawRun {
	ctx, cancel := context.WithCancel(ctx)
	run := &rawRun{ch: make(chan watch.Event, 64), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(run.done)
		defer close(run.ch)
		for next := after + 1; ; {
			resp, err := w.poll(ctx, next)
			if err != nil {
				return // only a cancelled context, in this benchmark
			}
			if resp == nil || resp.Node == nil {
				continue // the server ended its hold without an event
			}
			next = resp.Node.ModifiedIndex + 1
			select {
			case run.ch <- watch.Event{Action: resp.Action, Node: resp.Node, PrevNode: resp.PrevNode}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return run
}

func (w *rawWatcher) poll(ctx context.Context, waitIndex uint64) (*kv.Response, error) {
	u := w.base + "/keys" + dir + "?recursive=true&wait=true&waitIndex=" + strconv.FormatUint(waitIndex, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "deimos-client-go")
	resp, err := w.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out kv.Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return &out, nil
}

// benchWriter writes with a plain keep-alive net/http client.
type benchWriter struct {
	base string
	hc   *http.Client
}

func newBenchWriter(base string) *benchWriter {
	return &benchWriter{base: base, hc: &http.Client{Transport: &http.Transport{}}}
}

func (w *benchWriter) close() { w.hc.CloseIdleConnections() }

// put sets key to value and returns the write's index.
func (w *benchWriter) put(ctx context.Context, key, value string) (uint64, error) {
	body := url.Values{"value": {value}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, w.base+"/keys"+key, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := w.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out kv.Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	if resp.StatusCode >= 300 || out.Node == nil {
		return 0, fmt.Errorf("put %s: status %d", key, resp.StatusCode)
	}
	return out.Node.ModifiedIndex, nil
}

// newBenchKV is a key-value client with the transport's default settings
// (the tests' newKV shortens the request timeout).
func newBenchKV(b *testing.B, endpoints ...string) *kv.KV {
	tr, err := transport.New(transport.Config{Endpoints: endpoints})
	require.NoError(b, err)
	b.Cleanup(func() { _ = tr.Close() })
	return kv.New(tr)
}
