package kv_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
)

// nodelessKV is a KV whose server answers every request with a 2xx that has
// no node.
func nodelessKV(t *testing.T) *kv.KV {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Deimos-Index", "7")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"action":"set"}` + "\n"))
	}))
	t.Cleanup(srv.Close)
	tr, err := transport.New(transport.Config{Endpoints: []string{srv.URL}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return kv.New(tr)
}

// A 2xx answer means the server applied the write, so an answer without a
// node must not read as a plain failure the caller may blindly retry.
func TestWrite_SuccessWithoutNodeIsUnknownOutcome(t *testing.T) {
	k := nodelessKV(t)
	ctx := context.Background()
	writes := map[string]func() error{
		"set":           func() error { _, err := k.Set(ctx, "/a", "v"); return err },
		"create":        func() error { _, err := k.Create(ctx, "/a", "v"); return err },
		"delete":        func() error { _, err := k.Delete(ctx, "/a"); return err },
		"createInOrder": func() error { _, err := k.CreateInOrder(ctx, "/q", "v"); return err },
	}
	for name, write := range writes {
		err := write()
		require.ErrorIs(t, err, kv.ErrUnknownOutcome, name)
		assert.ErrorIs(t, err, kv.ErrMalformedResponse, name)
	}
	_, err := k.Get(ctx, "/a")
	require.ErrorIs(t, err, kv.ErrMalformedResponse)
	assert.NotErrorIs(t, err, kv.ErrUnknownOutcome)
}
