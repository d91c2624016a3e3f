package watch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/kv"
)

// stuckSource answers every poll with the same old event, as a misbehaving
// node or proxy could, and records when each poll came.
type stuckSource struct {
	mu    sync.Mutex
	at    []time.Time
	fifth chan struct{}
}

func (s *stuckSource) head(context.Context, string) (uint64, error) { return 10, nil }

func (s *stuckSource) poll(context.Context, string, string, uint64, bool) (*kv.Response, string, error) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	if len(s.at) == 5 {
		close(s.fifth)
	}
	s.mu.Unlock()
	return &kv.Response{Action: kv.ActionSet, Node: &kv.Node{Key: "/k", ModifiedIndex: 5}}, "", nil
}

func (s *stuckSource) endpoints() []string { return nil }

func (s *stuckSource) list(context.Context, string) (*kv.Node, uint64, error) { return nil, 10, nil }

func TestStream_AnswerThatDoesNotAdvanceBacksOff(t *testing.T) {
	src := &stuckSource{fifth: make(chan struct{})}
	cfg := defaultConfig()
	cfg.afterIndex, cfg.hasAfter = 10, true
	s := startStream(t.Context(), src, "/k", cfg)
	select {
	case <-src.fifth:
	case <-time.After(20 * time.Second):
		require.FailNow(t, "the stream stopped polling")
	}
	s.Close()

	src.mu.Lock()
	defer src.mu.Unlock()
	// A spinning stream polls again at once; one that backs off waits at
	// least half its minimum backoff (the jitter factor is 0.5) between polls.
	for i := 1; i < 5; i++ {
		assert.GreaterOrEqual(t, src.at[i].Sub(src.at[i-1]), cfg.minBackoff/2, "gap before poll %d", i+1)
	}
	assert.Equal(t, uint64(10), s.LastIndex(), "an old event never moves the stream back")
	_, open := <-s.Events()
	assert.False(t, open, "nothing was delivered")
}
