// Command lock_advanced shows what TTLs, renewal and fencing tokens are for:
// a renewed lock outlives its TTL, an unrenewed one is lost (and the holder
// is told), and a crashed holder is replaced after about one TTL while the
// protected resource rejects the late writes of the old holder by their
// fencing token. It exits with status 1 if anything misbehaves.
//
//	go run ./examples/lock_advanced
//
// It talks to the cluster in DEIMOS_ENDPOINTS when set, otherwise to a
// 3-node cluster it starts in-process. It takes about ten seconds.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/examples/internal/example"
)

func main() { example.Main(60*time.Second, "every step behaved as expected", run) }

const ttl = 2 * time.Second

func run(ctx context.Context, endpoints []string) error {
	var err error
	// Short TTLs need attempts well under a third of the TTL, so a hung node
	// costs a retry, not the lock.
	client := deimos.New(deimos.WithEndpoints(endpoints...), deimos.WithRequestTimeout(500*time.Millisecond))
	defer client.Close()
	key := example.Key("lock-advanced")

	// 1. Auto-renewal keeps the lock past its TTL.
	lock := client.NewDistributedLock(key, "worker-1",
		deimos.WithTTL(ttl), deimos.WithAutoRenewal(true), deimos.WithRenewalPeriod(500*time.Millisecond))
	if err := lock.Lock(ctx); err != nil {
		return err
	}
	select {
	case <-lock.Lost():
		return fmt.Errorf("a renewed lock was lost: %v", lock.Renew(ctx))
	case <-time.After(2 * ttl):
	}
	if err := example.Check(lock.IsHeld(), "the renewed lock is not held after two TTLs"); err != nil {
		return err
	}
	fmt.Printf("✓ held for %v with a %v TTL thanks to renewal\n", 2*ttl, ttl)

	// 2. Without renewal it expires, and the holder is told.
	lock.StopAutoRenewal()
	stopped := time.Now()
	select {
	case <-lock.Lost():
		fmt.Printf("✓ renewal stopped: lock lost after %v\n", time.Since(stopped).Round(100*time.Millisecond))
	case <-time.After(ttl + 2*time.Second):
		return errors.New("an unrenewed lock was not reported lost")
	}
	err = lock.Unlock(ctx)
	if err := example.Check(errors.Is(err, deimos.ErrLockLost), "Unlock after loss: want ErrLockLost, got %v", err); err != nil {
		return err
	}

	// 3. A holder crashes; the next one takes over after about one TTL and
	// the resource refuses the old holder's token.
	res := &resource{}
	crashed, err := concurrency.NewSession(client, concurrency.WithTTL(ttl))
	if err != nil {
		return err
	}
	old := concurrency.NewMutex(crashed, key, concurrency.WithOwner("crashing-worker"))
	if err := old.Lock(ctx); err != nil {
		return err
	}
	oldToken := old.FencingToken()
	if err := res.write(oldToken, "from the first holder"); err != nil {
		return err
	}
	s, err := concurrency.NewSession(client, concurrency.WithTTL(ttl))
	if err != nil {
		return err
	}
	defer s.Close()
	next := concurrency.NewMutex(s, key, concurrency.WithOwner("worker-2"))
	crashedAt := time.Now()
	crashed.Orphan() // stop refreshing without unlocking: a crash
	if err := next.Lock(ctx); err != nil {
		return err
	}
	took := time.Since(crashedAt)
	fmt.Printf("✓ worker-2 took over %v after the crash (TTL %v)\n", took.Round(100*time.Millisecond), ttl)
	if err := example.Check(took < ttl+2*time.Second, "takeover took %v", took); err != nil {
		return err
	}
	if err := res.write(next.FencingToken(), "from worker-2"); err != nil {
		return err
	}
	err = res.write(oldToken, "late write from the crashed holder")
	if err := example.Check(err != nil, "the resource accepted a stale fencing token"); err != nil {
		return err
	}
	fmt.Println("✓ resource refused the crashed holder:", err)
	return next.Unlock(ctx)
}

// resource accepts writes only with a fencing token above all it has seen.
type resource struct{ last uint64 }

func (r *resource) write(token uint64, what string) error {
	if token <= r.last {
		return fmt.Errorf("stale fencing token %d (seen %d): %q refused", token, r.last, what)
	}
	r.last = token
	return nil
}
