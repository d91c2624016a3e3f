// Package deimostest runs an in-process Deimos cluster for tests: n real loopback HTTP
// listeners ("nodes") sharing one committed in-memory store, each with its own view of it
// for watches, speaking the client API of the real server byte for byte where a client
// can tell (statuses, JSON field order and omissions, headers, error codes, the trailing
// "Internal Server Error" line, chunked framing and the server's quirks), plus fault
// injection to break it on purpose. Think net/http/httptest or miniredis, for Deimos. The
// wire behaviour it follows is docs/protocol.md of the deimos-client repository.
//
// The shortest use, in a test:
//
//	c := deimostest.NewCluster(t, 3)                             // closed by t.Cleanup
//	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...)) // or any HTTP client
//	defer client.Close()
//
// Programs (examples, benchmarks, the deimos-dev command in cmd/deimos-dev) use
// StartCluster and Close instead.
//
// # What is emulated
//
// The key space of docs/protocol.md §3–§12: directories, one global index, hidden "_" keys,
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
// Node.SetCapacity (at most n requests worked on at once, the rest queue: a busy,
// raft-bound node),
// Cluster.LoseQuorum/RestoreQuorum (non-watch requests hang WithServerTimeout, then the
// plain 500; writes received meanwhile are applied in order when quorum returns), and
// Node.SetHook with FailNext or any Hook (Fault500, FaultDropResponse, FaultGarbage,
// FaultTruncate, FaultReset), Node.SetWatchLag/ClearWatchLag (a follower whose watches
// trail the store). Node.Requests and Cluster.Requests count every request received,
// before any fault, so a test can assert that a write was sent exactly once.
// Cluster.History returns every event ever emitted.
//
// # Replication you can see
//
// Follower lag and the write-index race are off by default, so that tests stay
// deterministic, and turned on per cluster or per node; the crash-hazard detector is
// always on:
//
//   - Follower lag (docs/protocol.md §13.2): WithWatchLag(d) makes every node apply each
//     committed event d after its commit, for its watches; Node.SetWatchLag(d) does it for
//     one node. A node applies in index order, and at once everything pending when it
//     answers a GET or a write (raft applies before it answers). Its watches see only
//     what it applied: its own history window and 401 check, "next event" for a watch
//     without waitIndex (so a set acknowledged by one node and then watched on a lagging
//     one is answered with that very set), a live watcher for a waitIndex above its
//     applied index. Node.AppliedIndex tells how far a node is. A stopped node catches up
//     when it starts; a paused node keeps applying (and notifying its watchers), but its
//     answers wait for Resume. With no lag there is no extra goroutine and no timing
//     change; with some, one goroutine per cluster applies events when due.
//   - The write-index race (§6.2, §6.4): with WithWriteIndexRace a watch answered from
//     history on the node that answered a write sets that write's X-Deimos-Index to the
//     node's current index, if it comes between the write's apply and its headers; the
//     body's node.modifiedIndex stays right. The window is held open for 2 ms after each
//     successful write (WithWriteIndexRaceWindow changes it), so watchers that are
//     answered from history while others write hit the race often: about one write in
//     four with 4 writers and 4 watchers that ask for the write before the latest, well
//     under 1 % with watchers that poll waitIndex = last+1 (the real server: 0.46 %).
//     Cluster.WriteIndexRaces counts the answers it changed.
//   - Crash hazards (§12.7): whenever a real node would have panicked, that is a directory
//     deleted recursively or expired while the node has a watcher (live, or abandoned by
//     its client but within its watch timeout and not yet consumed by an event) on a key
//     of the directory's subtree other than the directory itself (a lagging node counts
//     when it applies the delete), the cluster records a CrashHazard. NewCluster fails the test with every hazard at cleanup unless
//     the test calls Cluster.ExpectCrashHazards or passes WithCrashHazardsAllowed;
//     Cluster.CrashHazards lists them. Watch a directory recursively instead of watching
//     children that may be deleted with it.
//
// # Deliberate differences from the real server
//
//   - Deleting or expiring a directory while a watch exists on a key inside it crashes the
//     real node (§12.7). Here the directory's delete or expire event (key = the directory)
//     is delivered to those watchers, exact and recursive, which is the intended
//     behaviour, and a CrashHazard is recorded (see above) when the watched key existed in
//     the directory, as the server only notifies the paths of the nodes it removes.
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
//   - All nodes share one committed store and event log; only their view for watches can
//     lag (see above), and only by time, never by a partition: a write is committed at
//     once and non-watch requests always see it. A restarted node keeps its history (as
//     one that replays its log). There are no elections: stopping nodes never costs
//     quorum; use LoseQuorum for that. The 10 000-entry snapshot bug (nodes unable to
//     restart, §13.7) and CORS are not emulated.
//   - The write-index race is only possible with WithWriteIndexRace, in its widened
//     window; without it X-Deimos-Index of a write is always its own index.
//   - LoseQuorum makes every node behave like an isolated leader: held writes are applied
//     when quorum returns (on the real server a write sent to a follower is lost), and a
//     request still waiting at that moment gets its real answer instead of the 500.
//   - A watcher whose client disconnected is kept, as on the real server, until an event
//     consumes it or its watch timeout passes, but it only matters to the crash-hazard
//     detector: Cluster.Watchers and Node.Watchers do not count it.
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
