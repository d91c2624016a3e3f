package concurrency_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestErrInvalidOption_IsKVs(t *testing.T) {
	require.True(t, concurrency.ErrInvalidOption == kv.ErrInvalidOption, "the same value, not a look-alike")
	require.True(t, concurrency.ErrInvalidTTL == kv.ErrInvalidTTL)
	require.True(t, deimos.ErrInvalidTTL == concurrency.ErrInvalidTTL)
}

// A TTL out of range, given to any recipe, fails with an error matching
// ErrInvalidTTL (and ErrInvalidOption) whichever package the caller tests
// against, and nothing is sent.
func TestInvalidTTL_MatchesErrInvalidTTLFromEveryRecipe(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	client := newClient(t, c, 0)
	ctx := t.Context()
	for _, ttl := range []time.Duration{0, -time.Second, 100 * time.Millisecond, kv.MaxTTL + time.Second} {
		recipes := map[string]func() error{
			"session (election, semaphore, mutex)": func() error {
				_, err := concurrency.NewSession(client, concurrency.WithTTL(ttl))
				return err
			},
			"lock": func() error {
				return concurrency.NewDistributedLock(client, "/locks/ttl", "me", concurrency.WithTTL(ttl)).Lock(ctx)
			},
			"try lock": func() error {
				return concurrency.NewDistributedLock(client, "/locks/ttl", "me", concurrency.WithTTL(ttl)).TryLock(ctx)
			},
			"with lock": func() error {
				return concurrency.WithLock(ctx, client, "/locks/ttl", "me", func() error { return nil }, concurrency.WithTTL(ttl))
			},
			"facade lock (deimos.WithTTL)": func() error {
				return client.NewDistributedLock("/locks/ttl", "me", deimos.WithTTL(ttl)).Lock(ctx)
			},
			"facade with lock (deimos.WithTTL)": func() error {
				return client.WithLock(ctx, "/locks/ttl", "me", func() error { return nil }, deimos.WithTTL(ttl))
			},
		}
		for name, recipe := range recipes {
			t.Run(name+"/"+ttl.String(), func(t *testing.T) {
				err := recipe()
				require.ErrorIs(t, err, deimos.ErrInvalidTTL)
				require.ErrorIs(t, err, kv.ErrInvalidTTL)
				require.ErrorIs(t, err, concurrency.ErrInvalidOption)
				require.Equal(t, 1, strings.Count(err.Error(), "concurrency:"), "one prefix: %q", err)
			})
		}
	}
	require.Zero(t, c.Requests(""), "nothing was sent")
}

func TestInvalidOptions_AreReportedBeforeSending(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	client := newClient(t, c, 0)
	ctx := t.Context()
	err := concurrency.NewDistributedLock(client, "/locks/period", "me", concurrency.WithRenewalPeriod(0)).Lock(ctx)
	require.ErrorIs(t, err, concurrency.ErrInvalidOption)
	s := newSession(t, client, 5*time.Second)
	require.ErrorIs(t, concurrency.NewSemaphore(s, "/sems/none", 0).Acquire(ctx), kv.ErrInvalidOption)
	require.ErrorIs(t, concurrency.NewMutex(s, "/").Lock(ctx), kv.ErrInvalidKey)
	require.ErrorIs(t, concurrency.NewElection(s, "").Campaign(ctx, "v"), kv.ErrInvalidKey)
	require.Zero(t, c.Requests(""), "nothing was sent")
}
