package transport

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetryDelay_FirstRetryAtOnceThenJitteredExponential(t *testing.T) {
	c := &call{t: &Transport{policy: newPolicy(Config{})}}
	assert.Zero(t, c.t.policy.delay(c), "the first retry goes to another endpoint at once")
	var delays []time.Duration
	for c.tries = 1; c.tries < 40; c.tries++ {
		d := c.t.policy.delay(c)
		require.GreaterOrEqual(t, d, retryWaitMin/2, "retry %d", c.tries)
		require.LessOrEqual(t, d, retryWaitMax*3/2, "retry %d", c.tries)
		delays = append(delays, d)
	}
	assert.Greater(t, delays[len(delays)-1], 4*retryWaitMin, "the pause grows")
	assert.NotEqual(t, delays[len(delays)-1], delays[len(delays)-2], "jittered, not in lockstep")
}

func TestRetryDelay_UserBackoffReplacesTheDefault(t *testing.T) {
	var got []int
	c := &call{t: &Transport{policy: newPolicy(Config{RetryBackoff: func(attempt int) time.Duration {
		got = append(got, attempt)
		return time.Duration(attempt) * time.Millisecond
	}})}}
	for c.tries = 0; c.tries < 3; c.tries++ {
		assert.Equal(t, time.Duration(c.tries)*time.Millisecond, c.t.policy.delay(c))
	}
	assert.Equal(t, []int{0, 1, 2}, got)
}

// Close ends a read that is pausing between retries, instead of letting it
// sleep out its backoff.
func TestDo_CloseEndsThePauseBetweenRetries(t *testing.T) {
	paused := make(chan struct{})
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}, func(cfg *Config) {
		cfg.RetryBackoff = func(attempt int) time.Duration {
			if attempt == 0 {
				return 0
			}
			if attempt == 1 {
				close(paused)
			}
			return time.Hour
		}
	})
	got := make(chan error, 1)
	go func() {
		_, err := tr.Do(context.Background(), getReq("/a"), nil)
		got <- err
	}()
	<-paused
	require.NoError(t, tr.Close())
	err := <-got
	require.ErrorIs(t, err, ErrClusterUnavailable)
	var ce *ClusterError
	require.ErrorAs(t, err, &ce)
	assert.Len(t, ce.Endpoints, 1, "names the endpoint that failed")
}
