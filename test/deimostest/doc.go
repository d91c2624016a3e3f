// Package deimostest runs an in-process Deimos cluster for tests: n real loopback HTTP
// listeners ("nodes") sharing one in-memory store, speaking the client API of the real
// server byte for byte where a client can tell (statuses, JSON field order and omissions,
// headers, error codes, the trailing "Internal Server Error" line, chunked framing and the
// server's quirks), plus fault injection to break it on purpose. Think net/http/httptest
// or miniredis, for Deimos. The wire behaviour it follows is PROTOCOL.md of the
// deimos-client repository.
//
// The shortest use, in a test:
//
//	c := deimostest.NewCluster(t, 3)          // closed by t.Cleanup
//	client := deimos.New(c.Endpoints()...)    // whatever talks HTTP to Deimos
//
// Programs (examples, benchmarks, the deimos-dev command in cmd/deimos-dev) use
// StartCluster and Close instead.
//
// # What is emulated
//
// The key space of PROTOCOL.md §3–§12: directories, one global index, hidden "_" keys,
// set/create/update/compareAndSwap/compareAndDelete/delete, in-order POST keys, sorted
// (byte-wise) and random listings, recursive get and delete, TTLs with absolute
// expirations, the ttl rounding, ttl=0 meaning "expire now", expired keys readable until
// reaped, expire events, the 1000-event history and error 401 as HTTP 400, long-poll
// watches (200 and headers flushed first, no X-Deimos-Index, one event, an empty 200 after
// WithWatchTimeout), parameter validation in the server's order, body-before-query and
// first-value-wins parsing, ignored GET/DELETE bodies, 307 redirects of unclean raw paths,
// the 404/405 text pages, OPTIONS, /machines (stopped nodes included) and the 10 MiB form
// limit.
//
// These server bugs and quirks are reproduced on purpose, so the SDK is tested against
// them: the history scan leaks hidden keys (§8.3); prevNode.expiration of update and
// compareAndSwap shows the new expiration (§11.2); a TTL-only directory update does not
// store its modifiedIndex (§9); huge TTLs overflow into permanent or already-expired keys
// (§11.1); expire events lack the dir flag; stream=true answers one event and then idles
// until the watch timeout; prevExist (without s) is ignored; expirations are printed in
// the local time zone.
//
// # Faults
//
// Every fault has an undo: Node.Stop/Start (connection refused, then the same address
// again), Node.Pause/Resume (connections accepted, nothing answered), Node.SetLatency,
// Cluster.LoseQuorum/RestoreQuorum (non-watch requests hang WithServerTimeout, then the
// plain 500; writes received meanwhile are applied in order when quorum returns), and
// Node.SetHook with FailNext or any Hook (Fault500, FaultDropResponse, FaultGarbage,
// FaultTruncate, FaultReset). Node.Requests and Cluster.Requests count every request
// received, before any fault, so a test can assert that a write was sent exactly once.
// Cluster.History returns every event ever emitted.
//
// # Deliberate differences from the real server
//
//   - Deleting or expiring a directory while a watch exists on a key inside it crashes the
//     real node (§12.7). Here the directory's delete or expire event (key = the directory)
//     is delivered to those watchers, exact and recursive, which is the intended
//     behaviour.
//   - Writing under /_deimos (§8.3) just stores the key; non-member JSON crashes nothing.
//     /machines lists every node's URL plus the ClientURLs of every well-formed member
//     record found under /_deimos/machines; deleting a node's record does not unlist it.
//   - Member records use an FNV hash of the node URL as hex ID and empty PeerURLs. With the
//     default start index 6 and 3 nodes they are created at 1..3 and published at 4..6, as
//     on a real cluster; in general they are created at 1..n and published at the n
//     indexes up to WithStartIndex (the indexes in between have no event), and skipped when
//     the start index is below 2n. Node.Start after Stop republishes (+1 index) and AddNode
//     adds two events, like real restarts and member additions. /machines is never empty,
//     while a brand-new real cluster answers an empty list for about a second.
//   - All nodes share one store and one history: there is no follower lag, watches are
//     never late, and a restarted node keeps its history. There are no elections: stopping
//     nodes never costs quorum; use LoseQuorum for that. The 10 000-entry snapshot bug
//     (nodes unable to restart, §13.7) and CORS are not emulated.
//   - LoseQuorum makes every node behave like an isolated leader: held writes are applied
//     when quorum returns (on the real server a write sent to a follower is lost), and a
//     request still waiting at that moment gets its real answer instead of the 500.
//   - Client disconnects cancel server-side watchers at once; the real server keeps them
//     until an event or the 5-minute limit.
//   - The outdated-history check is by index: with a store index C of 1000 or more the
//     oldest waitIndex accepted is C-999, even when WithStartIndex skipped indexes.
//   - Reaping: by default a key is reaped exactly when it expires (a timer on the earliest
//     expiration). WithReapDelay adds a random delay per key in [min, max]; the real server
//     reaps in irregular batches driven by the leader's 500 ms ticks.
//   - X-Raft-Index is a cluster-wide counter that grows with every applied get and write;
//     X-Raft-Term starts at 2 and grows with every RestoreQuorum.
//   - A paused node drops, without applying them, the requests whose client disconnected
//     while it was paused; a real SIGSTOPped server might still apply them after SIGCONT.
//     A request it was already processing when paused (say, a write waiting for quorum)
//     is still applied, as the shared store has nothing to stop it; its answer, like every
//     byte of a paused node, waits for Resume.
//     Latency is added before a request is processed.
//   - The 307 redirect page is net/http's, with a Content-Length.
package deimostest
