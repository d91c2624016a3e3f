package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/config"
	"github.com/marsevilspirit/deimos-client/kv"
)

func TestLayers_LaterKeysOverrideTheFieldsTheyHold(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	def := Settings{Host: "localhost", Port: 80, Tags: map[string]string{"tier": "dev"}}
	// Two top-level directories: two caches, merged into one value.
	putRaw(t, c, "/defaults/api", `{"host":"db1","tags":{"team":"core"}}`)
	putRaw(t, c, "/env/prod/api", `{"port":443,"tags":{"tier":"prod"}}`)
	putRaw(t, c, "/env/prod/api-hotfix", `{"debug":true}`)

	v := watchSettings(t, c, "/defaults/api", config.WithDefault(def),
		config.WithLayers[Settings]("/env/prod/api", "/env/prod/api-hotfix"))

	assert.Equal(t, Settings{Host: "db1", Port: 443, Debug: true, Tags: map[string]string{"tier": "prod", "team": "core"}}, v.Load())
	assert.Equal(t, []string{"/defaults/api", "/env/prod/api", "/env/prod/api-hotfix"}, v.Snapshot().Keys)

	_, err := c.Delete(t.Context(), "/env/prod/api-hotfix")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !v.Load().Debug }, eventually, tick)
	assert.Equal(t, Settings{Host: "db1", Port: 443, Tags: map[string]string{"tier": "prod", "team": "core"}}, v.Load())

	_, err = c.Delete(t.Context(), "/defaults/api")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return v.Load().Host == "localhost" }, eventually, tick)
	assert.Equal(t, Settings{Host: "localhost", Port: 443, Tags: map[string]string{"tier": "prod"}}, v.Load())

	_, err = c.Delete(t.Context(), "/env", deimos.WithRecursive())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return v.Snapshot().Missing }, eventually, tick)
	assert.Equal(t, def, v.Load())
}

func TestLayers_ABadLayerKeepsTheLastGoodValue(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	put(t, c, "/cfg/base", Settings{Host: "a"})
	put(t, c, "/cfg/override", Settings{Port: 1})
	v := watchSettings(t, c, "/cfg/base", config.WithLayers[Settings]("/cfg/override"))
	require.Equal(t, Settings{Host: "a", Port: 1}, v.Load())

	bad := putRaw(t, c, "/cfg/base", "{")
	require.Eventually(t, func() bool { return v.Err() != nil }, eventually, tick)
	var ive *config.InvalidValueError
	require.ErrorAs(t, v.Err(), &ive)
	assert.Equal(t, "/cfg/base", ive.Key, "names the layer that failed")
	assert.Equal(t, bad, ive.Index)
	assert.Equal(t, Settings{Host: "a", Port: 1}, v.Load())
}

func TestLayers_WithAWholeValueCodecTheHighestPresentLayerWins(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	putRaw(t, c, "/flags/base", "blue")
	v, err := config.Watch(t.Context(), c, "/flags/base",
		config.WithCodec[string](kv.StringCodec{}),
		config.WithDefault("none"),
		config.WithLayers[string]("/flags/override"))
	require.NoError(t, err)
	defer v.Close()
	require.Equal(t, "blue", v.Load())

	putRaw(t, c, "/flags/override", "red")
	require.Eventually(t, func() bool { return v.Load() == "red" }, eventually, tick)
	_, err = c.Delete(t.Context(), "/flags/override")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return v.Load() == "blue" }, eventually, tick)
	_, err = c.Delete(t.Context(), "/flags/base")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return v.Load() == "none" }, eventually, tick)
}
