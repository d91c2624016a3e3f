package concurrency_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// exampleClient starts an in-process cluster for an example; real programs
// use deimos.New(deimos.WithEndpoints(...)).
func exampleClient() (*deimos.Client, func()) {
	cluster, err := deimostest.StartCluster(3)
	if err != nil {
		log.Fatal(err)
	}
	client := deimos.New(deimos.WithEndpoints(cluster.Endpoints()...))
	return client, func() {
		_ = client.Close()
		cluster.Close()
	}
}

func ExampleMutex() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	s, err := concurrency.NewSession(client, concurrency.WithTTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	m := concurrency.NewMutex(s, "/locks/orders", concurrency.WithOwner("worker-7"))
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	// Hand the fencing token to the protected resource with every write, so
	// it can refuse a holder that lost the lock without knowing.
	fmt.Println("held:", m.Held(), "token > 0:", m.FencingToken() > 0)
	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("held:", m.Held())
	// Output:
	// held: true token > 0: true
	// held: false
}

func ExampleDistributedLock_TryLock() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	a := concurrency.NewDistributedLock(client, "/locks/report", "node-a")
	b := concurrency.NewDistributedLock(client, "/locks/report", "node-b")
	if err := a.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	err := b.TryLock(ctx)
	fmt.Println(errors.Is(err, concurrency.ErrLockAlreadyHeld))
	holder, err := b.Holder(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("held by", holder.Owner)
	if err := a.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// true
	// held by node-a
}

func ExampleElection() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	s, err := concurrency.NewSession(client)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	e := concurrency.NewElection(s, "/elections/scheduler", concurrency.WithOwner("node-1"))
	if err := e.Campaign(ctx, "10.0.0.1:9000"); err != nil { // blocks until elected
		log.Fatal(err)
	}
	leader, err := e.Leader(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leader:", leader.Owner, leader.Value)
	if err := e.Resign(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = e.Leader(ctx)
	fmt.Println(errors.Is(err, concurrency.ErrNoLeader))
	// Output:
	// leader: node-1 10.0.0.1:9000
	// true
}

func ExampleSession_Claim() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	s, err := concurrency.NewSession(client, concurrency.WithTTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// Register this instance; if its key is ever lost (an outage longer than
	// the TTL), the session creates it again and says so on Events.
	reg, err := s.Claim(ctx, "/services/api/10.0.0.1:8080", "10.0.0.1:8080", concurrency.WithRecreate())
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for ev := range reg.Events() {
			_ = ev // log ev.Kind, ev.Err
		}
	}()
	resp, err := client.Get(ctx, "/services/api/10.0.0.1:8080")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Node.Value)
	if err := reg.Release(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: 10.0.0.1:8080
}

// A session owns the TTL keys of everything built on it and keeps them alive;
// Done tells when it ends and Err why.
func ExampleSession() {
	client, stop := exampleClient()
	defer stop()

	s, err := concurrency.NewSession(client, concurrency.WithTTL(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	select {
	case <-s.Done():
		log.Fatal("a new session has ended")
	default:
		fmt.Println("alive, TTL", s.TTL())
	}
	// Close deletes the session's keys (a crashed process leaves them to
	// their TTL instead).
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	<-s.Done()
	fmt.Println(errors.Is(s.Err(), concurrency.ErrSessionClosed))
	// Output:
	// alive, TTL 5s
	// true
}

// A semaphore lets at most permits contenders in at once.
func ExampleSemaphore() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	s, err := concurrency.NewSession(client)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	first := concurrency.NewSemaphore(s, "/sem/encoders", 2)
	second := concurrency.NewSemaphore(s, "/sem/encoders", 2)
	third := concurrency.NewSemaphore(s, "/sem/encoders", 2)
	for _, sem := range []*concurrency.Semaphore{first, second} {
		if err := sem.Acquire(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(errors.Is(third.TryAcquire(ctx), concurrency.ErrNoPermit))
	if err := first.Release(ctx); err != nil {
		log.Fatal(err)
	}
	if err := third.TryAcquire(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(second.Held(), third.Held())
	// Output:
	// true
	// true true
}
