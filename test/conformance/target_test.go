package conformance

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// endpointsEnv names the variable that points the suite at a real cluster.
const endpointsEnv = "DEIMOS_ENDPOINTS"

// target is the cluster every test talks to.
type target struct {
	endpoints []string
	real      bool
	cluster   *deimostest.Cluster // nil on a real target
	runPrefix string              // /conformance/<random>, unique per run
	next      atomic.Uint64       // round-robin over endpoints
}

var tgt *target

// client never follows redirects, so 307s are observable, and never asks for
// compression, so bodies arrive as the server wrote them.
var (
	transport = &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     30 * time.Second,
	}
	client = &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
)

// openTarget connects to DEIMOS_ENDPOINTS or starts an in-process 3-node
// cluster with the lag and the race of a real one (laggyOptions), and returns
// the function that releases it. That function reports what would have crashed
// a real node during the run (docs/protocol.md §12.7).
func openTarget() (func() error, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	t := &target{runPrefix: "/conformance/run-" + hex.EncodeToString(b[:])}
	if env := strings.TrimSpace(os.Getenv(endpointsEnv)); env != "" {
		for _, e := range strings.Split(env, ",") {
			if e = strings.TrimRight(strings.TrimSpace(e), "/"); e != "" {
				t.endpoints = append(t.endpoints, e)
			}
		}
		if len(t.endpoints) == 0 {
			return nil, errors.New(endpointsEnv + " holds no URL")
		}
		t.real = true
		tgt = t
		return func() error { transport.CloseIdleConnections(); return nil }, nil
	}
	c, err := deimostest.StartCluster(3, laggyOptions()...)
	if err != nil {
		return nil, err
	}
	t.cluster = c
	t.endpoints = c.Endpoints()
	tgt = t
	return func() error {
		hazards := checkCrashHazards(c)
		transport.CloseIdleConnections()
		c.Close()
		transport.CloseIdleConnections()
		return hazards
	}, nil
}

// endpoint picks the next endpoint round-robin: any node serves any request
// (docs/protocol.md §13.1), so the suite spreads its requests over all of them.
func (tg *target) endpoint() string {
	n := tg.next.Add(1)
	return tg.endpoints[int(n)%len(tg.endpoints)]
}

// dirs remembers the prefix handed to each test, so that repeated calls in one
// test agree and repeated runs of a test (-count=N) never share keys.
var dirs struct {
	sync.Mutex
	byTest map[testing.TB]string
	seq    int
}

// dir returns a key prefix that belongs to the calling test alone. Nothing else
// in this process writes under it.
func dir(t testing.TB) string {
	t.Helper()
	dirs.Lock()
	defer dirs.Unlock()
	if d, ok := dirs.byTest[t]; ok {
		return d
	}
	var b strings.Builder
	for _, r := range t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == '/':
			b.WriteString("--")
		default:
			b.WriteByte('-')
		}
	}
	if dirs.byTest == nil {
		dirs.byTest = map[testing.TB]string{}
	}
	dirs.seq++
	d := tgt.runPrefix + "/" + b.String() + "-" + strconv.Itoa(dirs.seq)
	dirs.byTest[t] = d
	return d
}

// inProcessOnly skips a test on a real target, with the reason why it cannot run there.
func inProcessOnly(t testing.TB, why string) {
	t.Helper()
	if tgt.real {
		t.Skip("needs the in-process cluster: " + why)
	}
}

// freshCluster starts a dedicated in-process cluster for tests that need a
// fresh index, a short watch timeout, a delayed reaper or fault injection. It
// has no lag unless opts ask for it, so such tests stay deterministic. It skips
// on a real target.
func freshCluster(t testing.TB, why string, opts ...deimostest.Option) *deimostest.Cluster {
	t.Helper()
	inProcessOnly(t, why)
	c := deimostest.NewCluster(t, 3, opts...)
	t.Cleanup(transport.CloseIdleConnections)
	return c
}
