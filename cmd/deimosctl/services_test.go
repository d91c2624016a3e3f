package main

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// registered registers inst through client for the test's duration.
func registered(t *testing.T, client *deimos.Client, inst discovery.Instance, opts ...discovery.RegisterOption) *discovery.Registration {
	t.Helper()
	opts = append([]discovery.RegisterOption{discovery.WithTTL(discovery.MinTTL)}, opts...)
	reg, err := discovery.Register(testContext(t), client, inst, opts...)
	require.NoError(t, err)
	t.Cleanup(reg.Orphan)
	return reg
}

// registry registers api/a (weighted, with a version and metadata), api/b
// (draining) and web/x, and leaves an expired, unreaped key of api/gone.
func registry(t *testing.T, c *deimostest.Cluster) *deimos.Client {
	t.Helper()
	client := sdk(t, c)
	ctx := testContext(t)
	registered(t, client, discovery.Instance{Service: "api", ID: "a", Addr: "10.0.0.1:80", Version: "1.2.0", Weight: 5,
		Metadata: map[string]string{"zone": "eu-1"}})
	b := registered(t, client, discovery.Instance{Service: "api", ID: "b", Addr: "10.0.0.2:80"})
	require.NoError(t, b.Drain(ctx))
	registered(t, client, discovery.Instance{Service: "web", ID: "x", Addr: "10.0.0.9:443"})
	_, err := client.Set(ctx, "/deimos/services/api/gone", `{"v":1,"addr":"10.0.0.3:80"}`, deimos.WithTTL(time.Second))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		resp, err := client.Get(ctx, "/deimos/services/api/gone")
		return err == nil && resp.Node.Expired(time.Now())
	}, waitLong, 20*time.Millisecond, "expired (the reaper is an hour late)")
	return client
}

func TestServices_LsListsServicesThenInstances(t *testing.T) {
	c := newCluster(t, deimostest.WithReapDelay(time.Hour, time.Hour))
	registry(t, c)

	r := ctl(t, c.Endpoints(), "services", "ls")
	requireCode(t, exitOK, r)
	assert.Equal(t, "SERVICE  INSTANCES  UP\napi      2          1\nweb      1          1\n", r.stdout, "the expired key is not counted")

	r = ctl(t, c.Endpoints(), "services", "ls", "api")
	requireCode(t, exitOK, r)
	assert.Equal(t, ""+
		"ID  ADDR         VERSION  WEIGHT  STATE     METADATA\n"+
		"a   10.0.0.1:80  1.2.0    5       up        zone=eu-1\n"+
		"b   10.0.0.2:80  -        1       draining  -\n", r.stdout)

	r = ctl(t, c.Endpoints(), "-o", "json", "services", "ls")
	requireCode(t, exitOK, r)
	assert.JSONEq(t, `{"services":[{"service":"api","instances":2,"up":1},{"service":"web","instances":1,"up":1}]}`, r.stdout)

	r = ctl(t, c.Endpoints(), "-o", "json", "services", "ls", "api")
	requireCode(t, exitOK, r)
	var snap jsonSnapshot
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &snap))
	assert.Equal(t, "api", snap.Service)
	assert.NotZero(t, snap.Index)
	assert.Equal(t, []jsonInstance{
		{ID: "a", Addr: "10.0.0.1:80", Version: "1.2.0", Weight: 5, State: "up", Metadata: map[string]string{"zone": "eu-1"}},
		{ID: "b", Addr: "10.0.0.2:80", Weight: 1, State: "draining"},
	}, snap.Instances)
}

func TestServices_LsOfAnEmptyNamespacePrintsNoRows(t *testing.T) {
	c := newCluster(t)
	r := ctl(t, c.Endpoints(), "services", "ls", "--namespace", "nobody")
	requireCode(t, exitOK, r)
	assert.Equal(t, "SERVICE  INSTANCES  UP\n", r.stdout)
	r = ctl(t, c.Endpoints(), "-o", "json", "services", "ls", "--namespace", "nobody")
	requireCode(t, exitOK, r)
	assert.JSONEq(t, `{"services":[]}`, r.stdout)
}

func TestServices_GetShowsOneInstanceOrExits3(t *testing.T) {
	c := newCluster(t, deimostest.WithReapDelay(time.Hour, time.Hour))
	registry(t, c)

	r := ctl(t, c.Endpoints(), "services", "get", "api", "a")
	requireCode(t, exitOK, r)
	assert.Equal(t, ""+
		"SERVICE   api\n"+
		"ID        a\n"+
		"ADDR      10.0.0.1:80\n"+
		"VERSION   1.2.0\n"+
		"WEIGHT    5\n"+
		"STATE     up\n"+
		"METADATA  zone=eu-1\n"+
		"KEY       /deimos/services/api/a\n", r.stdout)

	r = ctl(t, c.Endpoints(), "-o", "json", "services", "get", "api", "b")
	requireCode(t, exitOK, r)
	assert.JSONEq(t, `{"service":"api","id":"b","addr":"10.0.0.2:80","weight":1,"state":"draining","key":"/deimos/services/api/b"}`, r.stdout)

	for _, id := range []string{"missing", "gone"} {
		r = ctl(t, c.Endpoints(), "services", "get", "api", id)
		requireCode(t, exitNotFound, r)
		assert.Contains(t, r.stderr, "deimosctl: services get api "+id+": no such instance")
	}
}

func TestServices_WatchPrintsChangesUntilSIGINT(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	ctx := testContext(t)
	registered(t, client, discovery.Instance{Service: "api", ID: "a", Addr: "10.0.0.1:80"})

	w := start(t, c.Endpoints(), "services", "watch", "api")
	assert.Regexp(t, `^\d+ +\+ a 10\.0\.0\.1:80 up$`, w.out.next(t))
	reg := registered(t, client, discovery.Instance{Service: "api", ID: "c", Addr: "10.0.0.3:80", Weight: 3})
	assert.Regexp(t, `^\d+ +\+ c 10\.0\.0\.3:80 up weight=3$`, w.out.next(t))
	require.NoError(t, reg.Drain(ctx))
	assert.Regexp(t, `^\d+ +~ c 10\.0\.0\.3:80 draining weight=3$`, w.out.next(t))
	require.NoError(t, reg.Deregister(ctx))
	assert.Regexp(t, `^\d+ +- c$`, w.out.next(t), "heartbeats in between print nothing")

	c.Node(0).Stop()
	c.Node(1).Stop()
	c.Node(2).Stop()
	assert.Regexp(t, `^\d+ +stale: .+$`, w.out.next(t))
	for i := range 3 {
		require.NoError(t, c.Node(i).Start())
	}
	assert.Regexp(t, `^\d+ +fresh$`, w.out.next(t))

	w.signals <- os.Interrupt
	assert.Equal(t, exitOK, w.wait(t))
	assert.Empty(t, w.stderr.all())
}

func TestServices_WatchJSONPrintsSnapshots(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	registered(t, client, discovery.Instance{Service: "api", ID: "a", Addr: "10.0.0.1:80"})
	w := start(t, c.Endpoints(), "-o", "json", "services", "watch", "api")
	var snap jsonSnapshot
	require.NoError(t, json.Unmarshal([]byte(w.out.next(t)), &snap))
	assert.Len(t, snap.Instances, 1)
	registered(t, client, discovery.Instance{Service: "api", ID: "b", Addr: "10.0.0.2:80"})
	require.NoError(t, json.Unmarshal([]byte(w.out.next(t)), &snap))
	assert.Equal(t, []string{"a", "b"}, []string{snap.Instances[0].ID, snap.Instances[1].ID})
	assert.False(t, snap.Stale)
	w.signals <- os.Interrupt
	assert.Equal(t, exitOK, w.wait(t))
}

func TestServices_PhobosBaseReadsAPhobosRegistry(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	registered(t, client, discovery.Instance{Service: "HelloWorld", ID: "tcp@localhost:30000", Weight: 10,
		Metadata: map[string]string{"group": "a"}}, discovery.WithRegistrationLayout(discovery.PhobosLayout("/mrpc_example")))

	r := ctl(t, c.Endpoints(), "services", "--phobos-base", "/mrpc_example", "ls")
	requireCode(t, exitOK, r)
	assert.Equal(t, "SERVICE     INSTANCES  UP\nHelloWorld  1          1\n", r.stdout)
	r = ctl(t, c.Endpoints(), "services", "ls", "HelloWorld", "--phobos-base", "/mrpc_example")
	requireCode(t, exitOK, r)
	assert.Contains(t, r.stdout, "tcp@localhost:30000  localhost:30000  -        10      up     group=a\n")
}

func TestServices_BadInputExits2(t *testing.T) {
	c := newCluster(t)
	for name, args := range map[string][]string{
		"both layouts":      {"services", "ls", "--namespace", "x", "--phobos-base", "/p"},
		"service with '/'":  {"services", "ls", "a/b"},
		"hidden service":    {"services", "get", "_a", "b"},
		"bad namespace":     {"services", "watch", "api", "--namespace", "a//b"},
		"missing arguments": {"services", "get", "api"},
	} {
		r := ctl(t, c.Endpoints(), args...)
		requireCode(t, exitUsage, r)
		assert.NotEmpty(t, r.stderr, name)
	}
}
