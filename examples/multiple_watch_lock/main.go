// Command multiple_watch_lock has several clients, each on its own
// connection to the cluster, contend for one lock key. Each waiter watches
// only the contender just ahead of it, so a release wakes exactly one
// client. It checks that no two clients are ever inside at once and that
// the lock is granted in queue order with growing fencing tokens, and exits
// with status 1 otherwise.
//
//	go run ./examples/multiple_watch_lock
//
// It talks to the cluster in DEIMOS_ENDPOINTS when set, otherwise to a
// 3-node cluster it starts in-process.
package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/examples/internal/example"
)

func main() { example.Main(60*time.Second, "every step behaved as expected", run) }

func run(ctx context.Context, endpoints []string) error {
	const clients, rounds = 5, 3
	key := example.Key("multiple-watch-lock")

	var (
		inside   atomic.Int32
		mu       sync.Mutex
		tokens   []uint64
		failures []error
		wg       sync.WaitGroup
	)
	for i := range clients {
		name := "client-" + strconv.Itoa(i+1)
		client := deimos.NewClient(endpoints)
		defer client.Close()
		lock := client.NewDistributedLock(key, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if err := lock.Lock(ctx); err != nil {
					mu.Lock()
					failures = append(failures, fmt.Errorf("%s: %w", name, err))
					mu.Unlock()
					return
				}
				if n := inside.Add(1); n != 1 {
					mu.Lock()
					failures = append(failures, fmt.Errorf("%s entered with %d inside", name, n-1))
					mu.Unlock()
				}
				mu.Lock()
				tokens = append(tokens, lock.FencingToken())
				mu.Unlock()
				fmt.Printf("  %s holds the lock (fencing token %d)\n", name, lock.FencingToken())
				time.Sleep(20 * time.Millisecond)
				inside.Add(-1)
				if err := lock.Unlock(ctx); err != nil {
					mu.Lock()
					failures = append(failures, fmt.Errorf("%s: unlock: %w", name, err))
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		return failures[0]
	}
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] {
			return fmt.Errorf("grant %d has fencing token %d after %d: not in queue order", i, tokens[i], tokens[i-1])
		}
	}
	return example.Check(len(tokens) == clients*rounds, "%d grants, want %d", len(tokens), clients*rounds)
}
