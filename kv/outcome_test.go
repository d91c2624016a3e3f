package kv_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/kv"
)

// A 2xx answer means the server applied the write, so an answer without a
// node must not read as a plain failure the caller may blindly retry.
func TestWrite_SuccessWithoutNodeIsUnknownOutcome(t *testing.T) {
	rec := &recorder{body: `{"action":"set"}`}
	k := kv.New(rec)
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
