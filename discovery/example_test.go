package discovery_test

import (
	"context"
	"fmt"
	"log"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// exampleCluster starts an in-process cluster with two instances of
// "payments" registered; real programs use deimos.New(deimos.WithEndpoints(...)).
func exampleCluster() (*deimos.Client, func()) {
	cluster, err := deimostest.StartCluster(3)
	if err != nil {
		log.Fatal(err)
	}
	client := deimos.New(deimos.WithEndpoints(cluster.Endpoints()...))
	layout := discovery.DefaultLayout()
	for _, inst := range []discovery.Instance{
		{Service: "payments", ID: "pay-1", Addr: "10.0.0.1:8080", Weight: 2},
		{Service: "payments", ID: "pay-2", Addr: "10.0.0.2:8080"},
	} {
		key, _ := layout.Key(inst)
		value, _ := layout.Encode(inst)
		if _, err := client.Set(context.Background(), key, value, deimos.WithTTL(15*time.Second)); err != nil {
			log.Fatal(err)
		}
	}
	return client, func() {
		_ = client.Close()
		cluster.Close()
	}
}

// until reads r's updates until cond holds.
func until(r *discovery.Resolver, cond func(discovery.Snapshot) bool) discovery.Snapshot {
	if s := r.Snapshot(); cond(s) {
		return s
	}
	for s := range r.Updates() {
		if cond(s) {
			return s
		}
	}
	return r.Snapshot()
}

func ExampleNewResolver() {
	client, stop := exampleCluster()
	defer stop()

	r, err := discovery.NewResolver(context.Background(), client, "payments")
	if err != nil {
		log.Fatal(err) // invalid input only: a cluster that is down starts it stale
	}
	defer r.Close()
	s := until(r, func(s discovery.Snapshot) bool { return !s.Stale })
	for _, inst := range s.Instances {
		fmt.Println(inst.ID, inst.Addr, inst.EffectiveWeight())
	}
	// Output:
	// pay-1 10.0.0.1:8080 2
	// pay-2 10.0.0.2:8080 1
}

func ExampleNewBalancer() {
	client, stop := exampleCluster()
	defer stop()
	r, err := discovery.NewResolver(context.Background(), client, "payments", discovery.WithRequireFirstList())
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	b, err := discovery.NewBalancer(r, discovery.WeightedRoundRobin)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	for range 6 {
		inst, done, err := b.Pick(context.Background())
		if err != nil {
			log.Fatal(err) // discovery.ErrNoInstances
		}
		fmt.Print(inst.ID, " ")
		done(nil) // or the call's error, which feeds outlier ejection
	}
	fmt.Println()
	// Output: pay-1 pay-2 pay-1 pay-1 pay-2 pay-1
}

func ExampleWithHashKey() {
	client, stop := exampleCluster()
	defer stop()
	r, err := discovery.NewResolver(context.Background(), client, "payments", discovery.WithRequireFirstList())
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	b, err := discovery.NewBalancer(r, discovery.ConsistentHash)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ctx := discovery.WithHashKey(context.Background(), "customer-42")
	first, done, _ := b.Pick(ctx)
	done(nil)
	again, done, _ := b.Pick(ctx)
	done(nil)
	fmt.Println(first.ID == again.ID)
	// Output: true
}

func ExamplePhobosLayout() {
	layout := discovery.PhobosLayout("/mrpc_example")
	inst := discovery.Instance{
		Service:  "HelloWorld",
		ID:       "tcp@localhost:30000",
		Addr:     "localhost:30000",
		Weight:   10,
		Metadata: map[string]string{"group": "a"},
	}
	key, _ := layout.Key(inst)
	value, _ := layout.Encode(inst)
	fmt.Println(key)
	fmt.Println(value)

	// What a Phobos server wrote reads back as an Instance.
	got, _ := layout.Decode(key, "weight=10&group=a&state=inactive")
	fmt.Println(got.Addr, got.Weight, got.Metadata["group"], got.State)
	// Output:
	// /mrpc_example/HelloWorld/tcp@localhost:30000
	// group=a&weight=10
	// localhost:30000 10 a draining
}
