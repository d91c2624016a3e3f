package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/config"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestWatch_LoadsTheStoredValue(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	idx := put(t, c, "/cfg/app", Settings{Host: "db1", Port: 5432})

	v := watchSettings(t, c, "/cfg/app")

	assert.Equal(t, Settings{Host: "db1", Port: 5432}, v.Load())
	s := v.Snapshot()
	assert.Equal(t, []string{"/cfg/app"}, s.Keys)
	assert.Equal(t, idx, s.ModifiedIndex)
	assert.GreaterOrEqual(t, s.Index, idx)
	assert.False(t, s.Missing)
	assert.False(t, s.Stale, "listed: %v", s.Err)
	assert.NoError(t, s.Err)
}

func TestWatch_ServesTheDefaultWhileTheKeyIsMissing(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	def := Settings{Host: "localhost", Port: 80}
	v := watchSettings(t, c, "/cfg/absent", config.WithDefault(def))
	r := record(v)

	assert.Equal(t, def, v.Load())
	assert.True(t, v.Snapshot().Missing)

	put(t, c, "/cfg/absent", Settings{Host: "db1"})
	want := Settings{Host: "db1", Port: 80}
	calls := r.waitFor(t, want, sameSettings)
	assert.Equal(t, []change[Settings]{{def, want}}, calls)
	assert.False(t, v.Snapshot().Missing)
}

func TestWatch_FieldsTheStoredValueLeavesOutKeepTheirDefault(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	putRaw(t, c, "/cfg/partial", `{"host":"db1","tags":{"b":"2"}}`)
	def := Settings{Port: 80, Tags: map[string]string{"a": "1"}}

	v := watchSettings(t, c, "/cfg/partial", config.WithDefault(def))

	assert.Equal(t, Settings{Host: "db1", Port: 80, Tags: map[string]string{"a": "1", "b": "2"}}, v.Load())
	assert.Equal(t, map[string]string{"a": "1"}, def.Tags, "the caller's default is not written into")
}

func TestOnChange_OnlyRealChanges(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	putRaw(t, c, "/cfg/app", `{"host":"a","port":1}`, deimos.WithTTL(time.Hour))
	v := watchSettings(t, c, "/cfg/app")
	r := record(v)

	// None of these changes the decoded value.
	waitProcessed(t, v, putRaw(t, c, "/cfg/app", `{"host":"a","port":1}`, deimos.WithPrevExist(true), deimos.WithTTL(time.Hour))) // TTL refresh
	waitProcessed(t, v, putRaw(t, c, "/cfg/app", `{"host":"a","port":1}`))                                                        // same bytes
	waitProcessed(t, v, putRaw(t, c, "/cfg/app", `{ "port": 1, "host": "a" }`))                                                   // same value
	putRaw(t, c, "/cfg/other", "x")                                                                                               // a sibling

	put(t, c, "/cfg/app", Settings{Host: "b", Port: 1})
	calls := r.waitFor(t, Settings{Host: "b", Port: 1}, sameSettings)
	assert.Equal(t, []change[Settings]{{Settings{Host: "a", Port: 1}, Settings{Host: "b", Port: 1}}}, calls,
		"callbacks run in order, so a spurious call would have come first")
}

func TestOnChange_UnregisterStopsTheCalls(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	v := watchSettings(t, c, "/cfg/app")
	gone := &recorder[Settings]{}
	unregister := v.OnChange(gone.callback)
	kept := record(v)

	put(t, c, "/cfg/app", Settings{Port: 1})
	gone.waitFor(t, Settings{Port: 1}, sameSettings)
	unregister()
	put(t, c, "/cfg/app", Settings{Port: 2})
	kept.waitFor(t, Settings{Port: 2}, sameSettings)
	for _, ch := range gone.get() {
		assert.NotEqual(t, 2, ch.New.Port, "an unregistered callback is not called")
	}
}

func TestChanges_HoldsTheLatestValue(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	v := watchSettings(t, c, "/cfg/app")
	ch := v.Changes()
	require.Equal(t, ch, v.Changes(), "one channel for every caller")

	var last uint64
	for i := 1; i <= 5; i++ {
		last = put(t, c, "/cfg/app", Settings{Port: i})
	}
	waitProcessed(t, v, last)
	require.Eventually(t, func() bool {
		select {
		case s := <-ch:
			return s.Port == 5
		default:
			return false
		}
	}, eventually, tick)

	v.Close()
	_, open := <-ch
	assert.False(t, open, "closed when the Value stops")
}

func TestDelete_FallsBackToTheDefault(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	def := Settings{Port: 80}
	put(t, c, "/cfg/app", Settings{Port: 1})
	v := watchSettings(t, c, "/cfg/app", config.WithDefault(def))
	r := record(v)

	_, err := c.Delete(t.Context(), "/cfg/app")
	require.NoError(t, err)

	calls := r.waitFor(t, def, sameSettings)
	assert.Equal(t, []change[Settings]{{Settings{Port: 1}, def}}, calls)
	assert.True(t, v.Snapshot().Missing)
	assert.NoError(t, v.Err())
}

func TestDelete_DeletingTheKeysDirectoriesFallsBackToTheDefault(t *testing.T) {
	for _, dir := range []string{"/svc/app", "/svc"} {
		t.Run(dir, func(t *testing.T) {
			c := newClient(t, newCluster(t).Endpoints()...)
			def := Settings{Port: 80}
			put(t, c, "/svc/app/config", Settings{Port: 1})
			putRaw(t, c, "/svc/app/other", "x")
			v := watchSettings(t, c, "/svc/app/config", config.WithDefault(def))
			r := record(v)

			// Safe on a real server: the Value follows /svc, never a key
			// inside a deleted directory.
			_, err := c.Delete(t.Context(), dir, deimos.WithRecursive())
			require.NoError(t, err)
			r.waitFor(t, def, sameSettings)

			put(t, c, "/svc/app/config", Settings{Port: 2})
			r.waitFor(t, Settings{Port: 2}, sameSettings)
			assert.False(t, v.Stale())
		})
	}
}

func TestExpiry_AnExpiredKeyIsGoneBeforeTheServerReapsIt(t *testing.T) {
	cl := newCluster(t, deimostest.WithReapDelay(time.Hour, time.Hour))
	c := newClient(t, cl.Endpoints()...)
	def := Settings{Port: 80}
	put(t, c, "/cfg/app", Settings{Port: 1}, deimos.WithTTL(time.Second))
	v := watchSettings(t, c, "/cfg/app", config.WithDefault(def))
	require.Equal(t, 1, v.Load().Port)

	require.Eventually(t, func() bool { return v.Load().Port == 80 }, eventually, tick)
	resp, err := c.Get(t.Context(), "/cfg/app")
	require.NoError(t, err, "the server still holds the key")
	assert.Equal(t, `{"port":1}`, resp.Node.Value)
}

func TestClose_EndsTheValue(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	v, err := config.Watch(t.Context(), c, "/cfg/app", testOptions()...)
	require.NoError(t, err)
	v.Close()
	select {
	case <-v.Done():
	default:
		t.Fatal("Done is closed once Close returns")
	}
	v.Close() // again: no effect
}

func TestWatch_ClosingTheClientStopsTheValue(t *testing.T) {
	c := deimos.New(deimos.WithEndpoints(newCluster(t).Endpoints()...))
	v, err := config.Watch(t.Context(), c, "/cfg/app", config.WithDefault(Settings{Port: 7}))
	require.NoError(t, err)
	defer v.Close()

	require.NoError(t, c.Close())
	select {
	case <-v.Done():
	case <-time.After(eventually):
		t.Fatal("the Value did not stop")
	}
	assert.ErrorIs(t, v.Err(), deimos.ErrClosed)
	assert.True(t, v.Stale())
	assert.Equal(t, 7, v.Load().Port, "the last value stays readable")
}

func TestWatch_ATopLevelKeyIsFollowedByItself(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	v := watchSettings(t, c, "/toplevel", config.WithDefault(Settings{Port: 80}))
	put(t, c, "/toplevel", Settings{Port: 1})
	require.Eventually(t, func() bool { return v.Load().Port == 1 }, eventually, tick)
	_, err := c.Delete(t.Context(), "/toplevel")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return v.Load().Port == 80 }, eventually, tick)
}

// The server leaves hidden keys out of an ancestor's listings and watches,
// so a hidden key is followed from its hidden segment.
func TestWatch_AHiddenKeyIsSeen(t *testing.T) {
	c := newClient(t, newCluster(t).Endpoints()...)
	put(t, c, "/cfg/_secret/db", Settings{Port: 1})
	v := watchSettings(t, c, "/cfg/_secret/db")
	require.Equal(t, 1, v.Load().Port)
	put(t, c, "/cfg/_secret/db", Settings{Port: 2})
	require.Eventually(t, func() bool { return v.Load().Port == 2 }, eventually, tick)
}
