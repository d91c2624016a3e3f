package kv_test

import (
	"context"
	"testing"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
)

// nopDoer answers without decoding, isolating kv's own cost (validation,
// request description, options) from the transport's.
type nopDoer struct{}

func (nopDoer) Do(_ context.Context, _ *transport.Request, out any) (*transport.Response, error) {
	out.(*kv.Response).Node = &kv.Node{}
	return &transport.Response{StatusCode: 200}, nil
}

func BenchmarkKV_OwnCost(b *testing.B) {
	k := kv.New(nopDoer{})
	ctx := context.Background()
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Get(ctx, "/bench/key"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Set(ctx, "/bench/key", "value"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SetTTLEscapedKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Set(ctx, "/bench/a key?", "value", kv.WithTTL(30e9)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
