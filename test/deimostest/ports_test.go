package deimostest_test

import (
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// Nodes listen below the kernel's ephemeral range, so that no outgoing
// connection can take a stopped node's port and its restart always binds.
func TestNodes_ListenBelowTheEphemeralRange(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Skip("no ephemeral port range to stay out of on this system")
	}
	first, err := strconv.Atoi(strings.Fields(string(b))[0])
	require.NoError(t, err)

	c := deimostest.NewCluster(t, 3)
	for _, n := range c.Nodes() {
		u, err := url.Parse(n.URL())
		require.NoError(t, err)
		_, p, err := net.SplitHostPort(u.Host)
		require.NoError(t, err)
		port, err := strconv.Atoi(p)
		require.NoError(t, err)
		require.Less(t, port, first, "%s listens in the ephemeral range", n.Name())
	}
	n := c.Node(0)
	before := n.URL()
	n.Stop()
	require.NoError(t, n.Start())
	require.Equal(t, before, n.URL())
}
