// Package concurrency builds coordination recipes on the Deimos key space:
// sessions that keep TTL keys alive (their own claims, such as service
// registrations, and the entries of the other recipes), a fair queue lock
// with fencing tokens (Mutex), the README's DistributedLock on top of it,
// leader election and counting semaphores.
//
// The server has no leases and no multi-key transactions, so every recipe is
// made of TTL keys, in-order keys (POST), compare-and-swap/delete and
// watches:
//
//   - A Session owns TTL keys and refreshes each one by compare-and-swap on
//     its unique value, resending value and TTL (an update without them would
//     wipe either). When a key cannot be refreshed before its expiration, or
//     is found gone, the session is lost: Done closes and Err says why. A
//     claim made WithRecreate is created again instead, and its loss and
//     return are reported on the claim.
//   - A lock is a queue of in-order keys under the lock's key, used as a
//     directory. The entry with the lowest createdIndex (compared as a number)
//     holds the lock; each waiter watches only the entry just ahead of it, so
//     a release wakes exactly one waiter, which takes the lock without reading
//     the queue again. The holder's createdIndex is its fencing token,
//     strictly increasing from one holder to the next.
//   - An Election is the same queue with a value; the leader is the first
//     entry. A Semaphore with n permits lets the first n entries hold.
//   - Mutex, Semaphore and Election are one contender underneath: Held says
//     whether it holds, Lost is closed when a holding is lost, Key names its
//     entry.
//
// The shortest use:
//
//	s, err := concurrency.NewSession(client, concurrency.WithTTL(10*time.Second))
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	m := concurrency.NewMutex(s, "/locks/orders")
//	if err := m.Lock(ctx); err != nil {
//		return err
//	}
//	defer m.Unlock(context.Background())
//	writeWithFence(m.FencingToken()) // let the protected resource reject stale holders
//
// The lock directory itself is never deleted nor given a TTL: the real server
// crashes when a directory is removed while keys inside it are watched
// (docs/protocol.md §12.7). Do not delete a recipe's directory yourself
// either, not even once every contender has left: a waiter's watch on its
// predecessor lives on in the server for up to five minutes after the waiter
// gave up (the server keeps a watch until an event or its timeout), and
// removing the directory in that time crashes the node that holds it.
// test/deimostest's crash-hazard detector reports a test that does so.
package concurrency
