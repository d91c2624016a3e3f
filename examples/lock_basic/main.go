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
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/examples/internal/example"
)

func main() { example.Main(30*time.Second, "the lock behaved as expected", run) }

func run(ctx context.Context, endpoints []string) error {
	var err error
	alice := deimos.NewClient(endpoints)
	defer alice.Close()
	bob := deimos.NewClient(endpoints)
	defer bob.Close()

	key := example.Key("lock-basic")
	a := alice.NewDistributedLock(key, "alice")
	b := bob.NewDistributedLock(key, "bob")

	if err := a.Lock(ctx); err != nil {
		return fmt.Errorf("alice: lock: %w", err)
	}
	fmt.Printf("✓ alice holds %s (fencing token %d)\n", key, a.FencingToken())

	err = b.TryLock(ctx)
	if err := example.Check(errors.Is(err, deimos.ErrLockAlreadyHeld), "bob's TryLock: want ErrLockAlreadyHeld, got %v", err); err != nil {
		return err
	}
	fmt.Printf("✓ bob cannot take it: %v\n", err)
	holder, err := b.Holder(ctx)
	if err != nil {
		return err
	}
	if err := example.Check(holder.Owner == "alice", "holder is %q, want alice", holder.Owner); err != nil {
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
	if err := example.Check(b.FencingToken() > first, "bob's fencing token %d is not above alice's %d", b.FencingToken(), first); err != nil {
		return err
	}
	fmt.Printf("✓ bob holds it now, fencing token %d > %d\n", b.FencingToken(), first)
	return b.Unlock(ctx)
}
