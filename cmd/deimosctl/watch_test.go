package main

import (
	"encoding/json"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// waitWatchers waits until the cluster holds n long polls, so a write that
// follows is seen live rather than from history. A new watch holds one on
// every node (it races for the node that delivers first), then one.
func waitWatchers(t *testing.T, c *deimostest.Cluster, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return c.Watchers() == n }, waitLong, 5*time.Millisecond, "watchers")
}

func TestWatch_TablePrintsEventsUntilSIGINT(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	ctx := testContext(t)
	w := start(t, c.Endpoints(), "watch", "/cfg", "--recursive")
	waitWatchers(t, c, len(c.Nodes()))

	_, err := client.Set(ctx, "/cfg/a", "1")
	require.NoError(t, err)
	assert.Equal(t, "7        set              /cfg/a = 1", w.out.next(t))
	_, err = client.Set(ctx, "/cfg/a", "two words", deimosPrevValue("1"))
	require.NoError(t, err)
	assert.Equal(t, `8        compareAndSwap   /cfg/a = two words (was 1)`, w.out.next(t))
	_, err = client.Delete(ctx, "/cfg/a")
	require.NoError(t, err)
	assert.Equal(t, `9        delete           /cfg/a (was two words)`, w.out.next(t))

	w.signals <- os.Interrupt
	assert.Equal(t, exitOK, w.wait(t), "interrupting a watch is its normal end")
	assert.Empty(t, w.stderr.all())
}

func TestWatch_JSONReplaysAfterIndexAndEndsOnSIGTERM(t *testing.T) {
	c := newCluster(t)
	ctx := testContext(t)
	client := sdk(t, c)
	for _, v := range []string{"a", "b", "c"} {
		_, err := client.Set(ctx, "/j", v)
		require.NoError(t, err)
	}
	w := start(t, c.Endpoints(), "-o", "json", "watch", "/j", "--after-index", "7")
	for _, want := range []struct {
		index      uint64
		value, was string
	}{{8, "b", "a"}, {9, "c", "b"}} {
		var ev jsonResult
		require.NoError(t, json.Unmarshal([]byte(w.out.next(t)), &ev))
		assert.Equal(t, "set", ev.Action)
		assert.Equal(t, want.index, ev.Index)
		assert.Equal(t, want.value, *ev.Node.Value)
		assert.Equal(t, want.was, *ev.PrevNode.Value)
	}
	w.signals <- syscall.SIGTERM
	assert.Equal(t, exitOK, w.wait(t))
}

// The events a watch needs left the server's history: it ends non-zero and
// says how to resume.
func TestWatch_HistoryClearedSaysHowToResume(t *testing.T) {
	c := newCluster(t, deimostest.WithStartIndex(5000))
	r := ctl(t, c.Endpoints(), "watch", "/h", "--after-index", "10")
	requireCode(t, exitError, r)
	assert.Contains(t, r.stderr, "deimosctl: watch /h: the events after index 10 have left the server's history")
	assert.Contains(t, r.stderr, "--after-index")
	assert.Contains(t, r.stderr, "deimosctl get --recursive /h -o json")
}

// A watch survives the restart of the node its long poll waits on: the
// event written while that node is down arrives (from another node), and
// the event after the restart arrives exactly once.
func TestWatch_OutlivesARestartOfItsNode(t *testing.T) {
	c := newCluster(t)
	ctx := testContext(t)
	client := sdk(t, c)
	var pollNode atomic.Int32 // the node that received the latest long poll
	for i, n := range c.Nodes() {
		n.SetHook(func(r deimostest.Request) deimostest.Fault {
			if r.Query.Get("wait") == "true" {
				pollNode.Store(int32(i))
			}
			return deimostest.FaultNone
		})
	}
	w := start(t, c.Endpoints(), "-o", "json", "watch", "/r", "--recursive")
	waitWatchers(t, c, len(c.Nodes()))
	_, err := client.Set(ctx, "/r/before", "1")
	require.NoError(t, err)
	requireEvent(t, w, "/r/before")

	waitWatchers(t, c, 1)
	node := c.Node(int(pollNode.Load()))
	node.Stop()
	_, err = client.Set(ctx, "/r/during", "2")
	require.NoError(t, err)
	requireEvent(t, w, "/r/during")
	require.NoError(t, node.Start())

	_, err = client.Set(ctx, "/r/after", "3")
	require.NoError(t, err)
	requireEvent(t, w, "/r/after")
	_, err = client.Set(ctx, "/r/last", "4")
	require.NoError(t, err)
	requireEvent(t, w, "/r/last") // not a second /r/after

	w.signals <- os.Interrupt
	require.Equal(t, exitOK, w.wait(t))
	assert.Len(t, strings.Split(strings.TrimSpace(w.out.all()), "\n"), 4, "every event exactly once")
}

func requireEvent(t *testing.T, w *running, key string) {
	t.Helper()
	var ev jsonResult
	line := w.out.next(t)
	require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
	require.Equal(t, key, ev.Node.Key, line)
}
