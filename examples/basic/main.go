// Command basic walks through the key-value API of the Deimos client and
// checks every answer; it exits with status 1 if anything is not as expected.
//
//	go run ./examples/basic
//
// It talks to the cluster in DEIMOS_ENDPOINTS (comma-separated URLs) when
// set, otherwise to a 3-node cluster it starts in-process. On a real cluster
// it works under a fresh /examples/basic-<time> directory and removes it.
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/examples/internal/example"
	"github.com/marsevilspirit/deimos-client/kv"
)

func main() { example.Main(30*time.Second, "every step behaved as expected", run) }

func run(ctx context.Context, endpoints []string) error {
	client, err := deimos.Connect(ctx, deimos.WithEndpoints(endpoints...))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer client.Close()
	for _, ep := range client.Endpoints() {
		fmt.Printf("endpoint %s (%s)\n", ep.URL, ep.State)
	}

	root := "/examples/basic-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	defer func() {
		cleanup, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = client.Delete(cleanup, root, deimos.WithRecursive())
	}()
	steps := []struct {
		name string
		run  func(context.Context, *deimos.Client, string) error
	}{
		{"set, get, delete", setGetDelete},
		{"create and compare-and-swap", createAndCAS},
		{"TTL", ttl},
		{"directories", directories},
		{"in-order keys", inOrder},
		{"typed values", typed},
	}
	for _, s := range steps {
		if err := s.run(ctx, client, root); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Println("ok  ", s.name)
	}
	return nil
}

func setGetDelete(ctx context.Context, c *deimos.Client, root string) error {
	key := root + "/greeting"
	set, err := c.Set(ctx, key, "hello")
	if err != nil {
		return err
	}
	if err := example.Check(set.Action == deimos.ActionSet && set.Node.Value == "hello", "set answered %+v", set); err != nil {
		return err
	}
	got, err := c.Get(ctx, key)
	if err != nil {
		return err
	}
	if err := example.Check(got.Node.Value == "hello" && got.Index >= set.Index, "get answered %+v", got); err != nil {
		return err
	}
	if _, err := c.Delete(ctx, key); err != nil {
		return err
	}
	_, err = c.Get(ctx, key)
	return example.Check(errors.Is(err, deimos.ErrKeyNotFound), "get after delete: %v", err)
}

func createAndCAS(ctx context.Context, c *deimos.Client, root string) error {
	k := c.KV()
	key := root + "/leader"
	created, err := k.Create(ctx, key, "node-1")
	if err != nil {
		return err
	}
	_, err = k.Create(ctx, key, "node-2")
	if err := example.Check(errors.Is(err, deimos.ErrNodeExist), "second create: %v", err); err != nil {
		return err
	}
	_, err = k.CompareAndSwap(ctx, key, "node-2", kv.WithPrevValue("node-9"))
	if err := example.Check(errors.Is(err, deimos.ErrTestFailed), "CAS on a wrong value: %v", err); err != nil {
		return err
	}
	swapped, err := k.CompareAndSwap(ctx, key, "node-2", kv.WithPrevIndex(created.Node.ModifiedIndex))
	if err != nil {
		return err
	}
	if err := example.Check(swapped.PrevNode.Value == "node-1" && swapped.Node.Value == "node-2", "CAS answered %+v", swapped); err != nil {
		return err
	}
	_, err = k.CompareAndDelete(ctx, key, kv.WithPrevValue("node-2"))
	return err
}

func ttl(ctx context.Context, c *deimos.Client, root string) error {
	key := root + "/session"
	resp, err := c.Key(key).TTL(30*time.Second).Set(ctx, "alive")
	if err != nil {
		return err
	}
	if err := example.Check(resp.Node.Expiration != nil && resp.Node.TTL > 0 && resp.Node.TTL <= 30, "TTL answered %+v", resp.Node); err != nil {
		return err
	}
	_, err = c.Set(ctx, key, "alive", deimos.WithTTL(time.Millisecond))
	return example.Check(errors.Is(err, deimos.ErrInvalidTTL), "a 1 ms TTL must be refused: %v", err)
}

func directories(ctx context.Context, c *deimos.Client, root string) error {
	dir := root + "/config"
	if _, err := c.KV().Mkdir(ctx, dir); err != nil {
		return err
	}
	for _, k := range []string{"b", "a", "sub/c"} {
		if _, err := c.Set(ctx, dir+"/"+k, k); err != nil {
			return err
		}
	}
	tree, err := c.Get(ctx, dir, deimos.WithRecursive(), deimos.WithSorted())
	if err != nil {
		return err
	}
	n := tree.Node.Nodes
	if err := example.Check(len(n) == 3 && n[0].Key == dir+"/a" && n[2].Dir && len(n[2].Nodes) == 1, "tree answered %v", tree.Node); err != nil {
		return err
	}
	_, err = c.Delete(ctx, dir, deimos.WithDir())
	if err := example.Check(errors.Is(err, deimos.ErrDirNotEmpty), "deleting a non-empty dir: %v", err); err != nil {
		return err
	}
	_, err = c.Delete(ctx, dir, deimos.WithRecursive())
	return err
}

func inOrder(ctx context.Context, c *deimos.Client, root string) error {
	queue := root + "/queue"
	jobs := []string{"first", "second", "third"}
	for _, j := range jobs {
		if _, err := c.KV().CreateInOrder(ctx, queue, j); err != nil {
			return err
		}
	}
	list, err := c.KV().List(ctx, queue, kv.WithNumericOrder())
	if err != nil {
		return err
	}
	if err := example.Check(len(list.Node.Nodes) == len(jobs), "queue holds %v", list.Node); err != nil {
		return err
	}
	for i, n := range list.Node.Nodes {
		if err := example.Check(n.Value == jobs[i], "queue position %d holds %q", i, n.Value); err != nil {
			return err
		}
	}
	return nil
}

func typed(ctx context.Context, c *deimos.Client, root string) error {
	type counter struct{ N int }
	counters := kv.NewTyped[counter](c.KV(), nil)
	key := root + "/visits"
	for range 5 {
		if _, err := counters.Update(ctx, key, func(old counter) (counter, error) {
			old.N++
			return old, nil
		}); err != nil {
			return err
		}
	}
	got, err := counters.Get(ctx, key)
	if err != nil {
		return err
	}
	return example.Check(got.Value.N == 5, "counter is %d, want 5", got.Value.N)
}
