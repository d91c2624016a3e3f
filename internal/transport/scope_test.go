package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Calls with context.Background() share one attempt scope; a timeout spends
// it, and the calls after it still get their own full attempt timeout.
func TestScope_TimeoutsAndAnswersAlternateOnASharedContext(t *testing.T) {
	var n atomic.Int64
	const timeout = 100 * time.Millisecond
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			select { // every second request hangs past the attempt timeout
			case <-r.Context().Done():
			case <-time.After(10 * timeout):
			}
			return
		}
		io.WriteString(w, okBody)
	}, func(cfg *Config) { cfg.RequestTimeout = timeout })
	for i := range 6 {
		_, err := tr.Do(context.Background(), putReq("/a", map[string]string{"value": "v"}), &wireResp{})
		if i%2 == 0 {
			require.NoError(t, err, "call %d", i)
			continue
		}
		require.ErrorIs(t, err, ErrUnknownOutcome, "call %d", i)
		require.ErrorIs(t, err, ErrAttemptTimeout, "call %d", i)
	}
}

// The attempt timeout bounds reading the body too: a node that sends its
// headers and then stalls is cut.
func TestScope_AStalledBodyIsCutByTheAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, okBody[:10])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, func(cfg *Config) { cfg.RequestTimeout = 100 * time.Millisecond })
	for range 3 {
		_, err := tr.Do(context.Background(), putReq("/a", map[string]string{"value": "v"}), &wireResp{})
		require.ErrorIs(t, err, ErrUnknownOutcome)
		require.ErrorIs(t, err, ErrMalformedResponse)
	}
}

// Each call's requests carry its own context's values, even when calls
// share a scope: a client trace in one call's context sees that call's
// request only.
func TestScope_EachCallCarriesItsOwnContextValues(t *testing.T) {
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) })
	var got [3]atomic.Int64
	for i := range got {
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(httptrace.GotConnInfo) { got[i].Add(1) },
		})
		for range 2 {
			_, err := tr.Do(ctx, getReq("/a"), &wireResp{})
			require.NoError(t, err)
			_, err = tr.Do(context.Background(), getReq("/a"), &wireResp{})
			require.NoError(t, err)
		}
	}
	for i := range got {
		assert.Equal(t, int64(2), got[i].Load(), "trace %d saw its own two requests", i)
	}
}

// A context that may end gets a scope of its own per call: cancelling it
// after its calls returned touches no later call.
func TestScope_ACancellableContextEndsOnlyItsOwnCalls(t *testing.T) {
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) })
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		_, err := tr.Do(ctx, getReq("/a"), &wireResp{})
		require.NoError(t, err)
		cancel()
		_, err = tr.Do(context.Background(), getReq("/a"), &wireResp{})
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tr.Do(ctx, getReq("/a"), &wireResp{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestShareable_OnlyContextsThatNeverEndAndCompareSafely(t *testing.T) {
	type key struct{}
	assert.True(t, shareable(context.Background()))
	assert.True(t, shareable(context.TODO()))
	assert.True(t, shareable(context.WithValue(context.Background(), key{}, 1)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	assert.False(t, shareable(ctx))
	assert.False(t, shareable(context.WithoutCancel(ctx)), "a struct value, not known to compare safely")
}

// A context made by WithScopeReuse shares one scope between the calls made
// with it, one after another or at once, even though it may end; when it
// ends, its scope ends with it and is not handed out again. A context
// derived from it does not share.
func TestScope_WithScopeReuseSharesOneScopeUntilTheContextEnds(t *testing.T) {
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reuse := WithScopeReuse(ctx)
	h := holderOf(reuse)
	require.NotNil(t, h)
	assert.Nil(t, holderOf(ctx), "only the context WithScopeReuse made has a holder")
	derived, stop := context.WithTimeout(reuse, time.Minute)
	defer stop()
	assert.Nil(t, holderOf(derived), "nor do contexts derived from it")

	_, err := tr.Do(reuse, getReq("/a"), &wireResp{})
	require.NoError(t, err)
	first := h.idle.Load()
	require.NotNil(t, first, "the scope waits in the holder between calls")
	for i := range 5 {
		_, err := tr.Do(reuse, getReq("/a"), &wireResp{})
		require.NoError(t, err)
		assert.Same(t, first, h.idle.Load(), "call %d reused it", i)
	}
	_, err = tr.Do(derived, getReq("/a"), &wireResp{})
	require.NoError(t, err)
	assert.Same(t, first, h.idle.Load(), "a derived context's call left it alone")

	done := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := tr.Do(reuse, getReq("/a"), &wireResp{})
			done <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-done)
	}
	require.NotNil(t, h.idle.Load(), "one scope still waits after concurrent calls")

	cancel()
	held := h.idle.Load()
	require.Error(t, held.cause(), "the held scope ended with its context")
	_, err = tr.Do(reuse, getReq("/a"), &wireResp{})
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, takeHeld(reuse), "an ended scope is never handed out")
}
