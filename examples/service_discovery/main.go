// Command service_discovery shows package discovery end to end: three
// instances of a small HTTP service register themselves, a client balances
// calls across them, one instance crashes (it stops answering and never
// deregisters) and is dropped, and one drains and leaves with no call
// failing. It checks each step and exits with status 1 if anything is not
// as expected.
//
//	go run ./examples/service_discovery
//
// It uses DEIMOS_ENDPOINTS (comma-separated http URLs) when set, otherwise a
// 3-node cluster started in-process, and registers under a fresh namespace.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/examples/internal/example"
)

func main() {
	example.Main(60*time.Second, "calls were balanced, the crashed instance was dropped, the drained one left with no failed call", run)
}

const (
	service = "greeter"
	ttl     = discovery.MinTTL // short, so the crash is noticed quickly
)

func run(ctx context.Context, endpoints []string) error {
	layout := discovery.JSONLayout(strings.TrimPrefix(example.Key("service-discovery"), "/"))
	var instances []*instance
	defer func() {
		for _, in := range instances {
			in.stop()
		}
	}()
	for _, id := range []string{"a", "b", "c"} {
		in, err := startInstance(ctx, endpoints, layout, id)
		if err != nil {
			return fmt.Errorf("instance %s: %w", id, err)
		}
		instances = append(instances, in)
	}
	cl, err := newCaller(ctx, endpoints, layout)
	if err != nil {
		return err
	}
	defer cl.close()

	steps := []struct {
		name string
		run  func(context.Context, *caller, []*instance) error
	}{
		{"balance", checkBalanced},
		{"crash", checkCrashDropped},
		{"drain", checkDrainedWithoutFailures},
	}
	for _, s := range steps {
		if err := s.run(ctx, cl, instances); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// checkBalanced makes 30 calls once every instance is visible: round robin
// gives each instance exactly 10, and none fails.
func checkBalanced(ctx context.Context, cl *caller, _ []*instance) error {
	if err := cl.waitFor(ctx, "three instances", func(s discovery.Snapshot) bool { return len(s.Up()) == 3 }); err != nil {
		return err
	}
	served := map[string]int{}
	for range 30 {
		id, err := cl.call(ctx)
		if err != nil {
			return err
		}
		served[id]++
	}
	fmt.Printf("client: 30 calls served by %v\n", served)
	return example.Check(served["a"] == 10 && served["b"] == 10 && served["c"] == 10, "unbalanced: %v", served)
}

// checkCrashDropped crashes c: its server stops and its registration is
// abandoned, as when a process is killed. Calls that reach it fail and get
// it ejected; the resolver drops it about a TTL after its last heartbeat.
func checkCrashDropped(ctx context.Context, cl *caller, instances []*instance) error {
	c := instances[2]
	c.crash()
	crashed := time.Now()
	fmt.Println("c: crashed (no deregistration)")
	failed := 0
	err := cl.waitWhileCalling(ctx, func(s discovery.Snapshot) bool {
		_, ok := s.Lookup("c")
		return !ok
	}, func(err error) { failed++ })
	if err != nil {
		return err
	}
	took := time.Since(crashed)
	fmt.Printf("client: c dropped %v after the crash (TTL %v); %d calls failed before the balancer ejected it\n",
		took.Round(time.Millisecond), ttl, failed)
	return errors.Join(
		example.Check(took < ttl+2*time.Second, "c dropped only after %v", took),
		example.Check(failed <= 2, "%d calls failed: ejection takes 2 errors", failed))
}

// checkDrainedWithoutFailures drains b, then deregisters it and only then
// stops its server: every call meanwhile succeeds, and once the client's
// resolver sees b draining no call goes to it.
func checkDrainedWithoutFailures(ctx context.Context, cl *caller, instances []*instance) error {
	b := instances[1]
	if err := b.reg.Drain(ctx); err != nil {
		return err
	}
	fmt.Println("b: draining")
	failed := 0
	onFail := func(error) { failed++ }
	if err := cl.waitWhileCalling(ctx, func(s discovery.Snapshot) bool {
		inst, ok := s.Lookup("b")
		return ok && inst.State == discovery.StateDraining && !cl.pickable("b")
	}, onFail); err != nil {
		return err
	}
	served := b.served.Load()
	for range 20 {
		if _, err := cl.call(ctx); err != nil {
			onFail(err)
		}
	}
	deregistered := time.Now()
	if err := b.reg.Deregister(ctx); err != nil {
		return err
	}
	if err := cl.waitWhileCalling(ctx, func(s discovery.Snapshot) bool {
		_, ok := s.Lookup("b")
		return !ok
	}, onFail); err != nil {
		return err
	}
	fmt.Printf("b: deregistered; gone from the client %v later (not after the TTL)\n", time.Since(deregistered).Round(time.Millisecond))
	b.stop()
	fmt.Printf("client: %d calls failed while b drained and left\n", failed)
	return errors.Join(
		example.Check(failed == 0, "%d calls failed", failed),
		example.Check(b.served.Load() == served, "b served %d calls after the client saw it draining", b.served.Load()-served))
}

// caller is the client side: a resolver and a round-robin balancer.
type caller struct {
	client   *deimos.Client
	resolver *discovery.Resolver
	balancer *discovery.Balancer
}

func newCaller(ctx context.Context, endpoints []string, layout discovery.Layout) (*caller, error) {
	client := deimos.New(deimos.WithEndpoints(endpoints...))
	r, err := discovery.NewResolver(ctx, client, service, discovery.WithLayout(layout))
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	b, err := discovery.NewBalancer(r, discovery.RoundRobin)
	if err != nil {
		r.Close()
		_ = client.Close()
		return nil, err
	}
	return &caller{client: client, resolver: r, balancer: b}, nil
}

func (c *caller) close() {
	c.balancer.Close()
	c.resolver.Close()
	_ = c.client.Close()
}

// call picks an instance and calls it, reporting the outcome to the
// balancer; it returns the ID that answered.
func (c *caller) call(ctx context.Context) (string, error) {
	inst, done, err := c.balancer.Pick(ctx)
	if err != nil {
		return "", err
	}
	id, err := greet(ctx, inst.Addr)
	done(err)
	return id, err
}

// pickable reports whether the balancer may pick the instance id now.
func (c *caller) pickable(id string) bool {
	for _, inst := range c.balancer.Pickable() {
		if inst.ID == id {
			return true
		}
	}
	return false
}

// waitFor waits until the resolver's snapshot satisfies cond.
func (c *caller) waitFor(ctx context.Context, what string, cond func(discovery.Snapshot) bool) error {
	if cond(c.resolver.Snapshot()) {
		return nil
	}
	for {
		select {
		case s := <-c.resolver.Updates():
			if cond(s) {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// waitWhileCalling keeps calling the service, every 20 ms, until the
// resolver's snapshot satisfies cond; failed calls go to onFail.
func (c *caller) waitWhileCalling(ctx context.Context, cond func(discovery.Snapshot) bool, onFail func(error)) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond(c.resolver.Snapshot()) {
		if _, err := c.call(ctx); err != nil {
			if errors.Is(err, discovery.ErrNoInstances) {
				return err
			}
			onFail(err)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
