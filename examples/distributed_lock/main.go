// Command distributed_lock walks through the DistributedLock API of the
// README: Lock/Unlock, TryLock, WithLock, Info, a Lock that times out, and
// several locks taken in order. It exits with status 1 if anything
// misbehaves.
//
//	go run ./examples/distributed_lock
//
// It talks to the cluster in DEIMOS_ENDPOINTS when set, otherwise to a
// 3-node cluster it starts in-process. Lock directories are left in place:
// deleting a directory while keys inside it are watched crashes the real
// server (docs/protocol.md §12.7).
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/examples/internal/example"
)

func main() { example.Main(30*time.Second, "every step behaved as expected", run) }

func run(ctx context.Context, endpoints []string) error {
	var err error
	client := deimos.NewClient(endpoints)
	defer client.Close()
	other := deimos.NewClient(endpoints)
	defer other.Close()
	key := example.Key("distributed-lock")

	// Lock, Info, Unlock.
	lock := client.NewDistributedLock(key, "node-123", deimos.WithTTL(10*time.Second))
	if err := lock.Lock(ctx); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	info := lock.Info()
	fmt.Printf("✓ locked: Key=%s Held=%v TTL=%v LastIndex=%d FencingToken=%d\n", info.Key, info.Held, info.TTL, info.LastIndex, info.FencingToken)
	if err := example.Check(info.Held && info.TTL == 10*time.Second && info.LastIndex > 0, "unexpected info %+v", info); err != nil {
		return err
	}

	// Another owner: TryLock fails at once, Lock with a deadline times out.
	rival := other.NewDistributedLock(key, "node-456")
	err = rival.TryLock(ctx)
	if err := example.Check(errors.Is(err, deimos.ErrLockAlreadyHeld), "TryLock: want ErrLockAlreadyHeld, got %v", err); err != nil {
		return err
	}
	fmt.Println("✓ TryLock by node-456 failed:", err)
	tctx, tcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = rival.Lock(tctx)
	tcancel()
	if err := example.Check(errors.Is(err, deimos.ErrLockTimeout) && errors.Is(err, context.DeadlineExceeded), "Lock with a deadline: want ErrLockTimeout, got %v", err); err != nil {
		return err
	}
	fmt.Println("✓ Lock by node-456 timed out:", err)

	// Releasing hands the lock to the next waiter.
	got := make(chan error, 1)
	go func() { got <- rival.Lock(ctx) }()
	time.Sleep(100 * time.Millisecond) // let node-456 queue up (illustration only)
	if err := lock.Unlock(ctx); err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	if err := <-got; err != nil {
		return fmt.Errorf("node-456 lock after release: %w", err)
	}
	fmt.Printf("✓ node-456 got the lock on release, fencing token %d > %d\n", rival.FencingToken(), info.FencingToken)
	if err := example.Check(rival.FencingToken() > info.FencingToken, "fencing token did not grow"); err != nil {
		return err
	}
	if err := rival.Unlock(ctx); err != nil {
		return err
	}
	err = rival.Unlock(ctx)
	if err := example.Check(errors.Is(err, deimos.ErrLockNotHeld), "second Unlock: want ErrLockNotHeld, got %v", err); err != nil {
		return err
	}

	// WithLock runs a function under the lock.
	ran := false
	if err := client.WithLock(ctx, key, "node-123", func() error { ran = true; return nil }); err != nil {
		return fmt.Errorf("WithLock: %w", err)
	}
	if err := example.Check(ran, "WithLock did not run the function"); err != nil {
		return err
	}
	fmt.Println("✓ WithLock ran the critical section")

	// Several locks, always in the same order.
	locks := []*deimos.DistributedLock{
		client.NewDistributedLock(key+"-a", "node-123"),
		client.NewDistributedLock(key+"-b", "node-123"),
		client.NewDistributedLock(key+"-c", "node-123"),
	}
	for i, l := range locks {
		if err := l.Lock(ctx); err != nil {
			return fmt.Errorf("lock %d: %w", i, err)
		}
	}
	fmt.Println("✓ all three locks held")
	for i := len(locks) - 1; i >= 0; i-- {
		if err := locks[i].Unlock(ctx); err != nil {
			return fmt.Errorf("unlock %d: %w", i, err)
		}
	}
	return nil
}
