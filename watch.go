package deimos

import (
	"context"

	"github.com/marsevilspirit/deimos-client/watch"
)

// WatchOption configures Watch and WatchStream: WithRecursive, WithAfterIndex,
// WithWaitIndex, and the options of package watch.
type WatchOption = watch.Option

// WithAfterIndex makes a watch deliver the events after index i, replaying
// those that already happened (the server keeps the last 1000). Pass the
// Index of a read or write to continue exactly after it.
func WithAfterIndex(i uint64) watch.AfterIndexOption { return watch.WithAfterIndex(i) }

// WithWaitIndex makes a watch deliver the events from index i on (the
// protocol's waitIndex).
func WithWaitIndex(i uint64) watch.AfterIndexOption { return watch.WithWaitIndex(i) }

// WatchResponse is one value of the channel Watch returns: a change of the
// watched key (the embedded watch.Event: Action, Node, PrevNode, Index), or,
// as the channel's last value, why the watch could not go on (Err). Check Err
// before using the event: the value that carries an error has no Node.
type WatchResponse struct {
	watch.Event
	err error
}

// String formats the change, e.g. `set {Key:/a Value:"1" ...}`, or the
// reason the watch ended.
func (r WatchResponse) String() string {
	if r.err != nil {
		return "watch ended: " + r.err.Error()
	}
	return r.Action + " " + r.Node.String()
}

// Err returns why the watch ended, or nil for a value that carries a change.
// It matches ErrEventIndexCleared when the events the watch needed left the
// server's history (read again, then watch from the read's Index), or the
// error of an invalid key or option, or of the first read.
func (r WatchResponse) Err() error { return r.err }

// Watch reports the changes of key (with WithRecursive, of everything below
// it too) on the returned channel, in order, without loss or repetition
// across node failures and reconnects, until ctx ends; then the channel is
// closed.
//
// A watch that cannot go on (an invalid key, a failed first read, events that
// left the server's history) never ends silently: its last value carries the
// reason in Err, and the channel is closed after it. The end of ctx closes
// the channel without such a value.
//
//	for resp := range client.Watch(ctx, "/config", deimos.WithRecursive()) {
//		if err := resp.Err(); err != nil {
//			return err // e.g. ErrEventIndexCleared: read again, then watch
//		}
//		apply(resp.Node)
//	}
func (c *Client) Watch(ctx context.Context, key string, opts ...WatchOption) <-chan WatchResponse {
	out := make(chan WatchResponse, 1)
	s, err := c.WatchStream(ctx, key, opts...)
	if err != nil {
		c.logWatchEnd(key, err)
		out <- WatchResponse{err: err}
		close(out)
		return out
	}
	go c.forward(ctx, key, s, out)
	return out
}

// forward hands the stream's events to out, then the reason it ended.
func (c *Client) forward(ctx context.Context, key string, s *watch.Stream, out chan<- WatchResponse) {
	defer close(out)
	defer s.Close()
	for ev := range s.Events() {
		select {
		case out <- WatchResponse{Event: ev}:
		case <-ctx.Done():
			return
		}
	}
	err := s.Err()
	if err == nil {
		return
	}
	c.logWatchEnd(key, err)
	select {
	case out <- WatchResponse{err: err}:
	case <-ctx.Done():
	}
}

// WatchStream starts a watch like Watch and returns the stream itself, whose
// Err says why it ended.
func (c *Client) WatchStream(ctx context.Context, key string, opts ...WatchOption) (*watch.Stream, error) {
	if c.err != nil {
		return nil, c.err
	}
	return watch.Watch(ctx, c, key, opts...)
}

func (c *Client) logWatchEnd(key string, err error) {
	if c.logger != nil {
		c.logger.Warn("deimos: watch ended", "key", key, "error", err)
	}
}
