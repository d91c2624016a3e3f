package deimos_test

// The tour of our own README, as functions, run against a cluster.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/kv"
)

func tourConditional(ctx context.Context, client *deimos.Client) error {
	if _, err := client.Set(ctx, "/config", "v1"); err != nil {
		return err
	}
	if _, err := client.Set(ctx, "/leader", "node-1", deimos.WithPrevExist(false)); err != nil {
		return err
	}
	if _, err := client.Set(ctx, "/leader", "node-1", deimos.WithPrevExist(true), deimos.WithTTL(30*time.Second)); err != nil {
		return err
	}
	resp, err := client.Set(ctx, "/config", "v2", deimos.WithPrevValue("v1"))
	if err != nil {
		return err
	}
	if _, err = client.Set(ctx, "/config", "v3", deimos.WithPrevIndex(resp.Node.ModifiedIndex)); err != nil {
		return err
	}
	_, err = client.Delete(ctx, "/leader", deimos.WithPrevValue("node-1"))
	return err
}

func tourKV(ctx context.Context, client *deimos.Client) error {
	k := client.KV()
	created, err := k.Create(ctx, "/jobs/42", "pending", kv.WithTTL(time.Minute))
	if err != nil {
		return err
	}
	if _, err := k.Update(ctx, "/jobs/42", "running", kv.WithTTL(time.Minute)); err != nil {
		return err
	}
	done, err := k.CompareAndSwap(ctx, "/jobs/42", "done", kv.WithPrevValue("running"))
	if err != nil {
		return err
	}
	if _, err := k.CompareAndDelete(ctx, "/jobs/42", kv.WithPrevIndex(done.Node.ModifiedIndex)); err != nil {
		return err
	}
	_ = created
	if _, err := k.Mkdir(ctx, "/queue"); err != nil {
		return err
	}
	if _, err := k.CreateInOrder(ctx, "/queue", "job"); err != nil {
		return err
	}
	if _, err := k.List(ctx, "/queue", kv.WithNumericOrder()); err != nil {
		return err
	}

	type Config struct {
		Host string
		Port int
	}
	configs := kv.NewTyped[Config](k, nil)
	if _, err := configs.Set(ctx, "/config/db", Config{"db", 5432}); err != nil {
		return err
	}
	e, err := configs.Get(ctx, "/config/db")
	if err != nil || e.Value.Port != 5432 {
		return errors.Join(err, errors.New("typed get"))
	}
	counters := kv.NewTyped[int](k, nil)
	_, err = counters.Update(ctx, "/visits", func(n int) (int, error) { return n + 1, nil })
	return err
}

func TestREADMETour_Runs(t *testing.T) {
	client, _ := newClient(t)
	require.NoError(t, tourConditional(t.Context(), client))
	_, err := client.Delete(t.Context(), "/config")
	require.NoError(t, err)
	require.NoError(t, tourKV(t.Context(), client))

	resp, err := client.Key("/config/db").TTL(30*time.Second).Set(t.Context(), "postgres://db:5432")
	require.NoError(t, err)
	require.Equal(t, int64(30), resp.Node.TTL)
}
