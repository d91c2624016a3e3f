package config_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/marsevilspirit/deimos-client/config"
	"github.com/marsevilspirit/deimos-client/kv"
)

func TestWatch_RejectsBadKeysAndOptions(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1") // never contacted
	tests := []struct {
		name string
		key  string
		opts []config.Option[Settings]
		want error
	}{
		{"empty key", "", nil, kv.ErrInvalidKey},
		{"root", "/", nil, kv.ErrInvalidKey},
		{"dot segment", "/a/../b", nil, kv.ErrInvalidKey},
		{"bad layer", "/a", []config.Option[Settings]{config.WithLayers[Settings]("/b/./c")}, kv.ErrInvalidKey},
		{"repeated layer", "/a/b", []config.Option[Settings]{config.WithLayers[Settings]("a/b")}, kv.ErrInvalidOption},
		{"nil codec", "/a", []config.Option[Settings]{config.WithCodec[Settings](nil)}, kv.ErrInvalidOption},
		{"nil validator", "/a", []config.Option[Settings]{config.WithValidate[Settings](nil)}, kv.ErrInvalidOption},
		{"initial timeout", "/a", []config.Option[Settings]{config.WithInitialTimeout[Settings](0)}, kv.ErrInvalidOption},
		{"probe interval", "/a", []config.Option[Settings]{config.WithProbeInterval[Settings](-time.Second)}, kv.ErrInvalidOption},
		{"watch dir not above the key", "/a/b", []config.Option[Settings]{config.WithWatchDir[Settings]("/b")}, kv.ErrInvalidOption},
		{"watch dir not above a layer", "/a/b", []config.Option[Settings]{config.WithWatchDir[Settings]("/a"), config.WithLayers[Settings]("/c")}, kv.ErrInvalidOption},
		{"hidden key below the watch dir", "/a/_b/c", []config.Option[Settings]{config.WithWatchDir[Settings]("/a")}, kv.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := config.Watch(t.Context(), c, tt.key, tt.opts...)
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, v)
		})
	}
	_, err := config.Watch[Settings](t.Context(), nil, "/a")
	assert.ErrorIs(t, err, kv.ErrInvalidOption, "nil client")
}

func TestWatch_EndsWhenItsContextEndsFirst(t *testing.T) {
	cl := newCluster(t)
	c := newClient(t, cl.Endpoints()...)
	for _, n := range cl.Nodes() {
		n.Stop()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := config.Watch(ctx, c, "/a", config.WithInitialTimeout[Settings](time.Hour))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
