// Package watch turns the server's single-event long polls into resumable
// event streams, and keeps list-then-watch caches of subtrees.
//
// The server answers a watch with at most one event and then ends the
// response; it ends an idle poll after five minutes with an empty body, keeps
// only the last 1000 events, and reports an outdated start index as error 401.
// A Stream hides all of that: it remembers the index of the last event it
// delivered and always polls again from the next one, on any healthy endpoint,
// after network errors, cut bodies, server errors and empty answers, with
// exponential backoff. It never delivers an event twice or out of order, and
// it ends with an error matching kv.ErrEventIndexCleared when the history it
// needs is gone; a Cache recovers from that by listing the subtree again.
//
// Watches are answered from the contacted node's own store, so a follower
// that trails the leader delivers events late. Given several endpoints, a
// Stream finds the node that delivers first by sending one poll to each
// (every hundred polls, and after a failure) and keeps asking that node.
//
//	s, err := watch.Watch(ctx, client, "/config", watch.WithRecursive())
//	if err != nil {
//		return err
//	}
//	for ev := range s.Events() {
//		reload(ev.Node.Key, ev.Node.Value) // ev.Action says what happened
//	}
//	return s.Err() // nil when ctx ended
package watch
