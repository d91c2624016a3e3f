// Package robustness checks the SDK's guarantees the way etcd's robustness tests and
// Jepsen do: several clients run random traffic against a cluster while a nemesis
// injects faults, every operation is recorded with its invocation and completion time
// and its outcome, and checkers then judge the recorded history:
//
//   - the key-value history is linearizable (porcupine, one register per key, unknown
//     outcomes modelled as "may or may not have happened"), and the store indexes the
//     SDK reports respect real time;
//   - every watch stream is ordered, free of duplicates, and equal to the server's event
//     history for its prefix over the range it covered;
//   - mutex critical sections never overlap and their fencing tokens increase,
//     a two-permit semaphore never has more than two holders, an election never has
//     two leaders at once (counting only holders that still held when they left),
//     and an Observe follower delivers leaders in order, never brings a replaced
//     leader back, and reports every leadership longer than a second;
//   - no goroutine outlives a run.
//
// The package also holds hostile-server tests (slowloris, endless headers and bodies,
// redirects), TLS tests with certificates generated at test time, and key-escape tests.
// Everything lives in _test.go files; this file only documents the package.
//
// By default the suite runs against the in-process cluster of package deimostest. With
// DEIMOS_ENDPOINTS set it runs against that real cluster, and DEIMOS_NEMESIS (a
// command template: {action} becomes kill, start, pause or resume, {node} the
// 1-based node number) lets it fault the cluster; without DEIMOS_NEMESIS a
// real-cluster run injects no faults. A 3-minute run against a real 3-node cluster on
// loopback, faulted by a script that kills, restarts, stops and continues the nodes:
//
//	DEIMOS_ENDPOINTS=http://127.0.0.1:4001,http://127.0.0.1:4002,http://127.0.0.1:4003 \
//	DEIMOS_NEMESIS='./cluster.sh {action} {node}' ROBUSTNESS_DURATION=3m \
//	go test -race -count=1 -v -timeout 30m -run '^TestRobustness$' ./test/robustness
//
// A write is checked by its node's modifiedIndex, never by its X-Deimos-Index header,
// which a real server can set to a later write's index (docs/protocol.md §6.2, §6.4):
// a checker that trusted the header would report false duplicate indexes and
// missing watch events. ROBUSTNESS_DURATION sets how long the traffic runs (default 12s for the run in
// `make test`; `make robustness` passes 5m), ROBUSTNESS_SEED fixes the random schedule,
// and ROBUSTNESS_ARTIFACTS names the directory that receives porcupine's HTML
// visualisation when a history is not linearizable (default os.TempDir()).
package robustness
