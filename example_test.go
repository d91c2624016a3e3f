package deimos_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// exampleCluster starts an in-process cluster; real programs pass their
// cluster's URLs to WithEndpoints.
func exampleCluster() (endpoints []string, stop func()) {
	c, err := deimostest.StartCluster(3)
	if err != nil {
		log.Fatal(err)
	}
	return c.Endpoints(), c.Close
}

func Example() {
	endpoints, stop := exampleCluster()
	defer stop()

	client := deimos.New(deimos.WithEndpoints(endpoints...))
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if _, err := client.Set(ctx, "/greeting", "hello"); err != nil {
		log.Fatal(err)
	}
	resp, err := client.Get(ctx, "/greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Node.Value)
	if _, err := client.Delete(ctx, "/greeting"); err != nil {
		log.Fatal(err)
	}
	_, err = client.Get(ctx, "/greeting")
	fmt.Println(errors.Is(err, deimos.ErrKeyNotFound))
	// Output:
	// hello
	// true
}

func ExampleConnect() {
	endpoints, stop := exampleCluster()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Connect checks the options and reaches the cluster before returning.
	client, err := deimos.Connect(ctx, deimos.WithEndpoints(endpoints[0]), deimos.WithRequestTimeout(2*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	// The other members were learnt from the cluster.
	fmt.Println(len(client.Endpoints()))
	// Output: 3
}

func ExampleClient_Set() {
	endpoints, stop := exampleCluster()
	defer stop()
	client := deimos.NewClient(endpoints)
	defer client.Close()
	ctx := context.Background()

	resp, err := client.Set(ctx, "/session/42", "alive", deimos.WithTTL(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Action, resp.Node.TTL)

	// Conditional forms: create only if absent, swap only if unchanged.
	_, err = client.Set(ctx, "/session/42", "again", deimos.WithPrevExist(false))
	fmt.Println(errors.Is(err, deimos.ErrNodeExist))
	resp, err = client.Set(ctx, "/session/42", "renewed", deimos.WithPrevValue("alive"), deimos.WithTTL(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Action, resp.Node.Value)
	// Output:
	// set 30
	// true
	// compareAndSwap renewed
}

func ExampleClient_Key() {
	endpoints, stop := exampleCluster()
	defer stop()
	client := deimos.NewClient(endpoints)
	defer client.Close()
	ctx := context.Background()

	if _, err := client.Key("/config/db").TTL(30*time.Second).Set(ctx, "postgres://db:5432"); err != nil {
		log.Fatal(err)
	}
	resp, err := client.Key("/config").Recursive().Sorted().Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range resp.Node.Nodes {
		fmt.Println(n.Key, n.Value, n.TTL)
	}
	// Output: /config/db postgres://db:5432 30
}

func ExampleClient_Delete() {
	endpoints, stop := exampleCluster()
	defer stop()
	client := deimos.NewClient(endpoints)
	defer client.Close()
	ctx := context.Background()

	set, err := client.Set(ctx, "/lock", "owner-1")
	if err != nil {
		log.Fatal(err)
	}
	// Delete only if we still own it (compare-and-delete).
	_, err = client.Delete(ctx, "/lock", deimos.WithPrevValue("owner-2"))
	fmt.Println(errors.Is(err, deimos.ErrTestFailed))
	resp, err := client.Delete(ctx, "/lock", deimos.WithPrevIndex(set.Node.ModifiedIndex))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Action)
	// Output:
	// true
	// compareAndDelete
}
