package transport

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/observe"
)

// seedLatency fills the latency window of every endpoint of tr with d, so
// that a read to any of them is expected to be hedged when d exceeds the
// hedge delay.
func seedLatency(t *testing.T, tr *Transport, d time.Duration) {
	t.Helper()
	const busy = 1000
	seen := map[*endpoints.Endpoint]bool{}
	for i := 0; len(seen) < tr.set.Len(); i++ {
		require.Less(t, i, 1000, "every endpoint is picked")
		ep := tr.set.Pick(nil)
		if !seen[ep] {
			seen[ep] = true
			for range busy {
				ep.Begin() // a busy endpoint loses the pick to the others
			}
		}
	}
	for ep := range seen {
		for range busy {
			ep.End()
		}
		for range 64 {
			ep.ObserveLatency(d)
		}
	}
}

// sequenced answers sequential hedged calls: odd requests are primaries,
// which take primary, even ones hedges, which take hedge. It counts the
// requests whose client went away before the answer (a cut connection).
func sequenced(primary, hedge time.Duration, cut *atomic.Int64) http.HandlerFunc {
	var seq atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		d := primary
		if seq.Add(1)%2 == 0 {
			d = hedge
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			cut.Add(1)
			return
		}
		io.WriteString(w, okBody)
	}
}

// A primary to an endpoint whose recent latency makes a hedge likely runs
// off the caller's goroutine: whichever copy loses runs on to its answer,
// which is drained, so no read costs a connection, even though the caller
// cancels its context as soon as the call returns.
func TestHedge_ALikelyHedgedPrimaryKeepsItsConnection(t *testing.T) {
	for _, tc := range []struct {
		name             string
		primary, hedge   time.Duration
		wantPrimaryLoses bool
	}{
		{"the hedge wins", 150 * time.Millisecond, 5 * time.Millisecond, true},
		{"the primary wins", 40 * time.Millisecond, 150 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cut atomic.Int64
			tr, dials, idle := newHedgeRig(t, sequenced(tc.primary, tc.hedge, &cut), 20*time.Millisecond)
			seedLatency(t, tr, 200*time.Millisecond)
			const calls = 6
			for i := 0; i < calls; i++ {
				ctx, cancel := context.WithCancel(context.Background())
				var out wireResp
				_, err := tr.Do(ctx, getReq("/a"), &out)
				cancel()
				require.NoError(t, err)
				require.Equal(t, "v", out.Node.Value)
				require.Eventually(t, idle, 2*time.Second, time.Millisecond, "the losing copy ends")
			}
			require.Equal(t, int64(calls), tr.hedgesSent.Load())
			if tc.wantPrimaryLoses {
				require.Equal(t, int64(calls), tr.primariesLost.Load())
			} else {
				require.Zero(t, tr.primariesLost.Load())
			}
			require.Zero(t, tr.hedgesCut.Load())
			assert.Zero(t, cut.Load(), "every loser's answer was drained")
			assert.Equal(t, int64(2), dials.Load(), "one connection per server, reused")
		})
	}
}

// A read to an endpoint that answers within the hedge delay is sent once
// and answered by that endpoint.
func TestHedge_AFastPrimaryAnswersAlone(t *testing.T) {
	var requests atomic.Int64
	h := func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.WriteString(w, okBody)
	}
	tr, dials, idle := newHedgeRig(t, h, 200*time.Millisecond)
	seedLatency(t, tr, time.Millisecond)
	const calls = 20
	for i := 0; i < calls; i++ {
		resp, err := tr.Do(context.Background(), getReq("/a"), nil)
		require.NoError(t, err)
		require.NotEmpty(t, resp.Endpoint)
		require.True(t, idle(), "nothing left in flight once the call returned")
	}
	assert.Equal(t, int64(calls), requests.Load(), "one request per read")
	assert.Zero(t, tr.hedgesSent.Load())
	assert.LessOrEqual(t, dials.Load(), int64(2))
}

// A primary that was not expected to be hedged (its endpoint answered
// quickly so far) and loses to its hedge is cut to free the caller: that
// is what the common path pays for running on the caller's goroutine.
func TestHedge_AnUnforeseenSlowPrimaryIsCut(t *testing.T) {
	var cut atomic.Int64
	tr, _, idle := newHedgeRig(t, sequenced(time.Second, 5*time.Millisecond, &cut), 20*time.Millisecond)
	_, err := tr.Do(context.Background(), getReq("/a"), nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return cut.Load() == 1 && idle() }, 2*time.Second, time.Millisecond)
	require.Equal(t, int64(1), tr.primariesLost.Load())
}

// The caller's end cuts a detached primary and its hedge while neither has
// won: the call returns the caller's error and nothing is left in flight.
func TestHedge_CallersEndCutsADetachedPrimary(t *testing.T) {
	hung := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	tr, _, idle := newHedgeRig(t, hung, 20*time.Millisecond)
	seedLatency(t, tr, 200*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := tr.Do(ctx, getReq("/a"), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, idle, 2*time.Second, time.Millisecond)
	for _, st := range tr.Endpoints() {
		assert.Equal(t, "healthy", st.State, "the caller's end is no endpoint's fault: %s", st.URL)
	}
}

// Close cuts a detached primary at once: it waits for the goroutine, not
// for the attempt timeout.
func TestHedge_CloseCutsADetachedPrimary(t *testing.T) {
	arrived := make(chan struct{}, 4)
	hung := func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}
	tr, _, _ := newHedgeRig(t, hung, time.Second) // no hedge before the attempt timeout
	seedLatency(t, tr, 2*time.Second)
	done := make(chan error, 1)
	go func() {
		_, err := tr.Do(context.Background(), getReq("/a"), nil)
		done <- err
	}()
	<-arrived
	start := time.Now()
	require.NoError(t, tr.Close())
	assert.Less(t, time.Since(start), 500*time.Millisecond, "Close does not wait out the attempt")
	require.Error(t, <-done)
}

// When one copy of a detached read fails and the other answers, the call
// has the answer, and the hooks tell both: the failed copy as retried, the
// other as the call's.
func TestHedge_ADetachedReadSurvivesEitherCopyFailing(t *testing.T) {
	for _, tc := range []struct {
		name           string
		primaryFails   bool
		primary, hedge time.Duration
	}{
		{"the primary fails after the hedge left", true, 40 * time.Millisecond, 100 * time.Millisecond},
		{"the hedge fails before the primary answers", false, 80 * time.Millisecond, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seq atomic.Int64
			h := func(w http.ResponseWriter, r *http.Request) {
				isPrimary := seq.Add(1)%2 == 1
				d := tc.hedge
				if isPrimary {
					d = tc.primary
				}
				select {
				case <-time.After(d):
				case <-r.Context().Done():
					return
				}
				if isPrimary == tc.primaryFails {
					panic(http.ErrAbortHandler) // the connection drops: no answer
				}
				io.WriteString(w, okBody)
			}
			rec := &recorder{t: t}
			tr, _, idle := newHedgeRig(t, h, 20*time.Millisecond, withHooks(rec.hooks()))
			seedLatency(t, tr, 200*time.Millisecond)
			var out wireResp
			_, err := tr.Do(context.Background(), getReq("/a"), &out)
			require.NoError(t, err)
			require.Equal(t, "v", out.Node.Value)
			require.Eventually(t, func() bool { _, a := rec.ended(); return a == 2 && idle() }, 2*time.Second, time.Millisecond)

			got := rec.snapshot()
			require.Len(t, got.ops, 1)
			assert.Equal(t, observe.OK, got.ops[0].Outcome)
			assert.Equal(t, 2, got.ops[0].Attempts)
			assert.Equal(t, 1, got.ops[0].Hedges)
			byHedged := map[bool]observe.Outcome{}
			for i, r := range got.results {
				byHedged[got.attempts[i].Hedged] = r.Outcome
			}
			failed, answered := observe.Outcome(observe.Retried), observe.Outcome(observe.OK)
			if !tc.primaryFails {
				failed, answered = answered, failed
			}
			assert.Equal(t, failed, byHedged[false], "the primary")
			assert.Equal(t, answered, byHedged[true], "the hedge")
			if tc.primaryFails {
				assert.Equal(t, int64(1), tr.primariesLost.Load())
			} else {
				assert.Zero(t, tr.primariesLost.Load())
			}
		})
	}
}
