// Package conformance holds the raw-HTTP conformance suite that pins down every
// client-observable behaviour of the Deimos server described in docs/protocol.md:
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
// Against an in-process 3-node cluster (the default, what `make test` runs),
// started with the follower lag and the write-index race of a real cluster
// (laggyOptions in lag_test.go):
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
//     (docs/protocol.md §12.7).
//   - The index of a write is its node.modifiedIndex, never X-Deimos-Index,
//     which can name a later write (§6.2, §6.4); only the tests about the
//     header look at it, and they allow the later index.
//   - TTL tests poll with a deadline, because the real server reaps expired
//     keys late and irregularly (§11.3).
//   - Nothing is written under /_deimos on a real target (§8.3).
//   - stream=true is sent only by the test that pins it down, which closes the
//     idle connection itself (§12.6).
//   - Tests that need a fresh cluster (index 6, no history yet), a short watch
//     timeout or fault injection (lost quorum, a stopped member) start their
//     own in-process cluster, without lag, and are skipped, with the reason,
//     on a real target. So is the check of the intended §12.7 behaviour,
//     which crashes the real server.
//   - Tests that change the store index in a way others could observe (the
//     1000-event flood for errorCode 401, the index-contiguity checks) are not
//     parallel; all others are.
//
// # Lag-proof
//
// Watches are served from the contacted node's local store, and a follower
// may not yet have applied a write that another node already acknowledged
// (§13.2): a watch without waitIndex can then be answered with that very
// write, and a watch meant to be answered from history registers a live
// watcher instead. So a watch that must not see earlier writes, or must be
// answered from history, goes to a node that has caught up: the suite first
// sends a GET to that node (a GET goes through raft, so the node has then
// applied everything up to the GET's X-Deimos-Index) and then watches there,
// without waitIndex (watchNext) or from an explicit index (watchSince). A
// watch on a key with no earlier write may go to any node. Events that a
// lagging node delivers late only make a watch wait a little longer.
//
// # Crash-proof
//
// A directory deleted or expired while any node holds a watcher, live or
// abandoned, on a key strictly inside it crashes that node (§12.7). Client
// disconnects do not cancel server-side watchers, which live 5 minutes, and a
// lagging node can register a watcher inside a directory it has yet to delete.
// So no test leaves a watcher strictly inside a directory that anything may
// later delete or expire: every test owns its prefix (dir); when a directory
// goes away, the watches are on the directory key itself, which is safe; and a
// watch inside a deleted directory goes only to a node that has applied the
// delete, in a directory nothing deletes again. The one test that removes a
// directory with watched keys inside on purpose runs only in process, on a
// cluster of its own that expects the hazard. The shared in-process target
// fails the run if a real node would have crashed (checkCrashHazards).
//
// # Layout
//
// target_test.go picks the target; lag_test.go holds the lag options, the
// crash-hazard checks and the catch-up watches; http_test.go sends raw
// requests (the request-URI goes on the wire byte for byte) and checks bodies
// against their canonical encoding, which pins field order and omission rules;
// watcher_test.go reads long-poll watches. The specifications are grouped by
// topic: keys, errors, headers (and indexes), paths, dirs, inorder, ttl,
// watch, machines, fresh and faults.
package conformance
