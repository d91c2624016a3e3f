package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
)

// The tables people read, on a fresh cluster (indexes start after 6, as on a
// fresh 3-node Deimos), compared with testdata/kv.golden.
func TestKV_TablesMatchGolden(t *testing.T) {
	c := newCluster(t)
	got := transcript(t, c,
		[]string{"set", "/app/name", "shop"},
		[]string{"set", "/app/config/db", "postgres://db:5432/shop"},
		[]string{"set", "/app/config/motd", "  two words  "},
		[]string{"set", "/app/config/empty", ""},
		[]string{"set", "/app/name", "store", "--prev-value", "shop"},
		[]string{"mkdir", "/app/jobs"},
		[]string{"get", "/app/name"},
		[]string{"get", "/app", "--sorted"},
		[]string{"get", "/app", "--recursive", "--sorted"},
		[]string{"ls", "--recursive", "--sorted"},
		[]string{"ls", "/app", "--sorted"},
		[]string{"rm", "/app/config/empty"},
		[]string{"rm", "/app/jobs"},
		[]string{"rm", "/app/jobs", "--dir"},
		[]string{"rm", "/app/config", "--recursive"},
		[]string{"get", "/app/config"},
	)
	golden(t, "kv", got)
}

// decode parses the single JSON object a command printed.
func decode(t *testing.T, r result) jsonResult {
	t.Helper()
	requireCode(t, exitOK, r)
	var out jsonResult
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&out), r.stdout)
	require.False(t, dec.More(), "one object expected: %s", r.stdout)
	return out
}

func TestKV_JSONForScripts(t *testing.T) {
	c := newCluster(t)
	eps := c.Endpoints()

	set := decode(t, ctl(t, eps, "-o", "json", "set", "/svc/a", "1"))
	assert.Equal(t, "set", set.Action)
	assert.Equal(t, uint64(7), set.Index, "a write reports its own index")
	require.NotNil(t, set.Node.Value)
	assert.Equal(t, "1", *set.Node.Value)
	assert.Nil(t, set.PrevNode)

	cas := decode(t, ctl(t, eps, "-o", "json", "set", "/svc/a", "2", "--prev-index", "7", "--ttl", "60"))
	assert.Equal(t, "compareAndSwap", cas.Action)
	assert.Equal(t, "1", *cas.PrevNode.Value)
	assert.InDelta(t, 60, cas.Node.TTL, 1, "a TTL is reported in seconds")
	assert.NotNil(t, cas.Node.Expiration)

	get := decode(t, ctl(t, eps, "-o", "json", "get", "/svc", "--recursive", "--sorted"))
	assert.Equal(t, "get", get.Action)
	assert.Equal(t, uint64(8), get.Index, "a read reports the store index it was applied at")
	assert.True(t, get.Node.Dir)
	assert.Nil(t, get.Node.Value, "directories have no value")
	require.Len(t, get.Node.Nodes, 1)
	assert.Equal(t, "/svc/a", get.Node.Nodes[0].Key)

	ls := decode(t, ctl(t, eps, "-o", "json", "ls", "/svc"))
	assert.Equal(t, "/svc", ls.Node.Key)
	require.Len(t, ls.Node.Nodes, 1)

	rm := decode(t, ctl(t, eps, "-o", "json", "rm", "/svc/a", "--prev-value", "2"))
	assert.Equal(t, "compareAndDelete", rm.Action)
	assert.Equal(t, uint64(9), rm.Index)
	assert.Nil(t, rm.Node.Value, "a deleted node carries no value")
	assert.Equal(t, "2", *rm.PrevNode.Value)

	mk := decode(t, ctl(t, eps, "-o", "json", "mkdir", "/svc/d", "--ttl", "30s"))
	assert.Equal(t, "create", mk.Action)
	assert.True(t, mk.Node.Dir)
	assert.Positive(t, mk.Node.TTL)
}

func TestKV_EmptyValueIsKept(t *testing.T) {
	c := newCluster(t)
	requireCode(t, exitOK, ctl(t, c.Endpoints(), "set", "/e", ""))
	got := decode(t, ctl(t, c.Endpoints(), "-o", "json", "get", "/e"))
	require.NotNil(t, got.Node.Value, "an empty value is present, not absent")
	assert.Equal(t, "", *got.Node.Value)
}

func deimosPrevValue(v string) deimos.SetOption { return deimos.WithPrevValue(v) }
