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

// Watch reports the changes of key (with WithRecursive, of everything below
// it too) on the returned channel, in order, without loss or repetition
// across node failures and reconnects, until ctx ends. Each value is the
// event as a Response (Action, Node, PrevNode).
//
// The channel is also closed when the watch cannot go on: an invalid key, a
// failed first read, or events that left the server's history (see
// watch.Stream and ErrEventIndexCleared). Use WatchStream to learn why; the
// reason is logged when the client has a logger.
func (c *Client) Watch(ctx context.Context, key string, opts ...WatchOption) <-chan *Response {
	out := make(chan *Response)
	s, err := c.WatchStream(ctx, key, opts...)
	if err != nil {
		c.logWatchEnd(key, err)
		close(out)
		return out
	}
	go func() {
		defer close(out)
		for ev := range s.Events() {
			resp := &Response{Action: ev.Action, Node: ev.Node, PrevNode: ev.PrevNode}
			select {
			case out <- resp:
			case <-ctx.Done():
				s.Close()
				return
			}
		}
		if err := s.Err(); err != nil {
			c.logWatchEnd(key, err)
		}
	}()
	return out
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
