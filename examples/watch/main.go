// Command watch shows configuration reloads with the Deimos client: a
// recursive watch that sees every change of a subtree in order, and a
// list-then-watch cache that mirrors it. It checks what it sees and exits
// with status 1 if anything is not as expected.
//
//	go run ./examples/watch
//
// It uses DEIMOS_ENDPOINTS (comma-separated URLs) when set, otherwise a
// 3-node cluster started in-process, and works under a fresh
// /examples/watch-<time> directory.
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/examples/internal/example"
	"github.com/marsevilspirit/deimos-client/watch"
)

func main() { example.Main(30*time.Second, "every change was seen once, in order", run) }

func run(ctx context.Context, endpoints []string) error {
	client, err := deimos.Connect(ctx, deimos.WithEndpoints(endpoints...))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer client.Close()

	root := "/examples/watch-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := followChanges(ctx, client, root+"/config"); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if err := mirrorWithCache(ctx, client, root+"/services"); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// followChanges watches a configuration directory the way a service that
// reloads its settings would, and checks that it sees each write in order.
func followChanges(ctx context.Context, client *deimos.Client, dir string) error {
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	changes := client.Watch(watchCtx, dir, deimos.WithRecursive())

	writes := []struct{ key, value string }{
		{dir + "/db/host", "10.0.0.7"},
		{dir + "/db/port", "5432"},
		{dir + "/db/host", "10.0.0.8"},
		{dir + "/feature/new-ui", "on"},
	}
	for _, w := range writes {
		if _, err := client.Set(ctx, w.key, w.value); err != nil {
			return err
		}
	}
	for i, w := range writes {
		select {
		case resp, ok := <-changes:
			if !ok {
				return errors.New("the watch ended early")
			}
			if err := resp.Err(); err != nil {
				return fmt.Errorf("the watch ended: %w", err)
			}
			fmt.Printf("change %d: %s %s = %q\n", i+1, resp.Action, resp.Node.Key, resp.Node.Value)
			if resp.Node.Key != w.key || resp.Node.Value != w.value {
				return fmt.Errorf("change %d is %s=%q, want %s=%q", i+1, resp.Node.Key, resp.Node.Value, w.key, w.value)
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for change %d: %w", i+1, ctx.Err())
		}
	}
	return nil
}

// mirrorWithCache keeps a local copy of a service registry and reads its own
// writes through it.
func mirrorWithCache(ctx context.Context, client *deimos.Client, dir string) error {
	if _, err := client.Set(ctx, dir+"/api/1", "10.0.1.1:80", deimos.WithTTL(30*time.Second)); err != nil {
		return err
	}
	cache, err := watch.NewCache(ctx, client, dir)
	if err != nil {
		return err
	}
	defer cache.Close()

	resp, err := client.Set(ctx, dir+"/api/2", "10.0.1.2:80", deimos.WithTTL(30*time.Second))
	if err != nil {
		return err
	}
	if err := cache.WaitForIndex(ctx, resp.Index); err != nil {
		return err
	}
	nodes, index := cache.List()
	var instances []string
	for _, n := range nodes {
		if !n.Dir {
			instances = append(instances, n.Value)
		}
	}
	fmt.Printf("cache at index %d holds %v\n", index, instances)
	if len(instances) != 2 {
		return fmt.Errorf("cache holds %v, want both instances", instances)
	}
	return nil
}
