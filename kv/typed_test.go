package kv_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/kv"
)

type config struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

func TestTyped_SetGetCreateList(t *testing.T) {
	k, _ := newCluster(t)
	ctx := t.Context()
	cfgs := kv.NewTyped[config](k, nil)

	_, err := cfgs.Set(ctx, "/cfg/db", config{Host: "db", Port: 5432})
	require.NoError(t, err)
	got, err := cfgs.Get(ctx, "/cfg/db")
	require.NoError(t, err)
	assert.Equal(t, config{Host: "db", Port: 5432}, got.Value)
	assert.Equal(t, "/cfg/db", got.Key)
	assert.NotZero(t, got.ModifiedIndex)

	_, err = cfgs.Create(ctx, "/cfg/db", config{Host: "other"})
	require.ErrorIs(t, err, kv.ErrNodeExist)
	_, err = cfgs.Create(ctx, "/cfg/cache", config{Host: "cache", Port: 6379})
	require.NoError(t, err)
	_, err = k.Mkdir(ctx, "/cfg/sub")
	require.NoError(t, err)

	all, err := cfgs.List(ctx, "/cfg", kv.WithSorted())
	require.NoError(t, err)
	require.Len(t, all, 2, "subdirectories are skipped")
	assert.Equal(t, "/cfg/cache", all[0].Key)
	assert.Equal(t, 6379, all[0].Value.Port)
}

func TestTyped_DecodeErrorsAreTyped(t *testing.T) {
	k, _ := newCluster(t)
	_, err := k.Set(t.Context(), "/bad", "{not json")
	require.NoError(t, err)
	_, err = kv.NewTyped[config](k, nil).Get(t.Context(), "/bad")
	require.ErrorIs(t, err, kv.ErrDecode)
	assert.Contains(t, err.Error(), "/bad")

	_, err = k.Mkdir(t.Context(), "/dir")
	require.NoError(t, err)
	_, err = kv.NewTyped[config](k, nil).Get(t.Context(), "/dir")
	require.ErrorIs(t, err, kv.ErrNotFile)
}

func TestTyped_UpdateCreatesMissingKey(t *testing.T) {
	k, _ := newCluster(t)
	counter := kv.NewTyped[int](k, nil)
	e, err := counter.Update(t.Context(), "/n", func(old int) (int, error) { return old + 5, nil }, kv.WithTTL(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 5, e.Value)
	assert.NotNil(t, e.Expiration)
}

func TestTyped_UpdateReturnsCallbackError(t *testing.T) {
	k, c := newCluster(t)
	before := c.Requests("PUT")
	boom := errors.New("boom")
	_, err := kv.NewTyped[int](k, nil).Update(t.Context(), "/n", func(int) (int, error) { return 0, boom })
	require.ErrorIs(t, err, boom)
	assert.Equal(t, before, c.Requests("PUT"), "nothing written")
}

func TestTyped_ConcurrentUpdatesConverge(t *testing.T) {
	k, _ := newCluster(t)
	counter := kv.NewTyped[int](k, nil)
	const writers, each = 8, 10
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := counter.Update(ctx, "/counter", func(old int) (int, error) { return old + 1, nil }); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	final, err := counter.Get(ctx, "/counter")
	require.NoError(t, err)
	assert.Equal(t, writers*each, final.Value)
}

func TestTyped_UpdateGivesUpWhenContextEnds(t *testing.T) {
	k, _ := newCluster(t)
	ctx, cancel := context.WithCancel(t.Context())
	_, err := k.Set(ctx, "/n", "0")
	require.NoError(t, err)
	counter := kv.NewTyped[int](k, nil)
	// Every attempt loses: a rival write lands between the read and the CAS.
	// The loop keeps retrying until the context ends.
	attempts := 0
	_, err = counter.Update(ctx, "/n", func(old int) (int, error) {
		attempts++
		if _, err := k.Set(t.Context(), "/n", "100"); err != nil {
			return 0, err
		}
		if attempts == 3 {
			cancel()
		}
		return old + 1, nil
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 3, attempts)
}

func TestTyped_StringCodecStoresRawValues(t *testing.T) {
	k, _ := newCluster(t)
	s := kv.NewTyped[string](k, kv.StringCodec{})
	_, err := s.Set(t.Context(), "/raw", `plain "text"`)
	require.NoError(t, err)
	raw, err := k.Get(t.Context(), "/raw")
	require.NoError(t, err)
	assert.Equal(t, `plain "text"`, raw.Node.Value)
}

// A watch resumes from the index of the read, not from the key's
// ModifiedIndex, which can be older than the history the server keeps.
func TestTyped_EntriesCarryTheIndexOfTheirAnswer(t *testing.T) {
	k, c := newCluster(t)
	ctx := t.Context()
	cfgs := kv.NewTyped[config](k, nil)

	resp, err := cfgs.Set(ctx, "/idx/a", config{Port: 1})
	require.NoError(t, err)
	_, err = k.Set(ctx, "/elsewhere", "x")
	require.NoError(t, err)

	got, err := cfgs.Get(ctx, "/idx/a")
	require.NoError(t, err)
	assert.Equal(t, resp.Node.ModifiedIndex, got.ModifiedIndex)
	assert.Equal(t, c.Index(), got.Index, "the store index the read was applied at")
	assert.Greater(t, got.Index, got.ModifiedIndex)

	all, err := cfgs.List(ctx, "/idx")
	require.NoError(t, err)
	for _, e := range all {
		assert.Equal(t, c.Index(), e.Index)
	}

	updated, err := cfgs.Update(ctx, "/idx/a", func(v config) (config, error) { v.Port++; return v, nil })
	require.NoError(t, err)
	assert.Equal(t, updated.ModifiedIndex, updated.Index, "a write's entry carries the write's own index")
}
