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

func ExampleRegister() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	reg, err := discovery.Register(ctx, client, discovery.Instance{
		Service: "payments", ID: "node-1", Addr: "10.0.0.7:8080", Weight: 10,
	}, discovery.WithTTL(10*time.Second))
	if err != nil {
		log.Fatal(err) // discovery.ErrDuplicateInstance: the ID is taken
	}
	go func() {
		for st := range reg.StatusChanges() {
			_ = st // log st.Kind and st.Err: retrying during an outage, registered again after
		}
	}()
	fmt.Println(reg.Key(), reg.Status().Kind)

	// On shutdown: drain, let the change reach the resolvers, delete.
	if err := reg.Deregister(ctx); err != nil {
		log.Print(err) // the key then expires after its TTL
	}
	fmt.Println(reg.Status().Kind)
	// Output:
	// /deimos/services/payments/node-1 registered
	// stopped
}

func ExampleRegistration_Drain() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	reg, err := discovery.Register(ctx, client, discovery.Instance{Service: "payments", ID: "node-1", Addr: "10.0.0.7:8080"})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Deregister(ctx)
	r, err := discovery.NewResolver(ctx, client, "payments", discovery.WithRequireFirstList())
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	// Balancers stop picking the instance once their resolver sees it
	// draining; calls in flight finish.
	if err := reg.Drain(ctx); err != nil {
		log.Fatal(err)
	}
	for s := range r.Updates() {
		if inst, ok := s.Lookup("node-1"); ok && inst.State == discovery.StateDraining {
			fmt.Println("node-1 is", inst.State, "- picked by nobody:", len(s.Up()) == 0)
			break
		}
	}
	// Output: node-1 is draining - picked by nobody: true
}
