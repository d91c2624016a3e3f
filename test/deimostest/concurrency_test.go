package deimostest_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// TestConcurrentTrafficWithFaults hammers every node with writes, reads and watches while
// nodes stop, restart, pause and resume; run it with -race. The index must count exactly
// the writes that got an answer plus the ones whose outcome is unknown and were applied.
func TestConcurrentTrafficWithFaults(t *testing.T) {
	c := deimostest.NewCluster(t, 3, deimostest.WithStartIndex(0), deimostest.WithWatchTimeout(50*time.Millisecond))
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for w := 0; w < 6; w++ {
		cl := newClient(t, c).at(c.Endpoints()[w%3])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				r, err := cl.try(ctx, "PUT", "/keys/c/"+strconv.Itoa(w), vals("value", strconv.Itoa(i)))
				if err == nil && (r.status == 201 || r.status == 200) {
					mu.Lock()
					acked++
					mu.Unlock()
				}
				_, _ = cl.try(ctx, "GET", "/keys/c?recursive=true&sorted=true", nil)
				_, _ = cl.try(ctx, "GET", "/keys/c?wait=true&recursive=true", nil)
				cancel()
			}
		}()
	}
	for i := 0; i < 5; i++ {
		c.Node(1).Stop()
		require.NoError(t, c.Node(1).Start())
		c.Node(2).Pause()
		c.Node(2).Resume()
	}
	wg.Wait()
	assert.GreaterOrEqual(t, c.Index(), uint64(acked))
	assert.Len(t, c.History("/c"), int(c.Index())-len(c.History("/_deimos")))
}
