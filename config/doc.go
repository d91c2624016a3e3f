// Package config serves typed configuration values that follow the cluster:
// a Value decodes a key (or several layered keys), keeps the result current
// through a watch, and tells you when it changes.
//
//	type Settings struct {
//		Addr    string        `json:"addr"`
//		Timeout time.Duration `json:"timeout"`
//	}
//
//	v, err := config.Watch(ctx, client, "/config/api",
//		config.WithDefault(Settings{Addr: ":8080", Timeout: time.Second}),
//		config.WithValidate(func(s Settings) error { ... }))
//	if err != nil {
//		return err // only for invalid keys or options, or ctx ending
//	}
//	defer v.Close()
//	v.OnChange(func(old, new Settings) { reload(new) })
//	serve(v.Load()) // never blocks
//
// # Guarantees
//
//   - Load never blocks and always returns a complete value: the decoded keys,
//     the default, or the last good value.
//   - A stored value that does not decode, or that the validator refuses, is
//     not served: the last good value stays, Snapshot.Err holds an
//     *InvalidValueError (matching kv.ErrDecode or ErrValidation), the
//     WithOnInvalid hook is called and a warning is logged. A later good value
//     is served again.
//   - A deleted (or expired) key makes the value fall back to the default, as
//     a missing key does with etcd or Consul clients: deleting an override is
//     how an operator returns to the default, and the delete is a deliberate
//     write, unlike a garbled value. It is reported as a change only if the
//     value differs. An expired key counts as gone from its expiration on,
//     although the server keeps returning it until it reaps it, seconds later.
//   - OnChange callbacks run one at a time on one goroutine, in index order,
//     only when the decoded value really changes (compared in its encoded
//     form): a rewrite of the same bytes, a TTL refresh or a change of a
//     sibling key calls nothing. A panicking callback, codec or validator is
//     recovered; the watch goes on.
//   - Watch does not fail because the cluster is down: after the initial
//     timeout it returns a Value that is Stale and serves the default, and
//     fills in when the cluster answers (WithRequireInitial fails instead).
//   - During an outage the value is kept and Stale reports it; the Value
//     catches up afterwards, by re-listing when the events it missed left the
//     server's 1000-event history. Stale turns false only once a read has
//     succeeded and the value reflects what it returned. A watch that ends
//     is started again; nothing stops silently.
//   - Close, or the end of the context given to Watch, stops every goroutine.
//
// # What is watched, and what it costs
//
// A real node crashes when a directory is deleted, or expires, while a watch
// exists on a key inside it, even a watch whose client has gone
// (docs/protocol.md §12.7). A Value therefore never watches its key: it keeps
// a list-then-watch cache (watch.Cache) of the key's top-level directory —
// "/config" for "/config/api" — which nothing can delete from above, and
// filters the cache's changes down to its keys. A top-level key ("/flags") is
// followed by itself, which is as safe. Layers under different top-level
// directories get one cache each.
//
// The price: the cache holds the whole top-level subtree in memory, lists it
// again after long outages, and every change in it wakes the Value (which
// ignores it after a map lookup). Keep configuration under a directory of
// its own. WithWatchDir follows a deeper directory instead, to save this
// cost, at the price of crash safety if a directory above it is deleted.
//
// The server hides keys below a segment starting with '_' from an ancestor's
// listings and watches (§8.3), so such a key is followed from its deepest
// hidden segment, which is crash-safe only while the directories above it
// stay.
//
// # Staleness
//
// Watches keep working on a node that has lost its quorum (§13.3), and the
// watch package retries failing polls without telling anyone, so a Value
// also reads its keys every WithProbeInterval: a read that is not answered
// within the interval marks it stale, and so do three probes in a row that
// find the value behind what they read (a watch that stopped delivering).
// Each probe costs one read per key, and reads go through the cluster's log.
//
// # Layers
//
// WithLayers stacks keys, later ones taking precedence. With the JSON codec
// the default and then each present layer are decoded into the same value,
// so a layer overrides only the fields it sets: struct fields merge
// recursively, maps gain or replace entries, arrays and scalars are
// replaced, and null clears. A codec implementing Overlay merges its own way;
// any other codec lets the highest present layer win whole.
package config
