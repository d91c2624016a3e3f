package watch_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

type limits struct {
	Max int `json:"max"`
}

func TestTypedEvents_DecodesAndSurvivesABadValue(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()
	typed := kv.NewTyped[limits](k, nil)
	first, err := typed.Set(ctx, "/limits", limits{Max: 1})
	require.NoError(t, err)
	_, err = k.Set(ctx, "/limits", "{broken")
	require.NoError(t, err)
	third, err := typed.Set(ctx, "/limits", limits{Max: 3})
	require.NoError(t, err)
	_, err = k.Delete(ctx, "/limits")
	require.NoError(t, err)

	var got []watch.TypedEvent[limits]
	var errs []error
	for ev, err := range watch.TypedEvents(ctx, k, typed, "/limits", watch.WithAfterIndex(first.Index)) {
		got, errs = append(got, ev), append(errs, err)
		if len(got) == 3 {
			break
		}
	}
	require.Len(t, got, 3)
	require.ErrorIs(t, errs[0], kv.ErrDecode, "the bad value is reported")
	assert.Equal(t, "{broken", got[0].Node.Value, "with its event")

	require.NoError(t, errs[1], "the watch goes on after a bad value")
	assert.Equal(t, limits{Max: 3}, got[1].Entry.Value)
	assert.Equal(t, third.Index, got[1].Entry.Index)
	assert.Nil(t, got[1].Prev, "the previous value did not decode")

	require.NoError(t, errs[2])
	assert.True(t, got[2].IsDelete())
	assert.Zero(t, got[2].Entry, "a delete has no value after it")
	require.NotNil(t, got[2].Prev)
	assert.Equal(t, limits{Max: 3}, got[2].Prev.Value)
}

// Leaving a range over Stream.All closes the stream, as leaving Events does.
func TestStream_BreakingOutOfAllClosesTheStream(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	k := newKV(t, c)
	ctx := t.Context()
	first, err := k.Set(ctx, "/all", "0")
	require.NoError(t, err)
	_, err = k.Set(ctx, "/all", "1")
	require.NoError(t, err)
	s, err := watch.Watch(ctx, k, "/all", watch.WithAfterIndex(first.Index))
	require.NoError(t, err)
	for range s.All() {
		break
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("the stream still runs after the loop was left")
	}
}
