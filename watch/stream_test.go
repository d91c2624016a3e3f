package watch_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

// collect receives n events or fails the test when the stream ends or the
// deadline passes first.
func collect(t *testing.T, s *watch.Stream, n int) []watch.Event {
	t.Helper()
	out := make([]watch.Event, 0, n)
	deadline := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case ev, ok := <-s.Events():
			require.True(t, ok, "stream ended after %d of %d events: %v", len(out), n, s.Err())
			out = append(out, ev)
		case <-deadline:
			require.FailNow(t, "timed out", "got %d of %d events", len(out), n)
		}
	}
	return out
}

func triples(evs []watch.Event) []triple {
	out := make([]triple, len(evs))
	for i, ev := range evs {
		out[i] = triple{ev.Action, ev.Node.Key, ev.Index()}
	}
	return out
}

func TestStream_DeliversEveryEventInOrder(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()

	s, err := watch.Watch(ctx, k, "/app", watch.WithRecursive())
	require.NoError(t, err)
	start := s.LastIndex()
	for i := range 30 {
		_, err := k.Set(ctx, fmt.Sprintf("/app/k%d", i%5), fmt.Sprint(i))
		require.NoError(t, err)
	}
	_, err = k.Delete(ctx, "/app/k1")
	require.NoError(t, err)

	got := collect(t, s, 31)
	assert.Equal(t, history(c, "/app", start), triples(got))
	s.Close()
	assert.NoError(t, s.Err(), "a stream closed by its owner ends without error")
}

func TestStream_WithoutIndexMissesNothingAfterWatchReturns(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()

	s, err := watch.Watch(ctx, k, "/race")
	require.NoError(t, err)
	// Written before the first poll is likely to be in flight: the stream must
	// still see it because it continues from the index it read at start.
	resp, err := k.Set(ctx, "/race", "v")
	require.NoError(t, err)

	ev := collect(t, s, 1)[0]
	assert.Equal(t, resp.Index, ev.Index())
	assert.Equal(t, "v", ev.Node.Value)
	s.Close()
}

func TestStream_AfterIndexReplaysHistory(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()

	first, err := k.Set(ctx, "/h/a", "1")
	require.NoError(t, err)
	_, err = k.Set(ctx, "/h/b", "2")
	require.NoError(t, err)
	_, err = k.Set(ctx, "/h/a", "3")
	require.NoError(t, err)

	s, err := watch.Watch(ctx, k, "/h", watch.WithRecursive(), watch.WithAfterIndex(first.Index))
	require.NoError(t, err)
	got := collect(t, s, 2)
	assert.Equal(t, history(c, "/h", first.Index), triples(got))
	s.Close()

	s, err = watch.Watch(ctx, k, "/h/a", watch.WithWaitIndex(first.Index))
	require.NoError(t, err)
	got = collect(t, s, 2)
	assert.Equal(t, []string{"1", "3"}, []string{got[0].Node.Value, got[1].Node.Value})
	s.Close()
}

func TestStream_IndexClearedEndsWithTypedError(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c)
	ctx := t.Context()
	for i := range 1010 {
		_, err := k.Set(ctx, "/churn", fmt.Sprint(i))
		require.NoError(t, err)
	}

	s, err := watch.Watch(ctx, k, "/churn", watch.WithAfterIndex(1))
	require.NoError(t, err)
	select {
	case _, ok := <-s.Events():
		require.False(t, ok, "no event can be delivered from a cleared index")
	case <-time.After(10 * time.Second):
		require.FailNow(t, "stream did not end")
	}
	err = s.Err()
	require.ErrorIs(t, err, kv.ErrEventIndexCleared)
	var se *kv.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, c.Index(), se.Index, "the error carries the server's current index")
}

func TestStream_ServerEndedPollsAreInvisible(t *testing.T) {
	c := deimostest.NewCluster(t, 3, deimostest.WithWatchTimeout(20*time.Millisecond))
	k := newKV(t, c)
	ctx := t.Context()

	s, err := watch.Watch(ctx, k, "/quiet", watch.WithBackoff(time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)
	gets := c.Requests("GET")
	require.Eventually(t, func() bool { return c.Requests("GET") >= gets+5 },
		10*time.Second, 5*time.Millisecond, "the stream re-polls after empty answers")
	select {
	case ev := <-s.Events():
		require.FailNow(t, "an empty answer is not an event", "%+v", ev)
	default:
	}
	_, err = k.Set(ctx, "/quiet", "now")
	require.NoError(t, err)
	ev := collect(t, s, 1)[0]
	assert.Equal(t, "now", ev.Node.Value)
	s.Close()
}

func TestStream_FiltersHiddenKeysLeakedByHistory(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()
	_, err := k.Set(ctx, "/_private", "x")
	require.NoError(t, err)
	resp, err := k.Set(ctx, "/visible", "y")
	require.NoError(t, err)

	// From index 0 the server replays its member registry (/_deimos/...) and
	// /_private; only /visible may come out.
	s, err := watch.Watch(ctx, k, "/", watch.WithRecursive(), watch.WithAfterIndex(0))
	require.NoError(t, err)
	ev := collect(t, s, 1)[0]
	assert.Equal(t, "/visible", ev.Node.Key)
	assert.Equal(t, resp.Index, ev.Index())
	s.Close()

	hidden, err := watch.Watch(ctx, k, "/_private", watch.WithAfterIndex(0))
	require.NoError(t, err)
	ev = collect(t, hidden, 1)[0]
	assert.Equal(t, "/_private", ev.Node.Key, "a hidden key watched directly is delivered")
	hidden.Close()
}

func TestStream_DirectoryDeleteAndExpireReachRecursiveWatchers(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()
	_, err := k.Set(ctx, "/d/sub/x", "1")
	require.NoError(t, err)
	_, err = k.Mkdir(ctx, "/d/ttl", kv.WithTTL(time.Second))
	require.NoError(t, err)

	s, err := watch.Watch(ctx, k, "/d", watch.WithRecursive())
	require.NoError(t, err)
	_, err = k.Delete(ctx, "/d/sub", kv.WithRecursive())
	require.NoError(t, err)

	got := collect(t, s, 2)
	assert.Equal(t, kv.ActionDelete, got[0].Action)
	assert.Equal(t, "/d/sub", got[0].Node.Key)
	assert.True(t, got[0].Dir())
	assert.Equal(t, kv.ActionExpire, got[1].Action)
	assert.Equal(t, "/d/ttl", got[1].Node.Key)
	assert.True(t, got[1].Dir(), "an expired directory is recognised from its prevNode")
	s.Close()
}

func TestStream_SlowConsumerBoundsPolling(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c)
	ctx := t.Context()
	s, err := watch.Watch(ctx, k, "/slow", watch.WithBufferSize(2))
	require.NoError(t, err)
	for i := range 50 {
		_, err := k.Set(ctx, "/slow", fmt.Sprint(i))
		require.NoError(t, err)
	}
	// With nobody reading, the stream can hold the buffer plus the event it
	// is trying to hand over; it must not keep polling.
	require.Eventually(t, func() bool { return len(s.Events()) == 2 }, 5*time.Second, time.Millisecond)
	polls := c.Node(0).Requests("GET")
	got := collect(t, s, 2)
	assert.Equal(t, []string{"0", "1"}, []string{got[0].Node.Value, got[1].Node.Value})
	assert.LessOrEqual(t, polls, int64(1+4), "one start read and at most buffer+1 polls")

	rest := collect(t, s, 48)
	assert.Equal(t, "49", rest[47].Node.Value)
	s.Close()
}

func TestStream_CancelledContextStopsPromptly(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx, cancel := context.WithCancel(t.Context())
	s, err := watch.Watch(ctx, k, "/never", watch.WithRecursive())
	require.NoError(t, err)
	cancel()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		require.FailNow(t, "stream did not stop after its context was cancelled")
	}
	_, open := <-s.Events()
	assert.False(t, open)
	assert.NoError(t, s.Err())
}

func TestStream_InvalidInputIsRejectedUpFront(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c)
	_, err := watch.Watch(t.Context(), k, "/a/../b")
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	_, err = watch.Watch(t.Context(), k, "/a", watch.WithBufferSize(-1))
	require.ErrorIs(t, err, watch.ErrInvalidOption)
}

func TestEvents_IteratorStopsWithTheLoop(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()
	first, err := k.Set(ctx, "/it", "0")
	require.NoError(t, err)
	for i := 1; i < 5; i++ {
		_, err := k.Set(ctx, "/it", fmt.Sprint(i))
		require.NoError(t, err)
	}
	var values []string
	for ev, err := range watch.Events(ctx, k, "/it", watch.WithAfterIndex(first.Index)) {
		require.NoError(t, err)
		values = append(values, ev.Node.Value)
		if len(values) == 3 {
			break
		}
	}
	assert.Equal(t, []string{"1", "2", "3"}, values)

	for _, err := range watch.Events(ctx, k, "") {
		assert.True(t, errors.Is(err, kv.ErrInvalidKey))
	}
}

func TestStream_ClosedClientEndsTheStream(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	tr, err := transport.New(transport.Config{Endpoints: c.Endpoints(), RequestTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	k := kv.New(tr)
	s, err := watch.Watch(t.Context(), k, "/closing", watch.WithRecursive())
	require.NoError(t, err)
	// Counting GETs after Watch returned raced with the first poll, which may
	// already have been counted; the registered watcher is what to wait for.
	require.Eventually(t, func() bool { return c.Watchers() > 0 }, 5*time.Second, time.Millisecond,
		"the stream is waiting in a long poll")

	require.NoError(t, tr.Close())
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		require.FailNow(t, "a closed client left its stream waiting")
	}
	require.ErrorIs(t, s.Err(), kv.ErrClosed)
}

// A hidden key watched by its full name is not filtered (docs/protocol.md §8.3), and
// neither is the removal of its hidden ancestor, which the test server delivers
// to watchers inside the directory: the key is gone and the watcher must hear it.
func TestStream_HiddenWatchedKeySeesItsAncestorRemoved(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	// A real node crashes on this delete (docs/protocol.md §12.7); the test
	// checks what the stream does with the server's intended delivery, which
	// the test server gives instead while recording the hazard.
	c.ExpectCrashHazards()
	k := newKV(t, c)
	ctx := t.Context()
	_, err := k.Set(ctx, "/_svc/member", "m")
	require.NoError(t, err)

	s, err := watch.Watch(ctx, k, "/_svc/member")
	require.NoError(t, err)
	defer s.Close()
	require.Eventually(t, func() bool { return c.Watchers() > 0 }, 5*time.Second, time.Millisecond,
		"the poll is registered, so the removal is delivered live")
	del, err := k.Delete(ctx, "/_svc", kv.WithRecursive())
	require.NoError(t, err)
	next, err := k.Set(ctx, "/_svc/member", "again")
	require.NoError(t, err)

	got := collect(t, s, 2)
	assert.Equal(t, []triple{
		{kv.ActionDelete, "/_svc", del.Index},
		{kv.ActionSet, "/_svc/member", next.Index},
	}, triples(got))
}
