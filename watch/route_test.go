package watch_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

// polls records each node's watch polls.
func polls(c *deimostest.Cluster) []*deimostest.Recorder {
	var recs []*deimostest.Recorder
	for _, n := range c.Nodes() {
		rec := deimostest.NewRecorder(func(r deimostest.Request) bool { return r.Query.Get("wait") == "true" })
		n.SetHook(rec.Hook())
		recs = append(recs, rec)
	}
	return recs
}

// A stream given every endpoint finds the node that delivers its events
// first and stays there: with two followers whose watches trail by 300 ms
// (and the writes sent to the third, as to a leader: a node that took a
// write has applied it), after the first race every poll goes to the node
// that does not lag, and every event arrives once, in order (the losing
// polls' copies of the same event are dropped).
func TestStream_StaysOnTheNodeThatDeliversFirst(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	c.Node(1).SetWatchLag(300 * time.Millisecond)
	c.Node(2).SetWatchLag(300 * time.Millisecond)
	k := newKV(t, c)
	writer := newKVFor(t, c.Endpoints()[0])
	ctx := t.Context()
	recs := polls(c)

	s, err := watch.Watch(ctx, k, "/route", watch.WithRecursive())
	require.NoError(t, err)
	defer s.Close()
	start := s.LastIndex()
	const events = 40
	var got []watch.Event
	for i := range events {
		_, err := writer.Set(ctx, fmt.Sprintf("/route/k%d", i%4), fmt.Sprint(i))
		require.NoError(t, err)
		got = append(got, collect(t, s, 1)...) // one write at a time, so each poll waits live
	}
	assert.Equal(t, history(c, "/route", start), triples(got))
	require.Never(t, func() bool { return len(s.Events()) > 0 }, 500*time.Millisecond, 5*time.Millisecond,
		"the lagging nodes' late copies are never delivered")
	fresh, lagging := len(recs[0].Times()), len(recs[1].Times())+len(recs[2].Times())
	assert.GreaterOrEqual(t, fresh, events, "every event was polled for on the node that does not lag")
	assert.LessOrEqual(t, lagging, 2*(1+events/100), "the lagging nodes saw only the races' polls")
}

// When the node a stream stays on stops, the stream goes on elsewhere and
// misses nothing.
func TestStream_LeavesItsNodeWhenItStops(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()
	recs := polls(c)

	s, err := watch.Watch(ctx, k, "/route", watch.WithRecursive())
	require.NoError(t, err)
	defer s.Close()
	start := s.LastIndex()
	var got []watch.Event
	write := func(i int) {
		t.Helper()
		_, err := k.Set(ctx, fmt.Sprintf("/route/k%d", i%4), fmt.Sprint(i))
		require.NoError(t, err)
		got = append(got, collect(t, s, 1)...)
	}
	for i := range 10 {
		write(i)
	}
	chosen := 0
	for i, rec := range recs {
		if len(rec.Times()) > len(recs[chosen].Times()) {
			chosen = i
		}
	}
	require.GreaterOrEqual(t, len(recs[chosen].Times()), 10, "the stream stays on one node")
	c.Node(chosen).Stop()
	for i := 10; i < 20; i++ {
		write(i)
	}
	assert.Equal(t, history(c, "/route", start), triples(got))
}
