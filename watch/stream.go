package watch

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
)

// Stream delivers the events of one key or subtree, in index order, with no
// gap and no duplicate, until its context ends or it meets an error it cannot
// recover from.
type Stream struct {
	key    string
	cfg    config
	src    poller
	events chan Event
	done   chan struct{}
	cancel context.CancelFunc
	last   atomic.Uint64

	mu  sync.Mutex
	err error

	route route // where polls go (route.go); the stream's goroutine's
}

// Watch starts a stream of the events of key (and, with WithRecursive, of the
// keys below it). Without WithAfterIndex the stream first reads the key to
// learn the current store index and delivers every event after it, so nothing
// that happens after Watch returns is missed; an error of that read is
// returned.
//
// The stream polls in the background until ctx ends or Close is called; read
// its events from Events and, once that channel is closed, the reason from Err.
func Watch(ctx context.Context, c Client, key string, opts ...Option) (*Stream, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.applyWatch(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	clean, err := kv.CleanKey(key)
	if err != nil {
		return nil, err
	}
	src := sourceOf(c)
	if !cfg.hasAfter {
		// Read the start index before returning, so that every write that
		// completes after Watch returns is after it.
		idx, err := src.head(ctx, clean)
		if err != nil {
			return nil, fmt.Errorf("watch: %s: reading the start index: %w", clean, err)
		}
		cfg.afterIndex, cfg.hasAfter = idx, true
	}
	return startStream(ctx, src, clean, cfg), nil
}

func startStream(ctx context.Context, src poller, key string, cfg config) *Stream {
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{
		key:    key,
		cfg:    cfg,
		src:    src,
		events: make(chan Event, cfg.buffer),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	if cfg.hasAfter {
		s.last.Store(cfg.afterIndex)
	}
	go s.run(ctx)
	return s
}

// Events returns the channel the stream delivers on. It is closed when the
// stream ends; Err then says why.
func (s *Stream) Events() <-chan Event { return s.events }

// Done is closed when the stream has ended and will deliver nothing more.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err returns why the stream ended: nil when its context ended or Close was
// called, otherwise the error, which matches kv.ErrEventIndexCleared when the
// events it needed left the server's history. It returns nil while the stream
// is running.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// LastIndex returns the index of the last event delivered (or, before the
// first one, the index the stream started after).
func (s *Stream) LastIndex() uint64 { return s.last.Load() }

// Close stops the stream and waits until its goroutine has ended.
func (s *Stream) Close() {
	s.cancel()
	<-s.done
}

// All returns the events as an iterator for range-over-func loops. If the
// stream ends with an error, the last pair carries it. Leaving the loop early
// (break, return) closes the stream, as it does for Events: an iterator that
// is abandoned never keeps polling.
func (s *Stream) All() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for ev := range s.events {
			if !yield(ev, nil) {
				s.Close()
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(Event{}, err)
		}
	}
}

// Events watches key like Watch and returns the events as an iterator; the
// stream stops when the loop ends, by break or by error.
//
//	for ev, err := range watch.Events(ctx, client, "/config", watch.WithRecursive()) {
//		if err != nil {
//			return err
//		}
//		apply(ev)
//	}
func Events(ctx context.Context, c Client, key string, opts ...Option) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		s, err := Watch(ctx, c, key, opts...)
		if err != nil {
			yield(Event{}, err)
			return
		}
		defer s.Close()
		for ev, err := range s.All() {
			if !yield(ev, err) {
				return
			}
		}
	}
}

func (s *Stream) run(ctx context.Context) {
	defer close(s.done)
	defer close(s.events)
	defer s.route.racers.Wait() // after cancel, which ends them
	defer s.cancel()

	// The polls share one attempt scope: a stream polls once per event.
	ctx = transport.WithScopeReuse(ctx)
	b := s.cfg.newBackoff()
	for {
		began := time.Now()
		resp, err := s.poll(ctx, s.last.Load()+1)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			if terminal(err) {
				s.fail(fmt.Errorf("watch: %s after index %d: %w", s.key, s.last.Load(), err))
				return
			}
		case resp == nil:
			// The server ended the poll without an event. That is routine
			// after its long hold; an empty answer that came back at once is
			// treated like a failure so a broken node cannot make us spin.
			if time.Since(began) >= s.cfg.quickEmpty {
				b.Reset()
				continue
			}
		default:
			progressed, ok := s.deliver(ctx, resp)
			if !ok {
				return
			}
			if progressed {
				b.Reset()
				continue
			}
			// An answer that does not move the stream forward (an event at
			// or below the last index) can only come from a misbehaving
			// node; back off like after a failure instead of spinning.
		}
		if !wait.Sleep(ctx, b.NextBackOff()) {
			return
		}
	}
}

// deliver hands one polled event to the consumer, blocking while the buffer is
// full (so a slow consumer slows the polling instead of growing memory). An
// event at or below the last delivered index is a duplicate and is dropped; a
// hidden key leaked from history advances the index but is not delivered.
// progressed says whether the stream's index moved; ok is false when ctx
// ended first.
func (s *Stream) deliver(ctx context.Context, resp *kv.Response) (progressed, ok bool) {
	if resp.Node == nil || resp.Node.ModifiedIndex <= s.last.Load() {
		return false, true
	}
	idx := resp.Node.ModifiedIndex
	if hiddenBelow(s.key, resp.Node.Key) {
		s.last.Store(idx)
		return true, true
	}
	ev := Event{Action: resp.Action, Node: resp.Node, PrevNode: resp.PrevNode}
	select {
	case s.events <- ev:
		s.last.Store(idx)
		return true, true
	case <-ctx.Done():
		return false, false
	}
}

func (s *Stream) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// terminal reports whether retrying cannot help: the server rejected the
// request itself (every JSON error of a watch is about its parameters or an
// outdated index), the input was invalid, or the client is closed. Network
// errors, server timeouts and malformed answers are worth another poll.
func terminal(err error) bool {
	var se *kv.Error
	return errors.As(err, &se) ||
		errors.Is(err, kv.ErrInvalidKey) ||
		errors.Is(err, kv.ErrClosed)
}
