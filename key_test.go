package deimos_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
)

func TestKey_FluentCallsUseTheSameOptions(t *testing.T) {
	client, _ := newClient(t)
	ctx := t.Context()

	set, err := client.Key("/config/db").TTL(30*time.Second).Set(ctx, "postgres://db")
	require.NoError(t, err)
	assert.Equal(t, int64(30), set.Node.TTL)

	got, err := client.Key("/config/db").Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, "postgres://db", got.Node.Value)

	_, err = client.Key("/config/db").Create(ctx, "x")
	assert.ErrorIs(t, err, deimos.ErrNodeExist)
	upd, err := client.Key("/config/db").TTL(time.Minute).Update(ctx, "postgres://db2")
	require.NoError(t, err)
	assert.Equal(t, deimos.ActionUpdate, upd.Action)
	cas, err := client.Key("/config/db").PrevValue("postgres://db2").CompareAndSwap(ctx, "postgres://db3")
	require.NoError(t, err)
	assert.Equal(t, "postgres://db3", cas.Node.Value)

	_, err = client.Key("/config/cache").PrevExist(false).Set(ctx, "redis")
	require.NoError(t, err)
	tree, err := client.Key("/config").Recursive().Sorted().Get(ctx)
	require.NoError(t, err)
	require.Len(t, tree.Node.Nodes, 2)
	assert.Equal(t, "/config/cache", tree.Node.Nodes[0].Key)

	_, err = client.Key("/config").Delete(ctx)
	assert.ErrorIs(t, err, deimos.ErrNotFile)
	_, err = client.Key("/config").Recursive().Delete(ctx)
	require.NoError(t, err)
}

func TestKey_DirectoriesAndQueues(t *testing.T) {
	client, _ := newClient(t)
	ctx := t.Context()
	_, err := client.Key("/q").TTL(time.Hour).Mkdir(ctx)
	require.NoError(t, err)
	for _, v := range []string{"a", "b"} {
		_, err := client.Key("/q").CreateInOrder(ctx, v)
		require.NoError(t, err)
	}
	list, err := client.Key("/q").Sorted().List(ctx)
	require.NoError(t, err)
	assert.Len(t, list.Node.Nodes, 2)
	_, err = client.Key("/q").Dir().Delete(ctx)
	assert.ErrorIs(t, err, deimos.ErrDirNotEmpty)
	_, err = client.Key("/q/x").PrevIndex(1).Delete(ctx)
	assert.ErrorIs(t, err, deimos.ErrKeyNotFound)
}

func TestKey_IsImmutable(t *testing.T) {
	client, _ := newClient(t)
	base := client.Key("/k")
	withTTL := base.TTL(time.Minute)
	_ = base.Recursive()

	plain, err := base.Set(t.Context(), "v")
	require.NoError(t, err)
	assert.Nil(t, plain.Node.Expiration, "options on derived keys do not leak back")
	timed, err := withTTL.Set(t.Context(), "v")
	require.NoError(t, err)
	assert.NotNil(t, timed.Node.Expiration)
}

func TestKey_OptionThatDoesNotFitFails(t *testing.T) {
	client, c := newClient(t)
	before := c.Requests("")
	_, err := client.Key("/k").TTL(time.Minute).Get(t.Context())
	require.ErrorIs(t, err, deimos.ErrInvalidOption)
	assert.Contains(t, err.Error(), "TTL does not apply to get")
	_, err = client.Key("/k").Recursive().Set(t.Context(), "v")
	require.ErrorIs(t, err, deimos.ErrInvalidOption)
	assert.Equal(t, before, c.Requests(""))
}
