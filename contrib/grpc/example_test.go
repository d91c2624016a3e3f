package deimosgrpc_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	deimos "github.com/marsevilspirit/deimos-client"
	deimosgrpc "github.com/marsevilspirit/deimos-client/contrib/grpc"
	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func ExampleNewBuilder() {
	// An in-process Deimos cluster and one gRPC server registered on it.
	cluster, err := deimostest.StartCluster(3)
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	client := deimos.New(deimos.WithEndpoints(cluster.Endpoints()...))
	defer client.Close()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	inst := discovery.Instance{Service: "greeter", ID: "greeter-1", Addr: lis.Addr().String()}
	key, _ := discovery.DefaultLayout().Key(inst)
	value, _ := discovery.DefaultLayout().Encode(inst)
	if _, err := client.Set(context.Background(), key, value, deimos.WithTTL(15*time.Second)); err != nil {
		log.Fatal(err)
	}

	// The client finds it through the registry.
	conn, err := grpc.NewClient("deimos:///greeter",
		grpc.WithResolvers(deimosgrpc.NewBuilder(client)),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.GetStatus())
	// Output: SERVING
}
