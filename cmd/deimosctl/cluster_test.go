package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// members learns the whole cluster from one configured node.
func TestMembers_ListsTheClusterFromOneEndpoint(t *testing.T) {
	c := newCluster(t)
	table := ctl(t, []string{c.Node(1).URL()}, "members")
	requireCode(t, exitOK, table)
	golden(t, "members", sortRows(normalise(c, table.stdout)))

	r := ctl(t, []string{c.Node(1).URL()}, "-o", "json", "members")
	requireCode(t, exitOK, r)
	var out struct {
		Members []jsonMember `json:"members"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	want := []jsonMember{
		{URL: c.Node(0).URL()}, {URL: c.Node(1).URL(), Configured: true}, {URL: c.Node(2).URL()},
	}
	slices.SortFunc(want, func(x, y jsonMember) int { return strings.Compare(x.URL, y.URL) })
	assert.Equal(t, want, out.Members, "sorted by URL")
}

// latencies vary; the golden files show where they are.
var (
	latencyRE = regexp.MustCompile(`\b[0-9.]+(ns|µs|ms|s)\b`)
	spacesRE  = regexp.MustCompile(` {2,}`)
	addrRE    = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
)

// normaliseHealth also hides latencies and addresses; as the width of the
// latency column varies with them, columns are separated by two spaces.
func normaliseHealth(c *deimostest.Cluster, s string) string {
	s = normalise(c, s)
	s = latencyRE.ReplaceAllString(s, "<lat>")
	s = addrRE.ReplaceAllString(s, "<addr>")
	s = spacesRE.ReplaceAllString(s, "  ")
	s = strings.ReplaceAll(s, "  \n", "\n")
	summary := s[strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n")+1:]
	return sortRows(strings.TrimSuffix(s, summary)) + summary
}

// endpointHealth returns the entry of url.
func endpointHealth(t *testing.T, h jsonHealth, url string) jsonEndpointHealth {
	t.Helper()
	for _, e := range h.Endpoints {
		if e.Endpoint == url {
			return e
		}
	}
	t.Fatalf("%s not checked: %+v", url, h)
	return jsonEndpointHealth{}
}

func health(t *testing.T, c *deimostest.Cluster, args ...string) (result, jsonHealth) {
	t.Helper()
	r := ctl(t, c.Endpoints(), append([]string{"--timeout", "500ms", "-o", "json", "endpoint", "health"}, args...)...)
	var h jsonHealth
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &h), r.stdout)
	return r, h
}

// One node of three down: commands still work, health names the node and
// still exits 0 (two of three is a majority); a second node down loses the
// majority (exit 6); with all three down every command exits 6.
func TestFailingNodes_CommandsAndHealthFollowTheMajority(t *testing.T) {
	c := newCluster(t)
	eps := c.Endpoints()
	r, h := health(t, c)
	requireCode(t, exitOK, r)
	assert.Equal(t, jsonHealth{Healthy: true, Quorum: 2, Count: 3, Endpoints: h.Endpoints}, h)
	for _, e := range h.Endpoints {
		assert.True(t, e.Healthy)
		assert.Positive(t, e.LatencyMs)
		assert.Empty(t, e.Error)
	}

	c.Node(1).Stop()
	requireCode(t, exitOK, ctl(t, eps, "set", "/f", "1"))
	requireCode(t, exitOK, ctl(t, eps, "get", "/f"))
	requireCode(t, exitOK, ctl(t, eps, "ls"))
	r, h = health(t, c)
	requireCode(t, exitOK, r)
	assert.Equal(t, 2, h.Count)
	assert.True(t, h.Healthy)
	down := endpointHealth(t, h, c.Node(1).URL())
	assert.False(t, down.Healthy)
	assert.Contains(t, down.Error, "connection refused")
	assert.True(t, endpointHealth(t, h, c.Node(0).URL()).Healthy)
	table := ctl(t, eps, "--timeout", "500ms", "endpoint", "health")
	requireCode(t, exitOK, table)
	golden(t, "health-one-down", normaliseHealth(c, table.stdout))

	c.Node(2).Stop()
	r, h = health(t, c)
	requireCode(t, exitUnavailable, r)
	assert.False(t, h.Healthy)
	assert.Equal(t, 1, h.Count)
	assert.Contains(t, r.stderr, "deimosctl: 1 of 3 nodes healthy; a quorum needs 2")

	c.Node(0).Stop()
	r, h = health(t, c)
	requireCode(t, exitUnavailable, r)
	assert.Zero(t, h.Count)
	requireCode(t, exitUnavailable, ctl(t, eps, "--timeout", "500ms", "get", "/f"))
}

// A cluster that lost its quorum answers no read: health says so, even
// though every node accepts connections.
func TestHealth_NoQuorumIsUnhealthy(t *testing.T) {
	c := newCluster(t, deimostest.WithServerTimeout(waitLong))
	c.LoseQuorum()
	defer c.RestoreQuorum()
	r, h := health(t, c, "--no-sync")
	requireCode(t, exitUnavailable, r)
	assert.Zero(t, h.Count)
	for _, e := range h.Endpoints {
		assert.NotEmpty(t, e.Error)
	}
}
