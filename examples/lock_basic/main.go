// Command lock_basic shows the basic life of a distributed lock: acquire,
// see another client fail to take it, release, and hand it over with a
// larger fencing token. It exits with status 1 if anything misbehaves.
//
//	go run ./examples/lock_basic
//
// It talks to the cluster in DEIMOS_ENDPOINTS when set, otherwise to a
// 3-node cluster it starts in-process.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/examples/internal/devcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("OK: the lock behaved as expected")
}

func run() error {
	endpoints, stop, err := devcluster.Endpoints()
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := deimos.NewClient(endpoints)
	defer alice.Close()
	bob := deimos.NewClient(endpoints)
	defer bob.Close()

	key := lockKey("lock-basic")
	a := alice.NewDistributedLock(key, "alice")
	b := bob.NewDistributedLock(key, "bob")

	if err := a.Lock(ctx); err != nil {
		return fmt.Errorf("alice: lock: %w", err)
	}
	fmt.Printf("✓ alice holds %s (fencing token %d)\n", key, a.FencingToken())

	err = b.TryLock(ctx)
	if err := check(errors.Is(err, deimos.ErrLockAlreadyHeld), "bob's TryLock: want ErrLockAlreadyHeld, got %v", err); err != nil {
		return err
	}
	fmt.Printf("✓ bob cannot take it: %v\n", err)
	holder, err := b.Holder(ctx)
	if err != nil {
		return err
	}
	if err := check(holder.Owner == "alice", "holder is %q, want alice", holder.Owner); err != nil {
		return err
	}
	fmt.Printf("✓ bob sees the holder: %s\n", holder.Owner)

	first := a.FencingToken()
	if err := a.Unlock(ctx); err != nil {
		return fmt.Errorf("alice: unlock: %w", err)
	}
	fmt.Println("✓ alice released it")
	if err := b.Lock(ctx); err != nil {
		return fmt.Errorf("bob: lock: %w", err)
	}
	if err := check(b.FencingToken() > first, "bob's fencing token %d is not above alice's %d", b.FencingToken(), first); err != nil {
		return err
	}
	fmt.Printf("✓ bob holds it now, fencing token %d > %d\n", b.FencingToken(), first)
	return b.Unlock(ctx)
}

// lockKey is a fresh key, so runs against a real cluster do not collide.
func lockKey(name string) string {
	return "/examples/" + name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

func check(ok bool, format string, args ...any) error {
	if !ok {
		return fmt.Errorf(format, args...)
	}
	return nil
}
