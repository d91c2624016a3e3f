package config_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/config"
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

// ServerConfig is what a service reads from /config/api.
type ServerConfig struct {
	Addr     string `json:"addr"`
	MaxConns int    `json:"maxConns"`
}

func ExampleWatch() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()
	if _, err := client.Set(ctx, "/config/api", `{"maxConns":500}`); err != nil {
		log.Fatal(err)
	}

	v, err := config.Watch(ctx, client, "/config/api",
		config.WithDefault(ServerConfig{Addr: ":8080", MaxConns: 100}),
		config.WithValidate(func(c ServerConfig) error {
			if c.MaxConns <= 0 {
				return errors.New("maxConns must be positive")
			}
			return nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	// Load never blocks; fields the stored JSON leaves out keep the default.
	fmt.Printf("%+v\n", v.Load())
	// Output:
	// {Addr::8080 MaxConns:500}
}

func ExampleValue_OnChange() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	v, err := config.Watch(ctx, client, "/config/api", config.WithDefault(ServerConfig{MaxConns: 100}))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	changes := make(chan ServerConfig, 1)
	v.OnChange(func(old, new ServerConfig) {
		fmt.Println("maxConns:", old.MaxConns, "->", new.MaxConns)
		changes <- new
	})
	set := func(s string) {
		if _, err := client.Set(ctx, "/config/api", s); err != nil {
			log.Fatal(err)
		}
	}

	set(`{"maxConns":200}`)
	<-changes
	set(`{"maxConns": 200}`) // the same value: no call
	set(`{"maxConns":-1`)    // does not decode: rejected, 200 is kept
	set(`{"maxConns":300}`)
	<-changes
	// Output:
	// maxConns: 100 -> 200
	// maxConns: 200 -> 300
}

func ExampleValue_Snapshot() {
	client, stop := exampleClient()
	defer stop()
	ctx := context.Background()
	if _, err := client.Set(ctx, "/config/api", "garbage"); err != nil {
		log.Fatal(err)
	}

	v, err := config.Watch(ctx, client, "/config/api", config.WithDefault(ServerConfig{MaxConns: 100}))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	s := v.Snapshot()
	var bad *config.InvalidValueError
	fmt.Println("serving:", s.Value.MaxConns, "stale:", s.Stale)
	fmt.Println("rejected:", errors.As(s.Err, &bad), bad.Key)
	// Output:
	// serving: 100 stale: false
	// rejected: true /config/api
}
