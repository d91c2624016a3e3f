package config_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/config"
	"github.com/marsevilspirit/deimos-client/kv"
)

// invalidLog collects the reports of WithOnInvalid.
type invalidLog struct {
	mu   sync.Mutex
	errs []*config.InvalidValueError
}

func (l *invalidLog) hook(e *config.InvalidValueError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, e)
}

func (l *invalidLog) get() []*config.InvalidValueError {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*config.InvalidValueError(nil), l.errs...)
}

func TestInvalid_BadJSONKeepsTheLastGoodValue(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	put(t, c, "/cfg/app", Settings{Port: 1})
	var hook invalidLog
	v := watchSettings(t, c, "/cfg/app", config.WithOnInvalid[Settings](hook.hook))
	r := record(v)

	bad := putRaw(t, c, "/cfg/app", `{"port": 2,`)
	require.Eventually(t, func() bool { return v.Err() != nil }, eventually, tick)

	assert.Equal(t, Settings{Port: 1}, v.Load())
	var ive *config.InvalidValueError
	require.ErrorAs(t, v.Err(), &ive)
	assert.ErrorIs(t, ive, kv.ErrDecode)
	assert.Equal(t, "/cfg/app", ive.Key)
	assert.Equal(t, bad, ive.Index)
	assert.False(t, v.Stale(), "a bad value is not an outage")
	require.Eventually(t, func() bool { return len(hook.get()) == 1 }, eventually, tick)
	assert.Equal(t, bad, hook.get()[0].Index)

	put(t, c, "/cfg/app", Settings{Port: 3})
	calls := r.waitFor(t, Settings{Port: 3}, sameSettings)
	assert.Equal(t, []change[Settings]{{Settings{Port: 1}, Settings{Port: 3}}}, calls, "the bad value was never delivered")
	assert.NoError(t, v.Err(), "a good value clears the error")
	assert.Len(t, hook.get(), 1)
}

var errNoPort = errors.New("port must be positive")

func validPort(s Settings) error {
	if s.Port <= 0 {
		return errNoPort
	}
	return nil
}

func TestInvalid_ValidationFailureKeepsTheLastGoodValue(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	good := put(t, c, "/cfg/app", Settings{Host: "a", Port: 1})
	v := watchSettings(t, c, "/cfg/app", config.WithValidate(validPort))
	r := record(v)

	bad := put(t, c, "/cfg/app", Settings{Host: "b", Port: -1})
	require.Eventually(t, func() bool { return v.Err() != nil }, eventually, tick)
	assert.Equal(t, Settings{Host: "a", Port: 1}, v.Load())
	assert.ErrorIs(t, v.Err(), config.ErrValidation)
	assert.ErrorIs(t, v.Err(), errNoPort, "the validator's error is kept")
	var ive *config.InvalidValueError
	require.ErrorAs(t, v.Err(), &ive)
	assert.Equal(t, bad, ive.Index)
	assert.Equal(t, good, v.Snapshot().ModifiedIndex, "the snapshot describes the value served")

	put(t, c, "/cfg/app", Settings{Host: "c", Port: 2})
	calls := r.waitFor(t, Settings{Host: "c", Port: 2}, sameSettings)
	assert.Equal(t, []change[Settings]{{Settings{Host: "a", Port: 1}, Settings{Host: "c", Port: 2}}}, calls)
}

func TestInvalid_AnInvalidFirstValueServesTheDefault(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	putRaw(t, c, "/cfg/app", "not json")
	def := Settings{Port: 80}

	v := watchSettings(t, c, "/cfg/app", config.WithDefault(def))
	assert.Equal(t, def, v.Load())
	assert.ErrorIs(t, v.Err(), kv.ErrDecode)

	_, err := config.Watch(t.Context(), c, "/cfg/app", testOptions(config.WithDefault(def), config.WithRequireInitial[Settings]())...)
	assert.ErrorIs(t, err, kv.ErrDecode, "WithRequireInitial refuses to start on an invalid value")
}

// panicCodec is a codec that panics on the value "boom".
type panicCodec struct{ kv.JSONCodec[Settings] }

func (p panicCodec) Decode(s string) (Settings, error) {
	if s == "boom" {
		panic("codec bug")
	}
	return p.JSONCodec.Decode(s)
}

func TestInvalid_APanickingCodecIsAnInvalidValue(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	put(t, c, "/cfg/app", Settings{Port: 1})
	v := watchSettings(t, c, "/cfg/app", config.WithCodec[Settings](panicCodec{}))

	putRaw(t, c, "/cfg/app", "boom")
	require.Eventually(t, func() bool { return v.Err() != nil }, eventually, tick)
	assert.ErrorIs(t, v.Err(), kv.ErrDecode)
	assert.Contains(t, v.Err().Error(), "codec bug")
	assert.Equal(t, Settings{Port: 1}, v.Load())

	put(t, c, "/cfg/app", Settings{Port: 2})
	require.Eventually(t, func() bool { return v.Load().Port == 2 }, eventually, tick)
}

func TestInvalid_ADirectoryInPlaceOfTheValueKeepsTheLastGoodValue(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	put(t, c, "/cfg/app", Settings{Port: 1})
	v := watchSettings(t, c, "/cfg/app")

	_, err := c.Delete(t.Context(), "/cfg/app")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return v.Snapshot().Missing }, eventually, tick)
	putRaw(t, c, "/cfg/app/inner", "x")
	require.Eventually(t, func() bool { return v.Err() != nil }, eventually, tick)
	assert.True(t, strings.Contains(v.Err().Error(), "directory"), v.Err())
}
