package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitLong bounds every wait of a test for something that should happen
// promptly; reaching it is a failure, never a synchronisation.
const waitLong = 10 * time.Second

// result is what one deimosctl run produced.
type result struct {
	code           int
	stdout, stderr string
}

// newCluster starts a 3-node in-process cluster, closed with the test.
func newCluster(t *testing.T, opts ...deimostest.Option) *deimostest.Cluster {
	t.Helper()
	return deimostest.NewCluster(t, 3, opts...)
}

// envOf returns the environment deimosctl sees: DEIMOS_ENDPOINTS only.
func envOf(endpoints []string) func(string) string {
	return func(name string) string {
		if name == envEndpoints {
			return strings.Join(endpoints, ",")
		}
		return ""
	}
}

// ctl runs deimosctl to completion against endpoints (via DEIMOS_ENDPOINTS).
func ctl(t *testing.T, endpoints []string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, process{
		stdout: &stdout, stderr: &stderr, getenv: envOf(endpoints), environ: os.Environ,
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// requireCode fails with the run's output when its exit code is not want.
func requireCode(t *testing.T, want int, r result) {
	t.Helper()
	require.Equal(t, want, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
}

// running is a deimosctl started in the background, for commands that run
// until interrupted.
type running struct {
	out     *lines
	stderr  *lines
	signals chan os.Signal
	stdin   *os.File
	done    chan int
}

// start runs deimosctl in the background. Its stdin is a pipe the test
// writes to (closed with the test; a file, as a real stdin, so that commands
// run by lock and elect read it directly); its output is read line by line.
func start(t *testing.T, endpoints []string, args ...string) *running {
	t.Helper()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	r := &running{out: newLines(), stderr: newLines(), signals: make(chan os.Signal, 4), stdin: pw, done: make(chan int, 1)}
	go func() {
		r.done <- run(context.Background(), args, process{
			stdin: pr, stdout: r.out, stderr: r.stderr, getenv: envOf(endpoints),
			environ: os.Environ, signals: r.signals,
		})
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.signals <- os.Interrupt
			<-r.done
		}
		pw.Close()
		pr.Close()
	})
	return r
}

// wait returns the exit code, failing if deimosctl does not end promptly.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		r.done <- code // for the cleanup
		return code
	case <-time.After(waitLong):
		t.Fatalf("deimosctl still running; stderr so far:\n%s", r.stderr.all())
		return 0
	}
}

// lines is an io.Writer that hands out complete lines as they arrive.
type lines struct {
	mu      sync.Mutex
	partial []byte
	seen    []string
	ch      chan string
}

func newLines() *lines { return &lines{ch: make(chan string, 1024)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.seen = append(l.seen, line)
		l.ch <- line
	}
}

// next returns the next line, failing when none comes promptly.
func (l *lines) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-l.ch:
		return s
	case <-time.After(waitLong):
		t.Fatalf("no output line within %v; so far:\n%s", waitLong, l.all())
		return ""
	}
}

// all returns everything written so far.
func (l *lines) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.seen, "\n") + string(l.partial)
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), got, "output differs from %s (go test -update rewrites it)", path)
}

// transcript runs each command line and records it like a terminal
// session, with the exit code of each failing command.
func transcript(t *testing.T, c *deimostest.Cluster, cmds ...[]string) string {
	t.Helper()
	var b strings.Builder
	for _, args := range cmds {
		r := ctl(t, c.Endpoints(), args...)
		b.WriteString("$ deimosctl " + anyNode(c, shellJoin(args)) + "\n")
		b.WriteString(normalise(c, r.stdout))
		b.WriteString(anyNode(c, r.stderr))
		if r.code != 0 {
			b.WriteString("[exit " + strconv.Itoa(r.code) + "]\n")
		}
	}
	return b.String()
}

// shellJoin quotes the arguments that need it, as a user would type them.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "" || strings.ContainsAny(a, " \t\"'$") {
			out[i] = "'" + a + "'"
		}
	}
	return strings.Join(out, " ")
}

// anyNode replaces every node URL with <node>: errors name the node that
// answered, which the client picks at random among healthy ones.
func anyNode(c *deimostest.Cluster, s string) string {
	for _, u := range c.Endpoints() {
		s = strings.ReplaceAll(s, u, "<node>")
	}
	return s
}

// normalise replaces the node URLs, which vary from run to run, by names
// padded to the same width, so that tables stay aligned; and it sorts the
// rows of tables whose order follows the URLs (after the header).
func normalise(c *deimostest.Cluster, s string) string {
	for i, u := range c.Endpoints() {
		name := "http://node" + strconv.Itoa(i+1)
		s = strings.ReplaceAll(s, u, name+strings.Repeat(" ", max(0, len(u)-len(name))))
	}
	return s
}

// sortRows sorts the lines of a table after its header.
func sortRows(table string) string {
	rows := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(rows) > 1 {
		slices.Sort(rows[1:])
	}
	return strings.Join(rows, "\n") + "\n"
}

// sdk returns an SDK client of the cluster, for checking what deimosctl did.
func sdk(t *testing.T, c *deimostest.Cluster) *deimos.Client {
	t.Helper()
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...))
	t.Cleanup(func() { client.Close() })
	return client
}

// testContext is a context that ends with the test, bounded by waitLong.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}
