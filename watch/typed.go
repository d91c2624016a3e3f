package watch

import (
	"context"
	"iter"

	"github.com/marsevilspirit/deimos-client/kv"
)

// TypedEvent is an Event whose value was decoded by a kv.Typed.
type TypedEvent[T any] struct {
	Event
	// Entry is the decoded key after the change, with Index set to the
	// event's index. It is the zero Entry when the event removed the key
	// (IsDelete) or changed a directory.
	Entry kv.Entry[T]
	// Prev is the decoded key before the change, when the event carried a
	// previous value that decodes.
	Prev *kv.Entry[T]
}

// TypedEvents watches key like Events and decodes each change with t. A value
// that fails to decode does not end the watch: its pair carries the event and
// an error matching kv.ErrDecode, so the caller can keep its last good value
// and go on. Errors that end the watch (ErrEventIndexCleared...) come as the
// last pair, as with Events.
//
//	db := kv.NewTyped[DBConfig](client.KV(), nil)
//	for ev, err := range watch.TypedEvents(ctx, client, db, "/config/db") {
//		if errors.Is(err, kv.ErrDecode) {
//			continue // keep the previous value
//		} else if err != nil {
//			return err
//		}
//		apply(ev.Entry.Value)
//	}
func TypedEvents[T any](ctx context.Context, c Client, t *kv.Typed[T], key string, opts ...Option) iter.Seq2[TypedEvent[T], error] {
	return func(yield func(TypedEvent[T], error) bool) {
		for ev, err := range Events(ctx, c, key, opts...) {
			if err != nil {
				yield(TypedEvent[T]{Event: ev}, err)
				return
			}
			te, err := decodeEvent(t, ev)
			if !yield(te, err) {
				return
			}
		}
	}
}

// decodeEvent decodes the value after the change, when the event has one, and
// the one before it when that decodes.
func decodeEvent[T any](t *kv.Typed[T], ev Event) (TypedEvent[T], error) {
	te := TypedEvent[T]{Event: ev}
	idx := ev.Index()
	if ev.PrevNode != nil && !ev.PrevNode.Dir {
		if prev, err := t.Decode(ev.PrevNode, idx); err == nil {
			te.Prev = &prev
		}
	}
	if ev.IsDelete() || ev.Dir() {
		return te, nil
	}
	e, err := t.Decode(ev.Node, idx)
	if err != nil {
		return te, err
	}
	te.Entry = e
	return te, nil
}
