package main

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
)

// tryLock reports whether another client gets the lock at once (and then
// releases it).
func tryLock(t *testing.T, client *deimos.Client, key string) error {
	t.Helper()
	ctx := testContext(t)
	l := client.NewDistributedLock(key, "test")
	if err := l.TryLock(ctx); err != nil {
		return err
	}
	return l.Unlock(ctx)
}

// The command runs with the fencing token of the holder in its environment,
// while nobody else can take the lock; deimosctl exits with its status and
// the lock is free afterwards.
func TestLock_RunsCommandWithTokenAndReleases(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	l := start(t, c.Endpoints(), "lock", "/locks/job", "--ttl", "5s", "--",
		"sh", "-c", `echo "$DEIMOS_LOCK_KEY $DEIMOS_LOCK_TOKEN $DEIMOS_LOCK_ENTRY"; read line; echo "got $line"; exit 7`)

	fields := strings.Fields(l.out.next(t))
	require.Len(t, fields, 3)
	assert.Equal(t, "/locks/job", fields[0])
	token, err := strconv.ParseUint(fields[1], 10, 64)
	require.NoError(t, err)
	holder, err := client.NewDistributedLock("/locks/job", "test").Holder(testContext(t))
	require.NoError(t, err)
	assert.Equal(t, holder.CreatedIndex, token, "the token is the holder's createdIndex")
	assert.Equal(t, holder.Key, fields[2])
	assert.ErrorIs(t, tryLock(t, client, "/locks/job"), deimos.ErrLockAlreadyHeld, "held while the command runs")

	_, err = l.stdin.Write([]byte("go\n"))
	require.NoError(t, err)
	assert.Equal(t, "got go", l.out.next(t))
	assert.Equal(t, 7, l.wait(t), "deimosctl exits with the command's status")
	assert.NoError(t, tryLock(t, client, "/locks/job"), "released after the command")
}

// SIGTERM reaches the command, which ends on its own terms; the lock is
// released once it has.
func TestLock_ForwardsSignalsToTheCommand(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	l := start(t, c.Endpoints(), "lock", "/locks/sig", "--",
		"sh", "-c", `trap 'echo "got TERM"; exit 3' TERM; sleep 30 & echo ready; wait $!`)
	require.Equal(t, "ready", l.out.next(t))

	l.signals <- syscall.SIGTERM
	assert.Equal(t, "got TERM", l.out.next(t))
	assert.Equal(t, 3, l.wait(t))
	assert.NoError(t, tryLock(t, client, "/locks/sig"))
}

// A command without its own handler dies of the signal: 128+15.
func TestLock_SignalledCommandExitsWith128PlusSignal(t *testing.T) {
	c := newCluster(t)
	l := start(t, c.Endpoints(), "lock", "/locks/kill", "--", "sh", "-c", `sleep 30 & echo ready; wait $!`)
	require.Equal(t, "ready", l.out.next(t))
	l.signals <- syscall.SIGTERM
	assert.Equal(t, 128+int(syscall.SIGTERM), l.wait(t))
}

// Someone deletes the holder's entry: the command is stopped and deimosctl
// exits 1, saying the lock was lost.
func TestLock_LostLockStopsTheCommand(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	l := start(t, c.Endpoints(), "lock", "/locks/lost", "--", "sh", "-c", `sleep 30 & echo "$DEIMOS_LOCK_ENTRY"; wait $!`)
	entry := l.out.next(t)
	_, err := client.Delete(testContext(t), entry)
	require.NoError(t, err)
	assert.Equal(t, exitError, l.wait(t))
	assert.Contains(t, l.stderr.all(), "the lock was lost while the command ran")
}

// --timeout bounds the wait for a lock someone else holds: exit 1, and the
// command never ran.
func TestLock_TimeoutWhileHeldElsewhere(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	other := client.NewDistributedLock("/locks/busy", "other")
	require.NoError(t, other.Lock(testContext(t)))
	defer other.Unlock(context.Background())

	r := ctl(t, c.Endpoints(), "lock", "/locks/busy", "--timeout", "300ms", "--", "sh", "-c", "echo ran")
	requireCode(t, exitError, r)
	assert.Empty(t, r.stdout, "the command did not run")
	assert.Contains(t, r.stderr, "not acquired within 300ms")
}

// Interrupted while waiting: exit 1, the command never ran, and the waiter
// left the queue (the next contender is not stuck behind it).
func TestLock_InterruptedWhileWaiting(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	other := client.NewDistributedLock("/locks/wait", "other")
	require.NoError(t, other.Lock(testContext(t)))

	l := start(t, c.Endpoints(), "lock", "/locks/wait", "--", "sh", "-c", "echo ran")
	require.Eventually(t, func() bool {
		resp, err := client.Get(testContext(t), "/locks/wait")
		return err == nil && len(resp.Node.Nodes) == 2
	}, waitLong, 5*time.Millisecond, "deimosctl queued")
	l.signals <- syscall.SIGINT
	assert.Equal(t, exitError, l.wait(t))
	assert.Contains(t, l.stderr.all(), "interrupted while waiting for the lock")
	assert.Empty(t, l.out.all())
	require.NoError(t, other.Unlock(testContext(t)))
	assert.NoError(t, tryLock(t, client, "/locks/wait"))
}

func TestLock_CommandNotFound(t *testing.T) {
	c := newCluster(t)
	r := ctl(t, c.Endpoints(), "lock", "/locks/nf", "--", "deimosctl-no-such-command")
	requireCode(t, exitNoCommand, r)
	assert.Contains(t, r.stderr, "cannot run deimosctl-no-such-command")
	assert.NoError(t, tryLock(t, sdk(t, c), "/locks/nf"), "released when the command could not start")
}
