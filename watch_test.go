package deimos_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/watch"
)

var _ watch.Option = deimos.WithRecursive()

func TestClient_WatchAsInTheReadme(t *testing.T) {
	client, _ := newClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var lines []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		readmeWatch(ctx, client, func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) })
	}()
	// Each watch reads its start index before it polls; keep writing until
	// both watches have seen a change.
	require.Eventually(t, func() bool {
		_, err := client.Set(ctx, "/foo", "bar")
		require.NoError(t, err)
		_, err = client.Set(ctx, "/dir/a", "b")
		require.NoError(t, err)
		select {
		case <-done:
			return true
		default:
			return false
		}
	}, 10*time.Second, 20*time.Millisecond)
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "Key '/foo' changed")
	assert.Contains(t, lines[0], "/foo")
	assert.Contains(t, lines[1], "/dir/a")
}

func TestClient_WatchDeliversResponsesInOrder(t *testing.T) {
	client, _ := newClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	first, err := client.Set(ctx, "/w/a", "0")
	require.NoError(t, err)
	for i := 1; i <= 3; i++ {
		_, err := client.Set(ctx, "/w/a", fmt.Sprint(i))
		require.NoError(t, err)
	}
	ch := client.Watch(ctx, "/w", deimos.WithRecursive(), deimos.WithAfterIndex(first.Index))
	for i := 1; i <= 3; i++ {
		resp := <-ch
		require.NotNil(t, resp)
		assert.Equal(t, deimos.ActionSet, resp.Action)
		assert.Equal(t, fmt.Sprint(i), resp.Node.Value)
		assert.Equal(t, fmt.Sprint(i-1), resp.PrevNode.Value)
	}
	cancel()
	for range ch { // drains and ends once the context is cancelled
	}
}

func TestClient_WatchOfInvalidKeyClosesAndLogs(t *testing.T) {
	var buf bytes.Buffer
	client, _ := newClient(t, deimos.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	_, open := <-client.Watch(t.Context(), "/a/../b")
	assert.False(t, open)
	assert.Contains(t, buf.String(), "watch ended")

	_, err := client.WatchStream(t.Context(), "/a/../b")
	require.ErrorIs(t, err, deimos.ErrInvalidKey)
}
