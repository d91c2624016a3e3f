package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"
	"sync"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// PhobosPlugin is the registry plugin a Phobos server needs to register on
// Deimos: Phobos calls Register once per service with its metadata string,
// and the plugin's Close from Server.RegisterOnShutdown.
type PhobosPlugin struct {
	Client      *deimos.Client
	BasePath    string // e.g. "/mrpc_example"
	ServiceAddr string // "network@address", e.g. "tcp@localhost:30000"

	mu   sync.Mutex
	regs []*discovery.Registration
}

// Register is Phobos's plugin hook: the key and value are exactly those of
// Phobos's etcd plugin, so Phobos clients and Deimos resolvers both read
// them.
func (p *PhobosPlugin) Register(name string, _ any, metadata string) error {
	layout := discovery.PhobosLayout(p.BasePath)
	dir, err := layout.Dir(name)
	if err != nil {
		return err
	}
	inst, err := layout.Decode(dir+"/"+p.ServiceAddr, metadata) // weight=, state= and the rest, as resolvers read them
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg, err := discovery.Register(ctx, p.Client, inst, discovery.WithRegistrationLayout(layout))
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.regs = append(p.regs, reg)
	p.mu.Unlock()
	return nil
}

// Close deregisters every service (drain, wait, delete).
func (p *PhobosPlugin) Close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, reg := range p.regs {
		errs = append(errs, reg.Deregister(ctx))
	}
	return errors.Join(errs...)
}

func Example_phobosPlugin() {
	cluster, err := deimostest.StartCluster(3) // a real server: deimos.New(deimos.WithEndpoints(...))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	client := deimos.New(deimos.WithEndpoints(cluster.Endpoints()...))
	defer client.Close()
	ctx := context.Background()

	p := &PhobosPlugin{Client: client, BasePath: "/mrpc_example", ServiceAddr: "tcp@localhost:30000"}
	if err := p.Register("HelloWorld", nil, "weight=10&group=a"); err != nil {
		log.Fatal(err)
	}
	resp, err := client.Get(ctx, "/mrpc_example/HelloWorld/tcp@localhost:30000")
	if err != nil {
		log.Fatal(err)
	}
	q, _ := url.ParseQuery(resp.Node.Value)
	fmt.Println(strings.TrimPrefix(resp.Node.Key, "/mrpc_example/"), "weight", q.Get("weight"), "group", q.Get("group"))
	if err := p.Close(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: HelloWorld/tcp@localhost:30000 weight 10 group a
}
