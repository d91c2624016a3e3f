package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/observe"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// recorder keeps every hook event and checks that each end hook gets the
// context its start hook returned.
type recorder struct {
	t  *testing.T
	mu sync.Mutex

	ops       []observe.Result
	opNames   []observe.Operation
	attempts  []observe.Attempt
	results   []observe.AttemptResult
	states    []observe.EndpointChange
	members   []observe.MembershipChange
	started   int
	attemptsN atomic.Int64
}

type opKey struct{}
type attemptKey struct{}

func (r *recorder) hooks() observe.Hooks {
	return observe.Hooks{
		OperationStart: func(ctx context.Context, op observe.Operation) context.Context {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.started++
			return context.WithValue(ctx, opKey{}, op.Name)
		},
		OperationEnd: func(ctx context.Context, op observe.Operation, res observe.Result) {
			assert.Equal(r.t, op.Name, ctx.Value(opKey{}), "OperationEnd gets OperationStart's context")
			r.mu.Lock()
			defer r.mu.Unlock()
			r.opNames = append(r.opNames, op)
			r.ops = append(r.ops, res)
		},
		AttemptStart: func(ctx context.Context, a observe.Attempt) context.Context {
			assert.Equal(r.t, a.Operation.Name, ctx.Value(opKey{}), "AttemptStart gets the operation's context")
			r.attemptsN.Add(1)
			return context.WithValue(ctx, attemptKey{}, a)
		},
		AttemptEnd: func(ctx context.Context, a observe.Attempt, res observe.AttemptResult) {
			assert.Equal(r.t, a, ctx.Value(attemptKey{}), "AttemptEnd gets AttemptStart's context")
			r.mu.Lock()
			defer r.mu.Unlock()
			r.attempts = append(r.attempts, a)
			r.results = append(r.results, res)
		},
		EndpointState: func(c observe.EndpointChange) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.states = append(r.states, c)
		},
		Membership: func(m observe.MembershipChange) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.members = append(r.members, m)
		},
	}
}

func (r *recorder) ended() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops), len(r.results)
}

// snapshot copies what was recorded so far.
func (r *recorder) snapshot() recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorder{
		ops:      append([]observe.Result(nil), r.ops...),
		opNames:  append([]observe.Operation(nil), r.opNames...),
		attempts: append([]observe.Attempt(nil), r.attempts...),
		results:  append([]observe.AttemptResult(nil), r.results...),
		states:   append([]observe.EndpointChange(nil), r.states...),
		members:  append([]observe.MembershipChange(nil), r.members...),
		started:  r.started,
	}
}

func withHooks(h observe.Hooks) func(*Config) {
	return func(c *Config) { c.Hooks = append(c.Hooks, h) }
}

func withLogger(l *slog.Logger) func(*Config) {
	return func(c *Config) { c.Logger = l }
}

// logLines parses the JSON log lines written so far.
func logLines(t *testing.T, buf *deimostest.LogBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// countLogs counts the lines with the given level and message.
func countLogs(lines []map[string]any, level, msg string) int {
	n := 0
	for _, l := range lines {
		if l["level"] == level && l["msg"] == msg {
			n++
		}
	}
	return n
}

func jsonLogger(buf *deimostest.LogBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestHooks_ReadRetriedAfterA500ReportsBothAttempts(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	var logs deimostest.LogBuffer
	rec := &recorder{t: t}
	tr := clusterTransport(t, c, withHooks(rec.hooks()), withLogger(jsonLogger(&logs)))
	set(t, tr, "/a", "v")
	c.Node(0).SetHook(deimostest.FailNext("GET", "/keys/a", deimostest.Fault500, 1))

	var out wireResp
	_, err := tr.Do(context.Background(), getReq("/a"), &out)
	require.NoError(t, err)

	got := rec.snapshot()
	require.Len(t, got.ops, 2, "the set, then the get")
	assert.Equal(t, observe.Operation{Name: "get", Method: "GET", Key: "/a", Kind: observe.Read}, got.opNames[1])
	op := got.ops[1]
	assert.Equal(t, observe.OK, op.Outcome)
	assert.NoError(t, op.Err)
	assert.Equal(t, 2, op.Attempts)
	assert.Zero(t, op.Hedges)
	assert.Equal(t, http.StatusOK, op.StatusCode)
	assert.Equal(t, c.Node(0).URL(), op.Endpoint)
	assert.Positive(t, op.Duration)

	require.Len(t, got.results, 3)
	first, second := got.results[1], got.results[2]
	assert.Equal(t, observe.Attempt{Operation: got.opNames[1], Endpoint: c.Node(0).URL(), Number: 1}, got.attempts[1])
	assert.Equal(t, observe.Retried, first.Outcome)
	assert.Equal(t, http.StatusInternalServerError, first.StatusCode)
	assert.ErrorIs(t, first.Err, ErrServerUnavailable)
	assert.Equal(t, 2, got.attempts[2].Number)
	assert.Equal(t, observe.OK, second.Outcome)
	assert.NoError(t, second.Err)
	assert.Equal(t, http.StatusOK, second.StatusCode)
	assert.Positive(t, second.BytesReceived, "the body was counted")
	assert.Zero(t, second.BytesSent, "a GET has no body")

	lines := logLines(t, &logs)
	assert.Equal(t, 1, countLogs(lines, "DEBUG", "deimos retry"), "one retry, one line")
}

func TestHooks_WriteCountsItsBodyAndOutcome(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	rec := &recorder{t: t}
	tr := clusterTransport(t, c, withHooks(rec.hooks()))

	set(t, tr, "/w", "value")
	for _, n := range c.Nodes() {
		n.SetHook(deimostest.FailNext("PUT", "/keys/drop", deimostest.FaultDropResponse, 1))
	}
	_, err := tr.Do(context.Background(), putReq("/drop", map[string]string{"value": "v"}), nil)
	require.ErrorIs(t, err, ErrUnknownOutcome)
	_, err = tr.Do(context.Background(), getReq("/missing"), nil)
	require.ErrorIs(t, err, ErrKeyNotFound)

	got := rec.snapshot()
	require.Len(t, got.ops, 3)
	assert.Equal(t, observe.Write, got.opNames[0].Kind)
	assert.Equal(t, observe.OK, got.ops[0].Outcome)
	assert.Equal(t, int64(len("value=value")), got.results[0].BytesSent)
	assert.Equal(t, http.StatusCreated, got.results[0].StatusCode)

	assert.Equal(t, observe.UnknownOutcome, got.ops[1].Outcome)
	assert.ErrorIs(t, got.ops[1].Err, ErrUnknownOutcome)
	assert.Equal(t, 1, got.ops[1].Attempts, "a maybe-applied write is never re-sent")
	assert.Equal(t, observe.UnknownOutcome, got.results[1].Outcome, "the last attempt has the call's outcome")
	assert.Error(t, got.results[1].Err)

	assert.Equal(t, observe.ServerError, got.ops[2].Outcome)
	assert.Equal(t, http.StatusNotFound, got.ops[2].StatusCode)
	assert.ErrorIs(t, got.results[2].Err, ErrKeyNotFound)
}

func TestHooks_HedgedReadReportsBothCopies(t *testing.T) {
	// inline: no latency samples yet, the primary runs on the caller's
	// goroutine; detached: the endpoints look slow, so it runs off it.
	for _, detached := range []bool{false, true} {
		t.Run(map[bool]string{false: "inline", true: "detached"}[detached], func(t *testing.T) {
			c := deimostest.NewCluster(t, 2)
			rec := &recorder{t: t}
			tr := clusterTransport(t, c, withHooks(rec.hooks()))
			set(t, tr, "/h", "v")
			if detached {
				seedLatency(t, tr, time.Second)
			}
			for _, n := range c.Nodes() {
				// Both slower than the hedge delay (at most the cap), so a
				// hedge goes out and one of the two copies wins.
				n.SetLatency(150 * time.Millisecond)
			}
			tr.tune.hedgeCap = 50 * time.Millisecond
			_, err := tr.Do(context.Background(), getReq("/h"), nil)
			require.NoError(t, err)
			// The loser may end after the call returned.
			require.Eventually(t, func() bool { _, a := rec.ended(); return a == 3 }, 5*time.Second, time.Millisecond)

			got := rec.snapshot()
			op := got.ops[1]
			assert.Equal(t, observe.OK, op.Outcome)
			assert.Equal(t, 2, op.Attempts)
			assert.Equal(t, 1, op.Hedges)
			byOutcome := map[observe.Outcome]observe.Attempt{}
			for i, r := range got.results[1:] {
				byOutcome[r.Outcome] = got.attempts[i+1]
			}
			require.Contains(t, byOutcome, observe.OK)
			require.Contains(t, byOutcome, observe.Superseded)
			assert.NotEqual(t, byOutcome[observe.OK].Endpoint, byOutcome[observe.Superseded].Endpoint)
			assert.NotEqual(t, byOutcome[observe.OK].Hedged, byOutcome[observe.Superseded].Hedged, "one primary, one hedge")
			assert.Equal(t, 1, byOutcome[observe.OK].Number)
			assert.Equal(t, 1, byOutcome[observe.Superseded].Number, "a hedge has its primary's number")
		})
	}
}

func TestHooks_EndpointStatesAndAllFailingAreLoggedOncePerTransition(t *testing.T) {
	c := deimostest.NewCluster(t, 2)
	var logs deimostest.LogBuffer
	rec := &recorder{t: t}
	tr := clusterTransport(t, c, withHooks(rec.hooks()), withLogger(jsonLogger(&logs)),
		func(cfg *Config) { cfg.RequestTimeout = 200 * time.Millisecond })
	set(t, tr, "/e", "v")
	for _, n := range c.Nodes() {
		n.Stop()
	}
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		_, err := tr.Do(ctx, getReq("/e"), nil)
		cancel()
		require.ErrorIs(t, err, ErrClusterUnavailable)
	}
	got := rec.snapshot()
	last := got.ops[len(got.ops)-1]
	assert.Equal(t, observe.Unavailable, last.Outcome)

	lines := logLines(t, &logs)
	assert.Equal(t, 2, countLogs(lines, "WARN", "deimos endpoint out of rotation"), "once per endpoint")
	assert.Equal(t, 1, countLogs(lines, "WARN", "deimos all endpoints failing"), "once, whatever the number of requests")
	var sawAllDown bool
	for _, s := range got.states {
		if s.To == observe.CoolingDown && s.From == observe.Healthy && s.Healthy == 0 && s.Total == 2 {
			sawAllDown = true
		}
	}
	assert.True(t, sawAllDown, "a hook sees the change that left nothing healthy: %+v", got.states)

	for _, n := range c.Nodes() {
		require.NoError(t, n.Start())
	}
	require.Eventually(t, func() bool {
		_, err := tr.Do(context.Background(), getReq("/e"), nil)
		return err == nil && countLogs(logLines(t, &logs), "INFO", "deimos endpoint back in rotation") >= 1
	}, 5*time.Second, 5*time.Millisecond)
	lines = logLines(t, &logs)
	assert.Equal(t, 1, countLogs(lines, "INFO", "deimos cluster reachable again"))
	assert.Equal(t, 1, countLogs(lines, "WARN", "deimos all endpoints failing"))
	got = rec.snapshot()
	var back bool
	for _, s := range got.states {
		back = back || (s.To == observe.Healthy && s.Healthy >= 1)
	}
	assert.True(t, back, "a hook sees an endpoint come back: %+v", got.states)
}

func TestHooks_MembershipChangesAreReportedAndLogged(t *testing.T) {
	var members atomic.Value // the member list; SELF stands for the server's URL
	var self string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/machines" {
			io.WriteString(w, strings.ReplaceAll(members.Load().(string), "SELF", self))
			return
		}
		io.WriteString(w, okBody)
	}))
	defer srv.Close()
	self = srv.URL

	var logs deimostest.LogBuffer
	rec := &recorder{t: t}
	tr, err := New(Config{Endpoints: []string{srv.URL}, Hooks: []observe.Hooks{rec.hooks()}, Logger: jsonLogger(&logs)})
	require.NoError(t, err)
	defer tr.Close()

	got := rec.snapshot()
	require.Len(t, got.members, 1, "the initial endpoints are reported")
	assert.Equal(t, observe.MembershipChange{Added: []string{srv.URL}, Endpoints: []string{srv.URL}}, got.members[0])

	members.Store("SELF, http://127.0.0.1:1")
	require.NoError(t, tr.Sync(context.Background()))
	members.Store("SELF")
	require.NoError(t, tr.Sync(context.Background()))
	require.NoError(t, tr.Sync(context.Background())) // no change: nothing reported

	got = rec.snapshot()
	require.Len(t, got.members, 3)
	assert.Equal(t, observe.MembershipChange{Added: []string{"http://127.0.0.1:1"}, Endpoints: []string{srv.URL, "http://127.0.0.1:1"}}, got.members[1])
	assert.Equal(t, observe.MembershipChange{Removed: []string{"http://127.0.0.1:1"}, Endpoints: []string{srv.URL}}, got.members[2])
	assert.Equal(t, "sync", got.opNames[0].Name)
	assert.Equal(t, 2, countLogs(logLines(t, &logs), "INFO", "deimos membership changed"))
}

func TestHooks_SeveralSetsEachGetTheirOwnContexts(t *testing.T) {
	var order []string
	var mu sync.Mutex
	mk := func(name string) observe.Hooks {
		type key struct{}
		return observe.Hooks{
			OperationStart: func(ctx context.Context, op observe.Operation) context.Context {
				mu.Lock()
				order = append(order, name+" start")
				mu.Unlock()
				return context.WithValue(ctx, key{}, name)
			},
			OperationEnd: func(ctx context.Context, op observe.Operation, r observe.Result) {
				mu.Lock()
				defer mu.Unlock()
				order = append(order, fmt.Sprintf("%s end %v", name, ctx.Value(key{})))
			},
		}
	}
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) },
		withHooks(mk("a")), withHooks(observe.Hooks{}), withHooks(mk("b")))
	_, err := tr.Do(context.Background(), getReq("/x"), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"a start", "b start", "a end a", "b end b"}, order)
}

func TestHooks_NoneMeansNoObserver(t *testing.T) {
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) },
		withHooks(observe.Hooks{}))
	assert.Nil(t, tr.obs, "empty hooks and no logger: nothing to call")
	tr2, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) },
		withHooks(observe.Hooks{Membership: func(observe.MembershipChange) {}}))
	require.NotNil(t, tr2.obs)
	assert.False(t, tr2.obs.ops, "no operation hook: calls are not observed")
}

func TestOutcomeOf(t *testing.T) {
	ctxErr := context.DeadlineExceeded
	for _, tc := range []struct {
		name       string
		err        error
		callerDone bool
		want       observe.Outcome
	}{
		{"success", nil, false, observe.OK},
		{"server error", &Error{Code: 100}, false, observe.ServerError},
		{"server error after the caller left", &Error{Code: 100}, true, observe.ServerError},
		{"unknown outcome", &UnknownOutcomeError{Err: ctxErr}, true, observe.UnknownOutcome},
		{"endpoints failed", &ClusterError{Endpoints: []EndpointError{{Endpoint: "x", Err: io.EOF}}, Cause: ctxErr}, true, observe.Unavailable},
		{"caller left before any failure", &ClusterError{Cause: ctxErr}, true, observe.Canceled},
		{"closed", ErrClosed, false, observe.Canceled},
		{"watch ended by its caller", &RequestError{Err: context.Canceled}, true, observe.Canceled},
		{"malformed", &ResponseError{Kind: ErrMalformedResponse}, false, observe.Failed},
		{"attempts ran out", &ClusterError{}, false, observe.Unavailable},
		{"other", errors.New("x"), false, observe.Failed},
	} {
		assert.Equal(t, tc.want, outcomeOf(tc.err, tc.callerDone), tc.name)
	}
}
