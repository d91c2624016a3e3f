// Package kv is the key-space API of the Deimos client: typed operations
// (Get, Set, Create, Update, CompareAndSwap, CompareAndDelete, Delete, Mkdir,
// CreateInOrder, List), their options, the Node and Response types, the
// errors, and Typed, a generic view that stores values through a Codec.
//
// Every operation validates its input before anything is sent: keys are
// normalised by CleanKey (a leading "/", no empty, "." or ".." segments, no
// control characters) and escaped segment by segment by KeyPath; writes under
// /_deimos are refused; TTLs must lie between one second and MaxTTL. Invalid
// input fails with ErrInvalidKey, ErrInvalidTTL or ErrInvalidOption and no
// request reaches the cluster.
//
// A KV is normally obtained from the facade:
//
//	client := deimos.New(deimos.WithEndpoints("http://127.0.0.1:4001"))
//	k := client.KV()
//	resp, err := k.Create(ctx, "/jobs/42", "pending", kv.WithTTL(time.Minute))
//
// Options are values of exported types (TTLOption, RecursiveOption, ...) that
// implement the option interface of every operation they fit, so one
// WithTTL value serves Set, Create, Update, CompareAndSwap, CreateInOrder and
// Mkdir. Other packages extend them by embedding.
package kv
