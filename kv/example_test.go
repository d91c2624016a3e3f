package kv_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// exampleKV starts an in-process cluster for an example; real programs use
// deimos.New(deimos.WithEndpoints(...)).KV().
func exampleKV() (*kv.KV, func()) {
	cluster, err := deimostest.StartCluster(3)
	if err != nil {
		log.Fatal(err)
	}
	client := deimos.New(deimos.WithEndpoints(cluster.Endpoints()...))
	return client.KV(), func() {
		_ = client.Close()
		cluster.Close()
	}
}

func ExampleKV_Create() {
	k, stop := exampleKV()
	defer stop()
	ctx := context.Background()

	if _, err := k.Create(ctx, "/jobs/42", "pending", kv.WithTTL(time.Minute)); err != nil {
		log.Fatal(err)
	}
	_, err := k.Create(ctx, "/jobs/42", "again")
	fmt.Println(errors.Is(err, kv.ErrNodeExist))
	// Output: true
}

func ExampleKV_CompareAndSwap() {
	k, stop := exampleKV()
	defer stop()
	ctx := context.Background()

	resp, err := k.Set(ctx, "/config/mode", "blue")
	if err != nil {
		log.Fatal(err)
	}
	// Swap only if nobody changed the key since we read it.
	swapped, err := k.CompareAndSwap(ctx, "/config/mode", "green", kv.WithPrevIndex(resp.Node.ModifiedIndex))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(swapped.Action, swapped.PrevNode.Value, "->", swapped.Node.Value)

	_, err = k.CompareAndSwap(ctx, "/config/mode", "red", kv.WithPrevValue("blue"))
	fmt.Println(errors.Is(err, kv.ErrTestFailed))
	// Output:
	// compareAndSwap blue -> green
	// true
}

func ExampleKV_Get() {
	k, stop := exampleKV()
	defer stop()
	ctx := context.Background()

	for _, key := range []string{"/app/b", "/app/a", "/app/sub/c"} {
		if _, err := k.Set(ctx, key, "v"); err != nil {
			log.Fatal(err)
		}
	}
	resp, err := k.Get(ctx, "/app", kv.WithRecursive(), kv.WithSorted())
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range resp.Node.Nodes {
		fmt.Println(n.Key, n.Dir, len(n.Nodes))
	}
	_, err = k.Get(ctx, "/app/missing")
	fmt.Println(errors.Is(err, kv.ErrKeyNotFound))
	// Output:
	// /app/a false 0
	// /app/b false 0
	// /app/sub true 1
	// true
}

func ExampleKV_Delete() {
	k, stop := exampleKV()
	defer stop()
	ctx := context.Background()

	if _, err := k.Set(ctx, "/tmp/x", "1"); err != nil {
		log.Fatal(err)
	}
	_, err := k.Delete(ctx, "/tmp")
	fmt.Println(errors.Is(err, kv.ErrNotFile))
	resp, err := k.Delete(ctx, "/tmp", kv.WithRecursive())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Action, resp.Node.Key)
	// Output:
	// true
	// delete /tmp
}

func ExampleKV_CreateInOrder() {
	k, stop := exampleKV()
	defer stop()
	ctx := context.Background()

	for _, job := range []string{"first", "second", "third"} {
		if _, err := k.CreateInOrder(ctx, "/queue", job); err != nil {
			log.Fatal(err)
		}
	}
	resp, err := k.List(ctx, "/queue", kv.WithNumericOrder())
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range resp.Node.Nodes {
		fmt.Println(n.Value)
	}
	// Output:
	// first
	// second
	// third
}

func ExampleCleanKey() {
	for _, key := range []string{"config//db/", "/a b/?", "/a/../b"} {
		clean, err := kv.CleanKey(key)
		if err != nil {
			fmt.Println("invalid:", errors.Is(err, kv.ErrInvalidKey))
			continue
		}
		fmt.Println(clean, kv.KeyPath(clean))
	}
	// Output:
	// /config/db /keys/config/db
	// /a b/? /keys/a%20b/%3F
	// invalid: true
}

func ExampleTyped_Update() {
	k, stop := exampleKV()
	defer stop()
	ctx := context.Background()

	type stats struct{ Visits int }
	pages := kv.NewTyped[stats](k, nil)
	for range 3 {
		// Safe under concurrent writers: a compare-and-swap loop.
		if _, err := pages.Update(ctx, "/stats/home", func(old stats) (stats, error) {
			old.Visits++
			return old, nil
		}); err != nil {
			log.Fatal(err)
		}
	}
	e, err := pages.Get(ctx, "/stats/home")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Value.Visits)
	// Output: 3
}
