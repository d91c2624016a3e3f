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
// # Which package for which job
//
// This package is the door: it builds the Client and offers the calls most
// programs need (Set, Get, Delete, Watch, NewDistributedLock, WithLock). The
// rest lives in packages that take the Client (or a *kv.KV) as their first
// argument:
//
//   - kv: every key-space operation and option (Create, Update,
//     CompareAndSwap, CompareAndDelete, CreateInOrder, List, Mkdir), typed
//     values (kv.Typed) and the error sentinels. client.KV() returns it.
//   - watch: streams of changes that survive node failures without losing,
//     repeating or reordering an event (watch.Watch, watch.Events), and
//     watch.Cache, a local mirror of a subtree (list-then-watch).
//   - concurrency: sessions that keep TTL keys alive, fair mutexes with
//     fencing tokens, semaphores and leader elections.
//   - test/deimostest: an in-process Deimos cluster with fault injection,
//     for your own tests.
//
// The error sentinels and the names of kv that the README uses are
// re-exported here, so deimos.ErrKeyNotFound and kv.ErrKeyNotFound are the
// same value. docs/protocol.md in the repository lists the server behaviour
// the client relies on.
package deimos
