package deimos_test

// The "Distributed Locking" section of the original README, snippet by
// snippet, kept verbatim except that its sleeps (2 s and 60 s of pretend
// work) read the variables below, so the tests stay fast; each snippet is
// run against an in-process cluster and its printed outcome checked.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

var (
	readmeWork     = 2 * time.Second  // the README's time.Sleep(2 * time.Second)
	readmeLongWork = 60 * time.Second // the README's time.Sleep(60 * time.Second)
)

// readmeBasicLockMain is "Basic Lock Usage", whose main builds its own
// client on the README's addresses.
func readmeBasicLockMain() {
	client := deimos.NewClient([]string{"http://127.0.0.1:4001", "http://127.0.0.1:4002", "http://127.0.0.1:4003"})
	ctx := context.Background()

	// Create a distributed lock
	lock := client.NewDistributedLock("/locks/my-resource", "node-123")

	// Acquire the lock
	if err := lock.Lock(ctx); err != nil {
		log.Fatalf("Failed to acquire lock: %v", err)
	}
	fmt.Println("✓ Lock acquired successfully")

	// Perform critical section work
	fmt.Println("Performing critical operations...")
	time.Sleep(readmeWork)

	// Release the lock
	if err := lock.Unlock(ctx); err != nil {
		log.Fatalf("Failed to release lock: %v", err)
	}
	fmt.Println("✓ Lock released successfully")
}

func readmeAdvancedLock(ctx context.Context, client *deimos.Client) {
	// Create a lock with custom TTL and auto-renewal
	lock := client.NewDistributedLock("/locks/my-resource", "node-123",
		deimos.WithTTL(30*time.Second),           // Lock expires after 30 seconds
		deimos.WithAutoRenewal(true),             // Enable automatic renewal
		deimos.WithRenewalPeriod(10*time.Second), // Renew every 10 seconds
	)

	// Acquire lock and start auto-renewal
	if err := lock.Lock(ctx); err != nil {
		log.Fatalf("Failed to acquire lock: %v", err)
	}

	// Start automatic renewal (keeps the lock alive)
	lock.StartAutoRenewal(ctx, 10*time.Second)

	// Perform long-running work
	time.Sleep(readmeLongWork) // Lock will be automatically renewed

	// Stop auto-renewal and release lock
	lock.StopAutoRenewal()
	lock.Unlock(ctx)
}

func readmeTryLock(ctx context.Context, client *deimos.Client) {
	// Try to acquire lock without blocking
	lock := client.NewDistributedLock("/locks/my-resource", "node-123")

	if err := lock.TryLock(ctx); err != nil {
		fmt.Printf("Could not acquire lock immediately: %v\n", err)
		return
	}

	fmt.Println("Lock acquired immediately!")
	defer lock.Unlock(ctx)

	// Perform work...
}

func readmeWithLock(ctx context.Context, client *deimos.Client) {
	// Execute code within a lock using the convenient WithLock method
	err := client.WithLock(ctx, "/locks/my-resource", "node-123", func() error {
		fmt.Println("Executing critical section...")
		time.Sleep(readmeWork)
		return nil
	})

	if err != nil {
		log.Fatalf("WithLock failed: %v", err)
	}
}

func readmeLockStatus(client *deimos.Client) {
	lock := client.NewDistributedLock("/locks/my-resource", "node-123")

	// Check if lock is currently held
	if lock.IsHeld() {
		fmt.Println("Lock is currently held by this client")
	}

	// Get detailed lock information
	info := lock.Info()
	fmt.Printf("Lock Info: Key=%s, Held=%v, TTL=%v, LastIndex=%d\n",
		info.Key, info.Held, info.TTL, info.LastIndex)
}

func readmeHandlingFailures(ctx context.Context, client *deimos.Client) {
	lock := client.NewDistributedLock("/locks/my-resource", "node-123",
		deimos.WithTTL(10*time.Second))

	if err := lock.Lock(ctx); err != nil {
		switch {
		case errors.Is(err, deimos.ErrLockTimeout):
			fmt.Println("Timeout waiting for lock")
		case errors.Is(err, deimos.ErrLockAlreadyHeld):
			fmt.Println("Lock is already held by another client")
		default:
			fmt.Printf("Unexpected error: %v\n", err)
		}
		return
	}

	defer func() {
		if err := lock.Unlock(ctx); err != nil {
			log.Printf("Failed to release lock: %v", err)
		}
	}()

	// Critical section...
}

func readmeMultipleLocks(ctx context.Context, client *deimos.Client) {
	// Acquire multiple locks in a specific order to avoid deadlocks
	locks := []*deimos.DistributedLock{
		client.NewDistributedLock("/locks/resource-a", "node-123"),
		client.NewDistributedLock("/locks/resource-b", "node-123"),
		client.NewDistributedLock("/locks/resource-c", "node-123"),
	}

	// Acquire all locks
	for i, lock := range locks {
		if err := lock.Lock(ctx); err != nil {
			// Release any previously acquired locks
			for j := i - 1; j >= 0; j-- {
				locks[j].Unlock(ctx)
			}
			log.Fatalf("Failed to acquire lock %d: %v", i, err)
		}
	}

	// Perform coordinated work with all resources
	fmt.Println("All locks acquired, performing coordinated work...")

	// Release all locks in reverse order
	for i := len(locks) - 1; i >= 0; i-- {
		locks[i].Unlock(ctx)
	}
}

// captureStdout runs fn and returns what it printed.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	stdout := os.Stdout
	r, w, err := os.Pipe()
	require.NoError(t, err)
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stdout = stdout }()
	fn()
	os.Stdout = stdout
	require.NoError(t, w.Close())
	return <-done
}

// shortWork shortens the README's pretend work for one test.
func shortWork(t *testing.T) {
	work, long := readmeWork, readmeLongWork
	readmeWork, readmeLongWork = 50*time.Millisecond, 200*time.Millisecond
	t.Cleanup(func() { readmeWork, readmeLongWork = work, long })
}

// queueLen counts the entries of a lock's queue.
func queueLen(t *testing.T, client *deimos.Client, key string) int {
	t.Helper()
	resp, err := client.KV().List(context.Background(), key)
	if errors.Is(err, deimos.ErrKeyNotFound) {
		return 0
	}
	require.NoError(t, err)
	return len(resp.Node.Nodes)
}

func TestREADME_LockSnippets(t *testing.T) {
	shortWork(t)
	c := deimostest.NewCluster(t, 3)
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...))
	defer client.Close()
	ctx := t.Context()

	readmeAdvancedLock(ctx, client)
	require.Zero(t, queueLen(t, client, "/locks/my-resource"), "advanced: released")

	require.Equal(t, "Lock acquired immediately!\n", captureStdout(t, func() { readmeTryLock(ctx, client) }))
	require.Zero(t, queueLen(t, client, "/locks/my-resource"), "try lock: released by the deferred Unlock")

	require.Equal(t, "Executing critical section...\n", captureStdout(t, func() { readmeWithLock(ctx, client) }))

	out := captureStdout(t, func() { readmeLockStatus(client) })
	require.Equal(t, "Lock Info: Key=/locks/my-resource, Held=false, TTL=15s, LastIndex=0\n", out)

	require.Empty(t, captureStdout(t, func() { readmeHandlingFailures(ctx, client) }), "free lock: taken and released silently")

	require.Equal(t, "All locks acquired, performing coordinated work...\n", captureStdout(t, func() { readmeMultipleLocks(ctx, client) }))
	for _, k := range []string{"/locks/resource-a", "/locks/resource-b", "/locks/resource-c"} {
		require.Zero(t, queueLen(t, client, k))
	}
}

func TestREADME_LockSnippetsWhileAnotherOwnerHolds(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...))
	defer client.Close()
	ctx := t.Context()
	other := client.NewDistributedLock("/locks/my-resource", "node-456")
	require.NoError(t, other.Lock(ctx))
	defer other.Unlock(ctx)

	out := captureStdout(t, func() { readmeTryLock(ctx, client) })
	require.Contains(t, out, "Could not acquire lock immediately: ")
	require.Contains(t, out, `"node-456"`, "the error names who holds it")

	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	require.Equal(t, "Timeout waiting for lock\n", captureStdout(t, func() { readmeHandlingFailures(tctx, client) }))
	require.Equal(t, 1, queueLen(t, client, "/locks/my-resource"), "the timed-out waiter left no entry")
}

// TestREADME_BasicLockUsage runs the README's main against a cluster on its
// own addresses, when they are free on this machine.
func TestREADME_BasicLockUsage(t *testing.T) {
	shortWork(t)
	c, err := deimostest.StartCluster(3, deimostest.WithBasePort(4001))
	if err != nil {
		t.Skipf("ports 4001-4003 are busy, Basic Lock Usage compiled but not run: %v", err)
	}
	defer c.Close()
	out := captureStdout(t, readmeBasicLockMain)
	require.Equal(t, "✓ Lock acquired successfully\nPerforming critical operations...\n✓ Lock released successfully\n", out)
}
