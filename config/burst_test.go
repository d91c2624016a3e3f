package config_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/config"
	"github.com/marsevilspirit/deimos-client/kv"
)

func TestOnChange_SerialAndInIndexOrderUnderABurst(t *testing.T) {
	const writes = 200
	cl := newCluster(t)
	c := newClient(t, cl.Endpoints()...)
	v, err := config.Watch(t.Context(), c, "/cfg/seq", config.WithCodec[string](kv.StringCodec{}), config.WithDefault("-1"))
	require.NoError(t, err)
	defer v.Close()

	var (
		running  atomic.Int32
		overlaps atomic.Int32
		mu       sync.Mutex
		seen     [][2]int
	)
	for range 2 { // two callbacks, to catch one running beside the other
		v.OnChange(func(old, new string) {
			if running.Add(1) != 1 {
				overlaps.Add(1)
			}
			defer running.Add(-1)
			o, _ := strconv.Atoi(old)
			n, _ := strconv.Atoi(new)
			mu.Lock()
			seen = append(seen, [2]int{o, n})
			mu.Unlock()
		})
	}

	writer := newClient(t, cl.Endpoints()...)
	for i := range writes {
		putRaw(t, writer, "/cfg/seq", strconv.Itoa(i))
		putRaw(t, writer, "/cfg/seq", strconv.Itoa(i)) // the same bytes again: no change
	}

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0 && seen[len(seen)-1][1] == writes-1
	}, eventually, tick)
	assert.Equal(t, strconv.Itoa(writes-1), v.Load())
	assert.Zero(t, overlaps.Load(), "callbacks never run concurrently")

	mu.Lock()
	defer mu.Unlock()
	// Each callback sees the same sequence; check the first one's.
	var mine [][2]int
	for i := 0; i < len(seen); i += 2 {
		mine = append(mine, seen[i])
		assert.Equal(t, seen[i], seen[i+1], "both callbacks get each change, one after the other")
	}
	prev := -1
	for _, ch := range mine {
		assert.Equal(t, prev, ch[0], "old is the value of the previous call")
		assert.Greater(t, ch[1], ch[0], "a real change, in index order")
		prev = ch[1]
	}
	t.Logf("%d writes delivered as %d changes", writes, len(mine))
}
