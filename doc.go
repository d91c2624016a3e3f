// Package deimos is the Go client for Deimos, an etcd-v2-style key-value
// store: one Client that spreads requests over the cluster's nodes, fails
// over around dead or hung ones, and says precisely what happened when a
// write's outcome cannot be known (ErrUnknownOutcome).
//
//	client := deimos.New(deimos.WithEndpoints("http://127.0.0.1:4001", "http://127.0.0.1:4002"))
//	defer client.Close()
//
//	_, err := client.Set(ctx, "/config/db", "postgres://...", deimos.WithTTL(time.Minute))
//	resp, err := client.Get(ctx, "/config/db")
//	dsn := resp.Node.Value
//
// The facade only composes the sub-packages: kv holds the operations, their
// options and errors (client.KV() exposes all of them), and the names here
// are re-exports, so deimos.ErrKeyNotFound and kv.ErrKeyNotFound are the same
// value.
package deimos
