package deimos_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/observe"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// hookLog records what the client reports through its hooks.
type hookLog struct {
	mu       sync.Mutex
	ops      []string
	attempts []observe.AttemptResult
	states   []observe.EndpointChange
	parents  int // attempts whose context came from their operation's start hook
}

type opMark struct{}

func (l *hookLog) hooks() observe.Hooks {
	return observe.Hooks{
		OperationStart: func(ctx context.Context, op observe.Operation) context.Context {
			return context.WithValue(ctx, opMark{}, op.Name)
		},
		OperationEnd: func(_ context.Context, op observe.Operation, r observe.Result) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.ops = append(l.ops, op.Name+" "+op.Key+" "+r.Outcome.String())
		},
		AttemptStart: func(ctx context.Context, a observe.Attempt) context.Context {
			if ctx.Value(opMark{}) == a.Operation.Name {
				l.mu.Lock()
				l.parents++
				l.mu.Unlock()
			}
			return ctx
		},
		AttemptEnd: func(_ context.Context, _ observe.Attempt, r observe.AttemptResult) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.attempts = append(l.attempts, r)
		},
		EndpointState: func(c observe.EndpointChange) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.states = append(l.states, c)
		},
	}
}

func TestWithHooks_ReportsOperationsAttemptsAndEndpointHealth(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	var log hookLog
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...), deimos.WithHooks(log.hooks()),
		deimos.WithRequestTimeout(300*time.Millisecond))
	t.Cleanup(func() { _ = client.Close() })
	ctx := t.Context()

	_, err := client.Set(ctx, "/hooked", "1")
	require.NoError(t, err)
	_, err = client.Get(ctx, "/missing")
	require.ErrorIs(t, err, deimos.ErrKeyNotFound)

	log.mu.Lock()
	assert.Equal(t, []string{"set /hooked ok", "get /missing server_error"}, log.ops)
	assert.Len(t, log.attempts, 2, "one attempt each on a healthy cluster")
	assert.Equal(t, 2, log.parents, "each attempt's context descends from its operation's")
	log.mu.Unlock()

	// A stopped node is taken out of rotation, and the hooks hear of it.
	c.Node(0).Stop()
	require.Eventually(t, func() bool {
		_, _ = client.Get(ctx, "/hooked")
		log.mu.Lock()
		defer log.mu.Unlock()
		for _, s := range log.states {
			if s.Endpoint == c.Node(0).URL() && s.To == observe.CoolingDown {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
}
