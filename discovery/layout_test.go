package discovery_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestJSONLayout_RoundTrips(t *testing.T) {
	l := discovery.JSONLayout("prod/eu")
	for name, inst := range map[string]discovery.Instance{
		"minimal": {Service: "api", ID: "a", Addr: "10.0.0.1:80"},
		"full": {Service: "api", ID: "host-1:8080", Addr: "10.0.0.1:8080", Version: "1.4.2", Weight: 10,
			Metadata: map[string]string{"zone": "eu-1", "": "empty key"}, State: discovery.StateDraining},
		"unicode": {Service: "zahlungen", ID: "knoten ✓", Addr: "[::1]:80"},
	} {
		key, err := l.Key(inst)
		require.NoError(t, err, name)
		value, err := l.Encode(inst)
		require.NoError(t, err, name)
		got, err := l.Decode(key, value)
		require.NoError(t, err, name)
		assert.True(t, got.Equal(inst), "%s: %+v", name, got)
	}
}

func TestJSONLayout_WritesAVersionedValue(t *testing.T) {
	l := discovery.DefaultLayout()
	inst := discovery.Instance{Service: "api", ID: "a", Addr: "h:1", Weight: 3, State: discovery.StateDraining}
	key, err := l.Key(inst)
	require.NoError(t, err)
	assert.Equal(t, "/deimos/services/api/a", key)
	dir, err := l.Dir("api")
	require.NoError(t, err)
	assert.Equal(t, "/deimos/services/api", dir)
	value, err := l.Encode(inst)
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":1,"addr":"h:1","weight":3,"state":"draining"}`, value)

	up, err := l.Encode(discovery.Instance{Service: "api", ID: "a", Addr: "h:1"})
	require.NoError(t, err)
	assert.Equal(t, `{"v":1,"addr":"h:1"}`, up)
}

func TestJSONLayout_ReadsLaterVersions(t *testing.T) {
	got, err := discovery.DefaultLayout().Decode("/deimos/services/api/a",
		`{"v":2,"addr":"h:1","weight":2,"added-later":{"x":1}}`)
	require.NoError(t, err)
	assert.Equal(t, discovery.Instance{Service: "api", ID: "a", Addr: "h:1", Weight: 2}, got)
}

func TestLayouts_RejectInvalidInstancesWithTypedErrors(t *testing.T) {
	ok := discovery.Instance{Service: "api", ID: "a", Addr: "h:1"}
	with := func(f func(*discovery.Instance)) discovery.Instance { i := ok; f(&i); return i }
	for name, tc := range map[string]struct {
		inst    discovery.Instance
		field   string
		keyErr  bool
		encode  bool
		layoutF func() discovery.Layout
	}{
		"empty service":     {with(func(i *discovery.Instance) { i.Service = "" }), "Service", false, false, discovery.DefaultLayout},
		"slash in service":  {with(func(i *discovery.Instance) { i.Service = "a/b" }), "Service", true, false, discovery.DefaultLayout},
		"dot id":            {with(func(i *discovery.Instance) { i.ID = "." }), "ID", true, false, discovery.DefaultLayout},
		"hidden id":         {with(func(i *discovery.Instance) { i.ID = "_x" }), "ID", true, false, discovery.DefaultLayout},
		"control char":      {with(func(i *discovery.Instance) { i.ID = "a\x01" }), "ID", true, false, discovery.DefaultLayout},
		"slash in id":       {with(func(i *discovery.Instance) { i.ID = "a/b" }), "ID", true, false, discovery.DefaultLayout},
		"no addr":           {with(func(i *discovery.Instance) { i.Addr = "" }), "Addr", false, true, discovery.DefaultLayout},
		"negative weight":   {with(func(i *discovery.Instance) { i.Weight = -1 }), "Weight", false, true, discovery.DefaultLayout},
		"unknown state":     {with(func(i *discovery.Instance) { i.State = 9 }), "State", false, true, discovery.DefaultLayout},
		"bad namespace":     {ok, "namespace", true, false, func() discovery.Layout { return discovery.JSONLayout("a/../b") }},
		"phobos without @":  {ok, "ID", false, false, phobos},
		"phobos wrong addr": {with(func(i *discovery.Instance) { i.ID = "tcp@h:2" }), "Addr", false, false, phobos},
		"phobos double /":   {with(func(i *discovery.Instance) { i.ID = "unix@//x" }), "ID", true, false, phobos},
	} {
		l := tc.layoutF()
		var err error
		if tc.encode {
			_, err = l.Encode(tc.inst)
		} else {
			_, err = l.Key(tc.inst)
		}
		require.ErrorIs(t, err, discovery.ErrInvalidInstance, name)
		var ie *discovery.InstanceError
		require.ErrorAs(t, err, &ie, name)
		assert.Equal(t, tc.field, ie.Field, name)
		assert.Equal(t, tc.keyErr, errors.Is(err, kv.ErrInvalidKey), "%s: matches kv.ErrInvalidKey: %v", name, err)
	}
}

func TestLayouts_DecodeRejectsWhatTheyDidNotWrite(t *testing.T) {
	for name, tc := range map[string]struct {
		l          discovery.Layout
		key, value string
	}{
		"json outside the dir": {discovery.DefaultLayout(), "/other/api/a", `{"v":1,"addr":"h:1"}`},
		"json too deep":        {discovery.DefaultLayout(), "/deimos/services/api/a/b", `{"v":1,"addr":"h:1"}`},
		"json the dir itself":  {discovery.DefaultLayout(), "/deimos/services/api", `{"v":1,"addr":"h:1"}`},
		"json not json":        {discovery.DefaultLayout(), "/deimos/services/api/a", `addr=h:1`},
		"json no version":      {discovery.DefaultLayout(), "/deimos/services/api/a", `{"addr":"h:1"}`},
		"json no addr":         {discovery.DefaultLayout(), "/deimos/services/api/a", `{"v":1}`},
		"json bad state":       {discovery.DefaultLayout(), "/deimos/services/api/a", `{"v":1,"addr":"h:1","state":"gone"}`},
		"phobos no network":    {phobos(), "/mrpc_example/HelloWorld/localhost:30000", "weight=1"},
		"phobos bad query":     {phobos(), "/mrpc_example/HelloWorld/tcp@h:1", "weight=%zz"},
	} {
		_, err := tc.l.Decode(tc.key, tc.value)
		require.ErrorIs(t, err, discovery.ErrDecode, name)
		var de *discovery.DecodeError
		require.ErrorAs(t, err, &de, name)
		assert.Equal(t, tc.key, de.Key, name)
	}
}

func phobos() discovery.Layout { return discovery.PhobosLayout("/mrpc_example") }

func TestPhobosLayout_KeyAndValueAreExactlyWhatPhobosWrites(t *testing.T) {
	l := phobos()
	inst := discovery.Instance{
		Service:  "HelloWorld",
		ID:       "tcp@localhost:30000",
		Addr:     "localhost:30000",
		Weight:   10,
		Metadata: map[string]string{"group": "a"},
	}
	key, err := l.Key(inst)
	require.NoError(t, err)
	assert.Equal(t, "/mrpc_example/HelloWorld/tcp@localhost:30000", key)
	value, err := l.Encode(inst)
	require.NoError(t, err)
	assert.Equal(t, "group=a&weight=10", value, "sorted, as Phobos's refresh loop rewrites it")

	// What a Phobos server registers verbatim, in its own order, decodes to
	// the same instance, and re-encodes to the same query.
	for _, written := range []string{"weight=10&group=a", "group=a&weight=10"} {
		got, err := l.Decode(key, written)
		require.NoError(t, err)
		assert.True(t, got.Equal(inst), "%q: %+v", written, got)
		again, err := l.Encode(got)
		require.NoError(t, err)
		want, _ := url.ParseQuery(written)
		have, _ := url.ParseQuery(again)
		assert.Equal(t, want, have)
	}
}

func TestPhobosLayout_MapsDrainingVersionAndOddValues(t *testing.T) {
	l := phobos()
	got, err := l.Decode("/mrpc_example/Svc/unix@/run/app.sock",
		"state=inactive&version=2.1&tps=37&weight=heavy&group=a&group=b")
	require.NoError(t, err)
	assert.Equal(t, discovery.Instance{
		Service:  "Svc",
		ID:       "unix@/run/app.sock",
		Addr:     "/run/app.sock",
		Version:  "2.1",
		State:    discovery.StateDraining,
		Metadata: map[string]string{"tps": "37", "weight": "heavy", "group": "a"},
	}, got, "a weight that is not a number is the default weight, as in Phobos")

	value, err := l.Encode(discovery.Instance{Service: "Svc", ID: "tcp@h:1", State: discovery.StateDraining, Version: "3"})
	require.NoError(t, err)
	assert.Equal(t, "state=inactive&version=3", value)
	key, err := l.Key(discovery.Instance{Service: "Svc", ID: "unix@/run/app.sock", Addr: "/run/app.sock"})
	require.NoError(t, err)
	assert.Equal(t, "/mrpc_example/Svc/unix@/run/app.sock", key)
}

// A registry written the way the Phobos Deimos plugin writes it: the base
// directory, then each service address with its metadata and a TTL.
func TestResolver_ReadsAPhobosRegistry(t *testing.T) {
	c := cluster(t)
	k := newKV(t, c.Endpoints()...)
	ctx := t.Context()
	_, err := k.Set(ctx, "/mrpc_example", "", kv.WithDir())
	require.NoError(t, err)
	_, err = k.Set(ctx, "/mrpc_example/HelloWorld", "", kv.WithDir())
	require.NoError(t, err)
	_, err = k.Set(ctx, "/mrpc_example/HelloWorld/tcp@localhost:30000", "weight=10&group=a", kv.WithTTL(time.Minute))
	require.NoError(t, err)
	_, err = k.Set(ctx, "/mrpc_example/HelloWorld/tcp@localhost:30001", "state=inactive", kv.WithTTL(time.Minute))
	require.NoError(t, err)

	r := newResolver(t, k, "HelloWorld", discovery.WithLayout(phobos()))
	s := waitForIDs(t, r, "tcp@localhost:30000", "tcp@localhost:30001")
	assert.Equal(t, discovery.Instance{Service: "HelloWorld", ID: "tcp@localhost:30000", Addr: "localhost:30000",
		Weight: 10, Metadata: map[string]string{"group": "a"}}, s.Instances[0])
	assert.Equal(t, discovery.StateDraining, s.Instances[1].State)
	assert.Equal(t, []discovery.Instance{s.Instances[0]}, s.Up())

	// And what the layout writes, a Phobos client reads back unchanged.
	registerIn(t, k, phobos(), discovery.Instance{Service: "HelloWorld", ID: "tcp@localhost:30002", Weight: 5}, time.Minute)
	resp, err := k.Get(ctx, "/mrpc_example/HelloWorld/tcp@localhost:30002")
	require.NoError(t, err)
	assert.Equal(t, "weight=5", resp.Node.Value)
}

func TestResolver_PhobosDirectoryIsWatchedNotItsKeys(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c.Endpoints()...)
	r := newResolver(t, k, "HelloWorld", discovery.WithLayout(phobos()))
	waitForIDs(t, r)
	assert.Equal(t, "/mrpc_example/HelloWorld", r.Dir())
	_, err := k.Set(t.Context(), "/mrpc_example/HelloWorld/tcp@h:1", "", kv.WithTTL(time.Minute))
	require.NoError(t, err)
	waitForIDs(t, r, "tcp@h:1")
	// Deleting the whole directory under the recursive watch is safe
	// (docs/protocol.md §12.7) and empties the list.
	_, err = k.Delete(t.Context(), "/mrpc_example/HelloWorld", kv.WithRecursive())
	require.NoError(t, err)
	assert.True(t, waitForIDs(t, r).Emptied)
}
