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

// A write whose answer is lost may or may not have been applied. The client
// says so with ErrUnknownOutcome instead of guessing; the caller re-reads, or
// repeats the write in a form that cannot apply twice (a create, a
// compare-and-swap).
func Example_unknownOutcome() {
	cluster, err := deimostest.StartCluster(1)
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	client := deimos.New(deimos.WithEndpoints(cluster.Endpoints()...))
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// The node applies the next PUT and then cuts the connection.
	cluster.Node(0).SetHook(deimostest.FailNext("PUT", "/keys/jobs", deimostest.FaultDropResponse, 1))

	_, err = client.KV().Create(ctx, "/jobs/42", "queued")
	fmt.Println("unknown outcome:", errors.Is(err, deimos.ErrUnknownOutcome))

	// Repeating the create is safe: it can never overwrite a value. Here it
	// finds that the first attempt was applied after all.
	_, err = client.KV().Create(ctx, "/jobs/42", "queued")
	fmt.Println("already created:", errors.Is(err, deimos.ErrNodeExist))
	resp, err := client.Get(ctx, "/jobs/42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Node.Value)
	// Output:
	// unknown outcome: true
	// already created: true
	// queued
}
