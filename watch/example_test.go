package watch_test

import (
	"context"
	"fmt"
	"log"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
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

func ExampleWatch() {
	client, stop := exampleClient()
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	s, err := watch.Watch(ctx, client, "/config", watch.WithRecursive())
	if err != nil {
		log.Fatal(err)
	}
	// Every write after Watch returned is delivered, in order.
	for _, v := range []string{"a", "b"} {
		if _, err := client.Set(ctx, "/config/mode", v); err != nil {
			log.Fatal(err)
		}
	}
	for range 2 {
		ev := <-s.Events()
		fmt.Println(ev.Action, ev.Node.Key, ev.Node.Value)
	}
	s.Close()
	fmt.Println("ended with error:", s.Err())
	// Output:
	// set /config/mode a
	// set /config/mode b
	// ended with error: <nil>
}

func ExampleEvents() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	first, err := client.Set(ctx, "/jobs/1", "queued")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.Set(ctx, "/jobs/1", "done"); err != nil {
		log.Fatal(err)
	}
	// Replay from just after the first write; leaving the loop stops the watch.
	for ev, err := range watch.Events(ctx, client, "/jobs", watch.WithRecursive(), watch.WithAfterIndex(first.Index)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Node.Key, ev.PrevNode.Value, "->", ev.Node.Value)
		break
	}
	// Output: /jobs/1 queued -> done
}

func ExampleNewCache() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	if _, err := client.Set(ctx, "/services/api/1", "10.0.0.1:80"); err != nil {
		log.Fatal(err)
	}
	cache, err := watch.NewCache(ctx, client, "/services")
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	resp, err := client.Set(ctx, "/services/api/2", "10.0.0.2:80")
	if err != nil {
		log.Fatal(err)
	}
	// Read your own write through the cache.
	if err := cache.WaitForIndex(ctx, resp.Index); err != nil {
		log.Fatal(err)
	}
	n, _ := cache.Get("/services/api/2")
	fmt.Println(n.Value)
	// Output: 10.0.0.2:80
}

// A cache made WithChanges reports each difference it applies, so a program
// can react to a service directory instead of polling it.
func ExampleCache_Changes() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	cache, err := watch.NewCache(ctx, client, "/services", watch.WithChanges(16))
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	if _, err := client.Set(ctx, "/services/api/1", "10.0.0.1:80"); err != nil {
		log.Fatal(err)
	}
	if _, err := client.Delete(ctx, "/services/api/1"); err != nil {
		log.Fatal(err)
	}
	var seen []string
	for ch := range cache.Changes() {
		if ch.Node != nil && ch.Node.Dir {
			continue // the implicit creation of /services/api
		}
		switch ch.Kind {
		case watch.Put:
			seen = append(seen, "put "+ch.Key+"="+ch.Node.Value)
		case watch.Delete:
			seen = append(seen, "delete "+ch.Key)
		}
		if len(seen) == 2 {
			break
		}
	}
	fmt.Println(seen[0])
	fmt.Println(seen[1])
	// Output:
	// put /services/api/1=10.0.0.1:80
	// delete /services/api/1
}
