package deimos_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

// What a real cluster does that a single shared store hides (docs/protocol.md
// §6.2, §13.2): the client must absorb it.

// A write answered while a history watch touched its event carries a later
// X-Deimos-Index; the client reports the write's own index all the same.
func TestSet_IndexIsTheWritesOwnUnderTheIndexRace(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithWriteIndexRace())
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...))
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// Watchers that are always answered from history: each asks for the
	// write just before the newest one.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, _ = client.KV().WaitEvent(ctx, "/race", max(c.Index(), 2)-1, true)
			}
		}()
	}
	defer wg.Wait()
	defer cancel()

	var raced atomic.Int64
	var mu sync.Mutex
	var bad []string
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < 500 && raced.Load() < 5; i++ {
				resp, err := client.Set(ctx, fmt.Sprintf("/race/%d", w), fmt.Sprint(i))
				if err != nil {
					continue
				}
				if resp.HeaderIndex > resp.Index {
					raced.Add(1)
				}
				if resp.Index != resp.Node.ModifiedIndex {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("index %d, node %d, header %d", resp.Index, resp.Node.ModifiedIndex, resp.HeaderIndex))
					mu.Unlock()
				}
			}
		}()
	}
	writers.Wait()
	require.Positive(t, raced.Load(), "the race was provoked (server count %d)", c.WriteIndexRaces())
	assert.Empty(t, bad, "every write reports its own index")
}

// A watch without a start index sent to a follower that has not applied the
// last write yet would be answered with that write on a real cluster. The
// client's watch first reads the start index and then asks for the event
// after it, so it only ever sees later writes.
func TestWatch_OnALaggingNodeStartsAfterTheLastWrite(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	for _, n := range c.Nodes()[1:] {
		n.SetWatchLag(300 * time.Millisecond)
	}
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...))
	t.Cleanup(func() { _ = client.Close() })
	ctx := t.Context()
	for i := range 10 {
		_, err := client.Set(ctx, "/lagged", fmt.Sprintf("before-%d", i))
		require.NoError(t, err)
		s, err := watch.Watch(ctx, client, "/lagged")
		require.NoError(t, err)
		after, err := client.Set(ctx, "/lagged", fmt.Sprintf("after-%d", i))
		require.NoError(t, err)
		select {
		case ev := <-s.Events():
			assert.Equal(t, fmt.Sprintf("after-%d", i), ev.Node.Value, "round %d", i)
			assert.Equal(t, after.Index, ev.Index())
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: no event: %v", i, s.Err())
		}
		s.Close()
	}
}

// The recipes never leave a watcher inside a directory that goes away, on any
// node, lag included: the cluster's cleanup fails the test on any crash hazard.
func TestRecipes_CreateNoCrashHazardOnALaggingCluster(t *testing.T) {
	c := deimostest.NewCluster(t, 3, deimostest.WithWatchLag(20*time.Millisecond))
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...))
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	cache, err := watch.NewCache(ctx, client, "/svc")
	require.NoError(t, err)
	defer cache.Close()

	var wg sync.WaitGroup
	var held atomic.Int32
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				err := client.WithLock(ctx, "/locks/job", fmt.Sprintf("w%d", w), func() error {
					if held.Add(1) != 1 {
						return errors.New("two holders")
					}
					defer held.Add(-1)
					_, err := client.Set(ctx, fmt.Sprintf("/svc/dir%d/inst", w), fmt.Sprint(i), deimos.WithTTL(time.Minute))
					return err
				})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	// Directories inside the cached prefix go away: the cache watches the
	// prefix itself, recursively, which a real node survives.
	for w := range 4 {
		_, err := client.Delete(ctx, fmt.Sprintf("/svc/dir%d", w), deimos.WithRecursive())
		require.NoError(t, err)
	}
	resp, err := client.Set(ctx, "/svc/last", "x")
	require.NoError(t, err)
	require.NoError(t, cache.WaitForIndex(ctx, resp.Index))
	nodes, _ := cache.List()
	var keys []string
	for _, n := range nodes {
		if !n.Dir {
			keys = append(keys, n.Key)
		}
	}
	assert.Equal(t, []string{"/svc/last"}, keys)
	assert.Empty(t, c.CrashHazards())
}
