package config_test

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/config"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestOnChange_APanickingCallbackDoesNotStopTheOthers(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	var logs deimostest.LogBuffer
	v := watchSettings(t, c, "/cfg/app", config.WithLogger[Settings](slog.New(slog.NewTextHandler(&logs, nil))))
	var panics sync.WaitGroup
	panics.Add(2)
	v.OnChange(func(_, _ Settings) {
		panics.Done()
		panic("callback bug")
	})
	r := record(v)

	put(t, c, "/cfg/app", Settings{Port: 1})
	r.waitFor(t, Settings{Port: 1}, sameSettings)
	put(t, c, "/cfg/app", Settings{Port: 2})
	r.waitFor(t, Settings{Port: 2}, sameSettings)
	panics.Wait() // the panicking callback stayed registered

	assert.Contains(t, logs.String(), "callback panicked")
	assert.Contains(t, logs.String(), "callback bug")
	require.Len(t, r.get(), 2)
}

func TestLogger_ReportsRejectedValuesAndOutages(t *testing.T) {
	cl := newCluster(t)
	c := newClient(t, cl.Node(0).URL())
	var logs deimostest.LogBuffer
	v := watchSettings(t, c, "/cfg/app", config.WithLogger[Settings](slog.New(slog.NewTextHandler(&logs, nil))))

	putRaw(t, c, "/cfg/app", "{")
	require.Eventually(t, func() bool { return v.Err() != nil }, eventually, tick)
	cl.Node(0).Stop()
	require.Eventually(t, v.Stale, eventually, tick)
	require.NoError(t, cl.Node(0).Start())
	require.Eventually(t, func() bool { return !v.Stale() }, eventually, tick)

	out := logs.String()
	assert.Contains(t, out, "level=WARN msg=\"config: rejected a stored value")
	assert.Contains(t, out, "level=WARN msg=\"config: stale")
	assert.Contains(t, out, "level=INFO msg=\"config: following the cluster again\"")
}
