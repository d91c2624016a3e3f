// Package discovery finds the instances of services registered on Deimos
// (or by the Phobos RPC framework) and balances calls across them.
//
//   - A Layout says where instances live and how they are written: the
//     default is versioned JSON at /deimos/services/<service>/<id>;
//     PhobosLayout reads and writes what Phobos's registry plugins do.
//   - A Resolver follows one service: it lists the service's directory and
//     watches it recursively, and publishes immutable Snapshots.
//   - A Balancer picks an instance per call (round robin, random, smooth
//     weighted round robin, power of two choices, consistent hash) and
//     ejects instances whose calls fail.
//
// The shortest use:
//
//	r, err := discovery.NewResolver(ctx, client, "payments")
//	if err != nil {
//		return err // only for invalid input: a down cluster starts it stale
//	}
//	defer r.Close()
//	b, err := discovery.NewBalancer(r, discovery.PowerOfTwoChoices)
//	if err != nil {
//		return err
//	}
//	defer b.Close()
//	inst, done, err := b.Pick(ctx)
//	if err != nil {
//		return err // discovery.ErrNoInstances
//	}
//	err = call(ctx, inst.Addr)
//	done(err)
//
// # Registration
//
// Register writes an instance and keeps it registered until Deregister:
//
//	reg, err := discovery.Register(ctx, client, discovery.Instance{
//		Service: "payments", ID: "node-1", Addr: "10.0.0.7:8080",
//	})
//	if err != nil {
//		return err // ErrDuplicateInstance, or bad input
//	}
//	defer reg.Deregister(context.Background()) // drain, wait, delete
//
// A registration is a TTL key at Layout.Key holding Layout.Encode, claimed
// by a concurrency.Session of its own (created only where absent) and
// refreshed by compare-and-swap on that value every third of the TTL. It
// never gives up: a key lost in an outage longer than the TTL is created
// again, never over another registrar's key, within a heartbeat of the
// cluster's return; Status and StatusChanges say registered, retrying (and
// why) or conflict. Register refuses TTLs that would let a live instance
// flap (see WithTTL). Update rewrites the value by compare-and-swap, Drain
// marks the instance StateDraining (balancers stop picking it), Deregister
// drains, waits until a watch delivers the change, and deletes the key by
// compare-and-delete, so the instance leaves at once instead of a TTL
// later. With WithRegistrationLayout(PhobosLayout(base)) the key and value
// are exactly those of Phobos's registry plugins, so a Phobos plugin for
// Deimos is a thin wrapper (see the phobosPlugin example).
//
// # What today's registries get wrong, and how this package answers
//
//   - Registrations that give up after an outage longer than their TTL
//     (kratos #3883 and #856, rpcx #420, go-zero #1926): a lost key must be
//     re-created, not mourned. That is the registration's job (a session
//     that re-creates lost keys, reporting each loss); the resolver's side
//     is to keep the last known list while it cannot confirm it
//     (Snapshot.Stale) and to take a re-created key as the same instance.
//   - Instances that flap because the TTL is close to the heartbeat
//     interval (classicswarm #564): registrations, built on concurrency's
//     sessions, refresh at a third of the TTL; and the resolver hides a key
//     only after its expiration plus a grace, confirmed by a quorum read of
//     the directory: a heartbeat that is merely late, or a clock that runs
//     ahead, never removes an instance.
//   - Heartbeats that wake every watcher (the server has no refresh-only
//     write, so every TTL refresh is an update event): an event with the
//     same value and createdIndex only moves the key's expiration; no
//     snapshot is published, so no consumer and no balancer wakes up.
//   - 401 storms when watchers fall behind the 1000-event history (fleet
//     #408): the resolver's cache lists again and reports only the
//     difference, after a random delay (WithRelistJitter), so a hundred
//     resolvers that fell behind together spread their listings instead of
//     reading the whole directory in the same instant.
//   - Crashed instances receiving traffic until the server reaps them (rpcx
//     #144; the server reaps seconds, sometimes tens of seconds, late): the
//     resolver checks each key when its expiration passes and hides it once
//     the server reports it expired (ttl <= 0): a quarter of a second after
//     the expiration (WithExpiryGrace and one read), however late the
//     reaper. Balancers also eject an instance after consecutive errors,
//     before its TTL runs out.
//   - An empty update wiping a good endpoint list (consul #5499, Phobos's
//     own client): a resolver that cannot reach the cluster never empties
//     its list; a list that really goes from N to 0 is flagged
//     (Snapshot.Emptied) and balancers keep picking from the last non-empty
//     list, logged, until ejection removes those instances.
package discovery
