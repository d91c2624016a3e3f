package deimostest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// ack is what a write's answer says about its index.
type ack struct {
	header   uint64 // X-Deimos-Index
	modified uint64 // node.modifiedIndex
}

// putAsync sends a PUT in the background.
func (c *client) putAsync(key, value string) <-chan resp {
	ch := make(chan resp, 1)
	go func() {
		r, err := c.try(context.Background(), http.MethodPut, "/keys"+key, url.Values{"value": {value}})
		assert.NoError(c.t, err)
		ch <- r
	}()
	return ch
}

func headerIndex(t *testing.T, r resp) uint64 {
	t.Helper()
	h, err := strconv.ParseUint(r.header.Get("X-Deimos-Index"), 10, 64)
	require.NoError(t, err, r.body)
	return h
}

// raceLoad runs writers that each write perWriter times under /race on node 0 and,
// meanwhile, watchers on node 0 that keep asking for the write before the latest one, so
// they are answered from history while that write may still be between its apply and
// its headers. It returns every write's ack.
func raceLoad(t *testing.T, c *deimostest.Cluster, writers, perWriter, watchers int) []ack {
	cl := newClient(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < watchers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				next := c.Index() - 1 // the write before the latest: answered from history
				_, _ = cl.try(ctx, http.MethodGet, "/keys/race?wait=true&recursive=true&waitIndex="+utoa(next), nil)
			}
		}()
	}
	var mu sync.Mutex
	var acks []ack
	var ww sync.WaitGroup
	for w := 0; w < writers; w++ {
		ww.Add(1)
		go func() {
			defer ww.Done()
			for i := 0; i < perWriter; i++ {
				r, err := cl.try(context.Background(), http.MethodPut, "/keys/race/w"+strconv.Itoa(w),
					url.Values{"value": {strconv.Itoa(i)}})
				if !assert.NoError(t, err) {
					return
				}
				h, _ := strconv.ParseUint(r.header.Get("X-Deimos-Index"), 10, 64)
				var ev deimostest.Event
				_ = json.NewDecoder(strings.NewReader(r.body)).Decode(&ev)
				mu.Lock()
				acks = append(acks, ack{header: h, modified: ev.Node.ModifiedIndex})
				mu.Unlock()
			}
		}()
	}
	ww.Wait()
	cancel()
	wg.Wait()
	return acks
}

// The race provoked step by step: write A (index 7) is held in its window; meanwhile
// write B (8) on another node and write C (9) on A's node are applied; watches on A's node
// answered from history with A's and B's events then set them to 9, and A's answer says 9
// while B's, from the other node, keeps 8.
func TestWriteIndexRaceStepByStep(t *testing.T) {
	// The window only has to outlast a few loopback requests, made one after the other.
	c := deimostest.NewCluster(t, 2, deimostest.WithWriteIndexRaceWindow(500*time.Millisecond))
	cl := newClient(t, c)
	other := cl.at(c.Endpoints()[1])
	applied := func(i uint64) func() bool { return func() bool { return c.Index() == i } }
	a := cl.putAsync("/a", "1")
	require.Eventually(t, applied(7), 5*time.Second, time.Millisecond)
	b := other.putAsync("/b", "2")
	require.Eventually(t, applied(8), 5*time.Second, time.Millisecond)
	cc := cl.putAsync("/c", "3")
	require.Eventually(t, applied(9), 5*time.Second, time.Millisecond)
	// Each node has its own copy of an event: a history answer touches the answering node's
	// copy, and only the copy of the node that answered the write is read for its header.
	assert.Contains(t, cl.get("/b?wait=true&waitIndex=8").body, `"key":"/b"`, "node 0 touches its copy of B")
	assert.Contains(t, cl.get("/a?wait=true&waitIndex=7").body, `"key":"/a"`, "node 0 touches A")
	ra, rb, rc := <-a, <-b, <-cc
	assert.EqualValues(t, 9, headerIndex(t, ra), "A's header names C's index")
	assert.EqualValues(t, 7, ra.event(t).Node.ModifiedIndex, "the body keeps A's own index")
	assert.EqualValues(t, 8, headerIndex(t, rb), "B was answered by node 1, whose copy nobody touched")
	assert.EqualValues(t, 9, headerIndex(t, rc))
	assert.EqualValues(t, 1, c.WriteIndexRaces())
}

// checkAcks asserts what the race may and may not change: every write's body has its own
// index (all distinct, exactly the committed events under /race), and the header is that
// index or a later one; it returns how many headers were later.
func checkAcks(t *testing.T, c *deimostest.Cluster, acks []ack) int64 {
	t.Helper()
	var want []uint64
	for _, ev := range c.History("/race") {
		want = append(want, ev.Node.ModifiedIndex)
	}
	var got []uint64
	var later int64
	for _, a := range acks {
		got = append(got, a.modified)
		assert.GreaterOrEqual(t, a.header, a.modified)
		assert.LessOrEqual(t, a.header, c.Index())
		if a.header > a.modified {
			later++
		}
	}
	assert.ElementsMatch(t, want, got, "one body index per committed write")
	return later
}

// With concurrent history-answered watchers and the default window, writes report later
// indexes, and Cluster.WriteIndexRaces counts each one.
func TestWriteIndexRaceUnderLoad(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithWriteIndexRace())
	var acks []ack
	for round := 0; round < 5 && c.WriteIndexRaces() == 0; round++ {
		acks = append(acks, raceLoad(t, c, 4, 25, 4)...)
	}
	require.Positive(t, c.WriteIndexRaces(), "no race in %d writes", len(acks))
	assert.Equal(t, c.WriteIndexRaces(), checkAcks(t, c, acks))
	t.Logf("%d of %d writes raced", c.WriteIndexRaces(), len(acks))
}

// Without the option the same load never changes a header.
func TestNoWriteIndexRaceByDefault(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	acks := raceLoad(t, c, 4, 25, 4)
	assert.Zero(t, checkAcks(t, c, acks))
	assert.Zero(t, c.WriteIndexRaces())
}
