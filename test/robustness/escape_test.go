package robustness

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// pathLog records the path and query of every request a node receives.
type pathLog struct {
	mu   sync.Mutex
	reqs []deimostest.Request
}

func (p *pathLog) hook(r deimostest.Request) deimostest.Fault {
	p.mu.Lock()
	p.reqs = append(p.reqs, r)
	p.mu.Unlock()
	return deimostest.FaultNone
}

func (p *pathLog) take() []deimostest.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.reqs
	p.reqs = nil
	return out
}

// escapeKeys try to leave /keys or to smuggle a query, fragment or separator in.
var escapeKeys = []string{
	"..", "../machines", "/a/../../machines", "a/./b", ".", "/./", "%2e%2e", "%2E%2E/machines",
	".%2e", "%2e.", "a%2Fb", "%2F", "..%2F..%2Fmachines", "%252e%252e", "?", "a?recursive=true",
	"a?value=x&prevExist=false", "#", "a#frag", "a;b", "a%3Bb", "a%00b", "a\x00b", "a\nb", " ",
	"a/%2e%2e/b", "\u2024\u2024", "ａ/．．", "a\\..\\b", "..;", "...", "....", "/keys/../machines",
	"/_deimos/machines/x", "a%", "%zz", "+", "a+b", "~", "a//b///c",
}

// allowedParams are the only query parameters the SDK sends for these calls.
var allowedParams = map[string]bool{"recursive": true, "sorted": true, "dir": true, "prevValue": true, "prevIndex": true}

func TestKeysCannotEscape(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	var log pathLog
	c.Node(0).SetHook(log.hook)
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...))
	defer client.Close()
	k := client.KV()

	for _, key := range escapeKeys {
		clean, cleanErr := kv.CleanKey(key)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		calls := map[string]func() (*kv.Response, error){
			"set":    func() (*kv.Response, error) { return k.Set(ctx, key, "v") },
			"get":    func() (*kv.Response, error) { return k.Get(ctx, key) },
			"create": func() (*kv.Response, error) { return k.Create(ctx, key, "v") },
			"cas":    func() (*kv.Response, error) { return k.CompareAndSwap(ctx, key, "w", kv.WithPrevValue("v")) },
			"delete": func() (*kv.Response, error) { return k.Delete(ctx, key) },
		}
		for name, call := range calls {
			resp, err := call()
			reqs := log.take()
			if cleanErr != nil || errors.Is(err, kv.ErrInvalidKey) {
				assert.ErrorIs(t, err, kv.ErrInvalidKey, "%s %q", name, key)
				assert.Empty(t, reqs, "%s %q: a rejected key sends nothing", name, key)
				continue
			}
			require.NotEmpty(t, reqs, "%s %q", name, key)
			for _, r := range reqs {
				// The server addresses the key it reads from the decoded path, cleaned:
				// it must be exactly the key the SDK normalised, below /keys.
				assert.Equal(t, kv.KeyPath("/")+clean, r.Path, "%s %q", name, key)
				assert.Equal(t, r.Path, path.Clean(r.Path), "%s %q: the server would resolve the path", name, key)
				assert.True(t, strings.HasPrefix(r.Path, "/keys/"), "%s %q reached %s", name, key, r.Path)
				for p := range r.Query {
					assert.True(t, allowedParams[p], "%s %q smuggled query parameter %q", name, key, p)
				}
			}
			if err == nil && resp.Node != nil {
				assert.Equal(t, clean, resp.Node.Key, "%s %q: the server stored another key", name, key)
			}
		}
		cancel()
	}
}

// TestErrorsAndLogsAreBounded: a 1 MiB value in a request, echoed back by the server
// in an error cause or lost in a failed exchange, never ends up whole in an error
// message or a log line.
func TestErrorsAndLogsAreBounded(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...), deimos.WithLogger(logger),
		deimos.WithRequestTimeout(500*time.Millisecond))
	defer client.Close()
	k := client.KV()
	big := strings.Repeat("x", 1<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err := k.Set(ctx, "/big", big)
	require.NoError(t, err)

	var errs []error
	// The server quotes prevValue in the cause of a failed compare: "[<1 MiB> != <1 MiB>]".
	_, err = k.CompareAndSwap(ctx, "/big", big, kv.WithPrevValue(big+"y"))
	require.ErrorIs(t, err, kv.ErrTestFailed)
	errs = append(errs, err)
	// A compare-and-delete carries prevValue in its query: the largest one
	// that fits is quoted back too, and a larger one is refused unsent.
	fits := strings.Repeat("y", kv.MaxDeletePrevValue)
	_, err = k.CompareAndDelete(ctx, "/big", kv.WithPrevValue(fits))
	require.ErrorIs(t, err, kv.ErrTestFailed)
	errs = append(errs, err)
	_, err = k.CompareAndDelete(ctx, "/big", kv.WithPrevValue("y"+big))
	require.ErrorIs(t, err, kv.ErrInvalidOption)
	errs = append(errs, err)
	// A 1 MiB write whose answer is lost, cut, or replaced by garbage.
	for _, f := range []deimostest.Fault{deimostest.FaultDropResponse, deimostest.FaultTruncate, deimostest.FaultGarbage, deimostest.Fault500} {
		c.Node(0).SetHook(deimostest.FailNext("PUT", "", f, 1))
		_, err = k.Set(ctx, "/big2", big)
		require.Error(t, err, "fault %d", f)
		errs = append(errs, err)
	}
	// A 1 MiB value read back through a truncated answer.
	c.Node(0).SetHook(deimostest.FailNext("GET", "", deimostest.FaultTruncate, 1))
	_, _ = k.Get(ctx, "/big")
	c.Node(0).SetHook(nil)

	const maxMessage = 4 << 10
	for _, err := range errs {
		assert.LessOrEqual(t, len(err.Error()), maxMessage, "unbounded error message: %s...", clipString(err.Error(), 300))
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, line := range strings.Split(logs.String(), "\n") {
		assert.LessOrEqual(t, len(line), maxMessage, "unbounded log line: %s...", clipString(line, 300))
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestLargeValuesInErrorsAndLogs pins three bugs this suite found, now fixed:
//
//   - large-compare-cause: the server quotes both values in the cause of a failed
//     compare ("[prev != current]", docs/protocol.md §7.2); the transport used to read at
//     most 64 KiB of an error body, so a failed compare-and-swap or compare-and-delete
//     of values above about 32 KiB came back as ErrMalformedResponse, not ErrTestFailed.
//   - invalid-key-message: ErrInvalidKey used to quote the whole key (up to 256 KiB).
//   - request-log-line: the debug log of each attempt used to print the whole URL,
//     query included, so a 1 MiB prevValue gave a 1 MiB log line.
func TestLargeValuesInErrorsAndLogs(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...), deimos.WithLogger(logger))
	defer client.Close()
	k := client.KV()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	t.Run("large-compare-cause", func(t *testing.T) {
		sizes := []int{1 << 10, 30 << 10, 40 << 10, 1 << 20}
		for _, n := range sizes {
			v := strings.Repeat("v", n)
			_, err := k.Set(ctx, "/cmp", v)
			require.NoError(t, err)
			_, err = k.CompareAndSwap(ctx, "/cmp", "new", kv.WithPrevValue(v+"x"))
			assert.ErrorIs(t, err, kv.ErrTestFailed, "compare-and-swap, %d-byte values", n)
			var want error = kv.ErrTestFailed
			if n+1 > kv.MaxDeletePrevValue {
				want = kv.ErrInvalidOption // too long for a DELETE's query: refused unsent
			}
			_, err = k.CompareAndDelete(ctx, "/cmp", kv.WithPrevValue("x"+v))
			assert.ErrorIs(t, err, want, "compare-and-delete, %d-byte values", n)
		}
	})
	t.Run("invalid-key-message", func(t *testing.T) {
		n := 200 << 10
		_, err := k.Set(ctx, strings.Repeat("k", n)+"\x01", "v")
		require.ErrorIs(t, err, kv.ErrInvalidKey)
		assert.LessOrEqual(t, len(err.Error()), 4<<10, "unbounded message: %s", clipString(err.Error(), 200))
	})
	t.Run("request-log-line", func(t *testing.T) {
		logMu.Lock()
		logs.Reset()
		logMu.Unlock()
		// The largest prevValue a DELETE query may carry (escaped: 768 KiB).
		_, _ = k.CompareAndDelete(ctx, "/cmp", kv.WithPrevValue(strings.Repeat("%", kv.MaxDeletePrevValue)))
		logMu.Lock()
		defer logMu.Unlock()
		for _, line := range strings.Split(logs.String(), "\n") {
			assert.LessOrEqual(t, len(line), 4<<10, "unbounded log line: %s", clipString(line, 200))
		}
	})
}
