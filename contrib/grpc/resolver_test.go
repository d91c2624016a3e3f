package deimosgrpc_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"

	deimos "github.com/marsevilspirit/deimos-client"
	deimosgrpc "github.com/marsevilspirit/deimos-client/contrib/grpc"
	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// newClient returns a Deimos client of the cluster, closed with the test.
func newClient(t *testing.T, c *deimostest.Cluster) *deimos.Client {
	t.Helper()
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...), deimos.WithRequestTimeout(300*time.Millisecond))
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// startServers starts n gRPC servers on loopback serving the health
// service, stopped with the test, and returns their addresses.
func startServers(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		srv := grpc.NewServer()
		healthpb.RegisterHealthServer(srv, health.NewServer())
		go func() { _ = srv.Serve(lis) }()
		t.Cleanup(srv.Stop)
		addrs = append(addrs, lis.Addr().String())
	}
	return addrs
}

func register(t *testing.T, client *deimos.Client, inst discovery.Instance) {
	t.Helper()
	l := discovery.DefaultLayout()
	key, err := l.Key(inst)
	require.NoError(t, err)
	value, err := l.Encode(inst)
	require.NoError(t, err)
	_, err = client.Set(t.Context(), key, value, deimos.WithTTL(time.Minute))
	require.NoError(t, err)
}

func deregister(t *testing.T, client *deimos.Client, inst discovery.Instance) {
	t.Helper()
	key, err := discovery.DefaultLayout().Key(inst)
	require.NoError(t, err)
	_, err = client.Delete(t.Context(), key)
	require.NoError(t, err)
}

func dial(t *testing.T, client *deimos.Client, service string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("deimos:///"+service,
		grpc.WithResolvers(deimosgrpc.NewBuilder(client, discovery.WithListTimeout(300*time.Millisecond))),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// servedBy makes n health checks and returns the set of server addresses
// that answered.
func servedBy(t *testing.T, conn *grpc.ClientConn, n int) map[string]int {
	t.Helper()
	hc := healthpb.NewHealthClient(conn)
	seen := map[string]int{}
	for range n {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		var p peer.Peer
		_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p), grpc.WaitForReady(true))
		cancel()
		require.NoError(t, err)
		seen[p.Addr.String()]++
	}
	return seen
}

func TestResolver_RoundRobinFollowsTheRegistry(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c)
	addrs := startServers(t, 3)
	var insts []discovery.Instance
	for i, addr := range addrs {
		inst := discovery.Instance{Service: "greeter", ID: "g" + string(rune('0'+i)), Addr: addr}
		register(t, client, inst)
		insts = append(insts, inst)
	}
	conn := dial(t, client, "greeter")

	require.Eventually(t, func() bool { return len(servedBy(t, conn, 30)) == 3 },
		15*time.Second, 20*time.Millisecond, "round robin reaches every registered instance")

	deregister(t, client, insts[2])
	require.Eventually(t, func() bool { _, hit := servedBy(t, conn, 30)[addrs[2]]; return !hit },
		15*time.Second, 20*time.Millisecond, "a deregistered instance gets no more calls")
	assert.Len(t, servedBy(t, conn, 30), 2)

	draining := insts[1]
	draining.State = discovery.StateDraining
	register(t, client, draining)
	require.Eventually(t, func() bool {
		seen := servedBy(t, conn, 30)
		return len(seen) == 1 && seen[addrs[0]] == 30
	}, 15*time.Second, 20*time.Millisecond, "a draining instance gets no new calls")
}

func TestResolver_KeepsTheLastListWhenTheRegistryEmpties(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c)
	addrs := startServers(t, 2)
	for i, addr := range addrs {
		register(t, client, discovery.Instance{Service: "greeter", ID: "g" + string(rune('0'+i)), Addr: addr})
	}
	conn := dial(t, client, "greeter")
	require.Eventually(t, func() bool { return len(servedBy(t, conn, 20)) == 2 }, 15*time.Second, 20*time.Millisecond)

	_, err := client.Delete(t.Context(), "/deimos/services/greeter", deimos.WithRecursive())
	require.NoError(t, err)
	// The registry lost everything at once; the servers are still there.
	r, err := discovery.NewResolver(t.Context(), client, "greeter", discovery.WithRequireFirstList())
	require.NoError(t, err)
	r.Close()
	require.Empty(t, r.Snapshot().Instances)
	assert.Len(t, servedBy(t, conn, 20), 2, "the channel keeps the last non-empty list")
}

func TestResolver_KeepsServingWhileTheClusterIsDown(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	client := newClient(t, c)
	addrs := startServers(t, 2)
	for i, addr := range addrs {
		register(t, client, discovery.Instance{Service: "greeter", ID: "g" + string(rune('0'+i)), Addr: addr})
	}
	conn := dial(t, client, "greeter")
	require.Eventually(t, func() bool { return len(servedBy(t, conn, 20)) == 2 }, 15*time.Second, 20*time.Millisecond)

	c.Node(0).Stop()
	defer func() { require.NoError(t, c.Node(0).Start()) }()
	// Calls keep working on the list the resolver last had.
	for range 3 {
		assert.Len(t, servedBy(t, conn, 20), 2)
	}
}

// fakeConn records what a resolver tells its channel.
type fakeConn struct {
	resolver.ClientConn // nil: calling anything else panics the test
	mu                  sync.Mutex
	states              []resolver.State
	errs                []error
}

func (f *fakeConn) UpdateState(s resolver.State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states = append(f.states, s)
	return nil
}

func (f *fakeConn) ReportError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err)
}

func (f *fakeConn) ParseServiceConfig(string) *serviceconfig.ParseResult { return nil }

func (f *fakeConn) seen() ([]resolver.State, []error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]resolver.State(nil), f.states...), append([]error(nil), f.errs...)
}

func build(t *testing.T, client *deimos.Client, target string, cc resolver.ClientConn) resolver.Resolver {
	t.Helper()
	b := deimosgrpc.NewBuilder(client, discovery.WithListTimeout(200*time.Millisecond))
	assert.Equal(t, "deimos", b.Scheme())
	r, err := b.Build(resolver.Target{URL: *mustParse(t, target)}, cc, resolver.BuildOptions{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	return r
}

func TestResolver_ReportsErrorsOnlyBeforeTheFirstList(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	client := newClient(t, c)
	c.Node(0).Stop()
	cc := &fakeConn{}
	build(t, client, "deimos:///greeter", cc)
	require.Eventually(t, func() bool { _, errs := cc.seen(); return len(errs) > 0 }, 10*time.Second, 10*time.Millisecond)
	states, _ := cc.seen()
	assert.Empty(t, states, "no list yet, only errors")

	require.NoError(t, c.Node(0).Start())
	register(t, client, discovery.Instance{Service: "greeter", ID: "g0", Addr: "127.0.0.1:1", Weight: 3,
		Metadata: map[string]string{"zone": "z"}})
	require.Eventually(t, func() bool { s, _ := cc.seen(); return len(s) > 0 }, 10*time.Second, 10*time.Millisecond)
	states, errsBefore := cc.seen()
	ep := states[len(states)-1].Endpoints
	require.Len(t, ep, 1)
	assert.Equal(t, "127.0.0.1:1", ep[0].Addresses[0].Addr)
	inst, ok := deimosgrpc.InstanceOf(ep[0].Attributes)
	require.True(t, ok)
	assert.Equal(t, "z", inst.Metadata["zone"])
	assert.Equal(t, 3, deimosgrpc.WeightOf(ep[0].Addresses[0].Attributes))

	c.Node(0).Stop()
	defer func() { require.NoError(t, c.Node(0).Start()) }()
	require.Never(t, func() bool { _, errs := cc.seen(); return len(errs) > len(errsBefore) },
		time.Second, 50*time.Millisecond, "a stale resolver with a list reports no error")
}

func TestResolver_ReportsAServiceWithoutInstances(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	client := newClient(t, c)
	cc := &fakeConn{}
	build(t, client, "deimos:///nobody", cc)
	require.Eventually(t, func() bool { _, errs := cc.seen(); return len(errs) > 0 }, 10*time.Second, 10*time.Millisecond)
	_, errs := cc.seen()
	assert.ErrorIs(t, errs[0], discovery.ErrNoInstances)
}

func TestBuilder_RejectsABadTarget(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	client := newClient(t, c)
	b := deimosgrpc.NewBuilder(client)
	for _, target := range []string{"deimos:///", "deimos:///a/b", "deimos:///_hidden"} {
		_, err := b.Build(resolver.Target{URL: *mustParse(t, target)}, &fakeConn{}, resolver.BuildOptions{})
		assert.ErrorIs(t, err, discovery.ErrInvalidInstance, target)
	}
}
