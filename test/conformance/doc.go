// Package conformance holds the raw-HTTP conformance suite that pins down every
// client-observable behaviour of the Deimos server described in PROTOCOL.md:
// status codes, actions, node fields and their order, headers, error codes and
// causes, paths and redirects, directories, in-order keys, TTLs, watches and
// /machines.
//
// The tests speak plain net/http (never the SDK) so that they judge the wire,
// and they hold two implementations to the same contract: the real server and
// the in-process test server of package deimostest.
//
// # Running
//
// Against an in-process 3-node cluster (the default, what `make test` runs):
//
//	go test ./test/conformance/...
//
// Against a real cluster, list its client URLs in DEIMOS_ENDPOINTS:
//
//	DEIMOS_ENDPOINTS=http://127.0.0.1:4001,http://127.0.0.1:4002,http://127.0.0.1:4003 go test ./test/conformance/...
//
// # Rules the suite follows so that it passes against both targets
//
//   - Every run writes under its own prefix, /conformance/<random>/..., and
//     asserts indexes only relative to indexes it observed itself. The keys are
//     left in place on a real target: deleting the run's directory could crash
//     the real server while abandoned watches on keys inside it still exist
//     (PROTOCOL.md §12.7).
//   - TTL tests poll with a deadline, because the real server reaps expired
//     keys late and irregularly (§11.3).
//   - Nothing is written under /_deimos on a real target (§8.3).
//   - stream=true is sent only by the test that pins it down, which closes the
//     idle connection itself (§12.6).
//   - Tests that need a fresh cluster (index 6, no history yet), a short watch
//     timeout or fault injection (lost quorum, a stopped member) start their
//     own in-process cluster and are skipped, with the reason, on a real
//     target. So is the check of the intended §12.7 behaviour, which crashes
//     the real server.
//   - Tests that change the store index in a way others could observe (the
//     1000-event flood for errorCode 401, the index-contiguity checks) are not
//     parallel; all others are.
//
// # Layout
//
// target_test.go picks the target; http_test.go sends raw requests (the
// request-URI goes on the wire byte for byte) and checks bodies against their
// canonical encoding, which pins field order and omission rules;
// watcher_test.go reads long-poll watches. The specifications are grouped by
// topic: keys, errors, headers (and indexes), paths, dirs, inorder, ttl,
// watch, machines, fresh and faults.
package conformance
