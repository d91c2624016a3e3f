package deimostest

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// A node stopped by a test must be able to bind its address again on Start.
// A port from the kernel's ephemeral range can be taken meanwhile as the
// local port of any outgoing connection on the machine (other tests' clients
// included), and Start then fails with "address already in use". Nodes
// without a configured port therefore listen on a random free port below that
// range, which outgoing connections never use.

// stablePortSpan is how many ports below the ephemeral range nodes pick from.
const stablePortSpan = 12000

var stablePorts = sync.OnceValues(func() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0
	}
	first, err := strconv.Atoi(f[0])
	if err != nil || first <= 1024+stablePortSpan {
		return 0, 0
	}
	return first - stablePortSpan, first
})

// listenLoopback listens on addr; for "127.0.0.1:0" it first tries random
// ports below the ephemeral range, and falls back to any free port.
func listenLoopback(addr string) (net.Listener, error) {
	if addr != "127.0.0.1:0" {
		return net.Listen("tcp", addr)
	}
	if lo, hi := stablePorts(); hi > lo {
		for range 32 {
			port := lo + rand.N(hi-lo)
			if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				return ln, nil
			}
		}
	}
	return net.Listen("tcp", addr)
}
