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
		require.NoError(t, resp.Err())
		assert.Equal(t, deimos.ActionSet, resp.Action)
		assert.Equal(t, fmt.Sprint(i), resp.Node.Value)
		assert.Equal(t, fmt.Sprint(i-1), resp.PrevNode.Value)
	}
	cancel()
	for resp := range ch { // drains and ends once the context is cancelled
		assert.NoError(t, resp.Err(), "the end of the context is no error")
	}
}

func TestClient_WatchOfInvalidKeyReportsWhyAndLogs(t *testing.T) {
	var buf bytes.Buffer
	client, _ := newClient(t, deimos.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	ch := client.Watch(t.Context(), "/a/../b")
	resp, open := <-ch
	require.True(t, open, "the reason comes as a last value")
	require.ErrorIs(t, resp.Err(), deimos.ErrInvalidKey)
	assert.Nil(t, resp.Node)
	_, open = <-ch
	assert.False(t, open)
	assert.Contains(t, buf.String(), "watch ended")

	_, err := client.WatchStream(t.Context(), "/a/../b")
	require.ErrorIs(t, err, deimos.ErrInvalidKey)
}

// A reloader ranging over client.Watch learns that the history it needed is
// gone instead of seeing its channel close silently.
func TestClient_WatchReportsHistoryClearedThroughTheChannel(t *testing.T) {
	client, _ := newClient(t)
	ctx := t.Context()
	first, err := client.Set(ctx, "/cleared/a", "0")
	require.NoError(t, err)
	for i := range 1001 { // push the first write out of the 1000-event history
		_, err := client.Set(ctx, "/elsewhere", fmt.Sprint(i))
		require.NoError(t, err)
	}
	var last deimos.WatchResponse
	n := 0
	for resp := range client.Watch(ctx, "/cleared", deimos.WithRecursive(), deimos.WithAfterIndex(first.Index)) {
		last = resp
		n++
	}
	require.Equal(t, 1, n, "no event, then the reason")
	require.ErrorIs(t, last.Err(), deimos.ErrEventIndexCleared)
}
