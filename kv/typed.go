package kv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/wait"
)

// Typed reads and writes values of type T through a Codec (JSON by default).
// It is safe for concurrent use.
type Typed[T any] struct {
	kv    *KV
	codec Codec[T]
}

// Entry is a decoded key.
type Entry[T any] struct {
	Key   string
	Value T
	// ModifiedIndex and CreatedIndex are the node's indexes.
	ModifiedIndex uint64
	CreatedIndex  uint64
	// Index is the Response.Index of the answer the entry came from: for a
	// read, the store index the read was applied at, so a watch resumes
	// exactly from Index+1 (resuming from ModifiedIndex+1 fails with
	// ErrEventIndexCleared on a key unchanged for 1000 events); for a write,
	// the write's own index.
	Index uint64
	// Expiration is nil for permanent keys.
	Expiration *time.Time
}

// NewTyped returns a Typed view of k that encodes values with codec, or with
// JSONCodec when codec is nil.
func NewTyped[T any](k *KV, codec Codec[T]) *Typed[T] {
	if codec == nil {
		codec = JSONCodec[T]{}
	}
	return &Typed[T]{kv: k, codec: codec}
}

// Get reads and decodes the value at key. A directory fails with an error
// matching ErrNotFile, a value the codec rejects with ErrDecode.
func (t *Typed[T]) Get(ctx context.Context, key string) (Entry[T], error) {
	resp, err := t.kv.Get(ctx, key)
	if err != nil {
		return Entry[T]{}, err
	}
	return t.entry("get", resp.Node, resp.Index)
}

// Set encodes v and writes it at key (see KV.Set).
func (t *Typed[T]) Set(ctx context.Context, key string, v T, opts ...SetOption) (*Response, error) {
	s, err := t.encode("set", key, v)
	if err != nil {
		return nil, err
	}
	return t.kv.Set(ctx, key, s, opts...)
}

// Create encodes v and writes it at key only if the key does not exist (see
// KV.Create).
func (t *Typed[T]) Create(ctx context.Context, key string, v T, opts ...CreateOption) (*Response, error) {
	s, err := t.encode("create", key, v)
	if err != nil {
		return nil, err
	}
	return t.kv.Create(ctx, key, s, opts...)
}

// List decodes every file directly under dir, skipping subdirectories (see
// KV.List for the order options).
func (t *Typed[T]) List(ctx context.Context, dir string, opts ...ListOption) ([]Entry[T], error) {
	resp, err := t.kv.List(ctx, dir, opts...)
	if err != nil {
		return nil, err
	}
	out := make([]Entry[T], 0, len(resp.Node.Nodes))
	for _, n := range resp.Node.Nodes {
		if n.Dir {
			continue
		}
		e, err := t.entry("list", n, resp.Index)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Update applies fn to the current value of key and writes the result with a
// compare-and-swap on the key's ModifiedIndex, so concurrent updates never
// overwrite each other. A missing (or expired) key is passed to fn as the
// zero T and created. On conflict it re-reads and calls fn again, with a short
// growing pause, until it wins or ctx ends; fn must therefore be free of side
// effects. An error from fn ends the loop and is returned as is.
//
// A write whose outcome is unknown is not retried, since fn could be applied
// twice: the error matches ErrUnknownOutcome and the caller should re-read.
// As with Update, the TTL is replaced: pass WithTTL to keep one.
func (t *Typed[T]) Update(ctx context.Context, key string, fn func(old T) (T, error), opts ...UpdateOption) (Entry[T], error) {
	const op = "typedUpdate"
	clean, err := cleanWriteKey(key)
	if err != nil {
		return Entry[T]{}, err
	}
	var base params
	for _, o := range opts {
		o.applyUpdate(&base)
	}
	if base.err != nil {
		return Entry[T]{}, optionError(op, clean, base.err)
	}
	pause := wait.NewBackoff(conflictPauseMin, conflictPauseMax)
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !wait.Sleep(ctx, pause.NextBackOff()) {
			return Entry[T]{}, fmt.Errorf("kv: update %s: gave up after %d conflicts: %w", clean, attempt, ctx.Err())
		}
		resp, err := t.tryUpdate(ctx, clean, fn, base)
		if err == nil {
			return t.entry(op, resp.Node, resp.Index)
		}
		if !errors.Is(err, ErrTestFailed) && !errors.Is(err, ErrNodeExist) && !errors.Is(err, ErrKeyNotFound) {
			return Entry[T]{}, err
		}
	}
}

// tryUpdate makes one read-modify-write attempt.
func (t *Typed[T]) tryUpdate(ctx context.Context, clean string, fn func(T) (T, error), base params) (*Response, error) {
	var old T
	cur, err := t.kv.Get(ctx, clean)
	switch {
	case errors.Is(err, ErrKeyNotFound):
		cur = nil
	case err != nil:
		return nil, err
	case cur.Node.Dir:
		return nil, notFile("typedUpdate", clean, cur.Index)
	case !cur.Node.Expired(time.Now()):
		if old, err = t.decode(clean, cur.Node.Value); err != nil {
			return nil, err
		}
	}
	next, err := fn(old)
	if err != nil {
		return nil, err
	}
	s, err := t.encode("update", clean, next)
	if err != nil {
		return nil, err
	}
	p := base
	if cur == nil {
		p.hasPrevExist = true
		return t.kv.put(ctx, "create", clean, s, &p)
	}
	p.prevIndex = cur.Node.ModifiedIndex
	return t.kv.put(ctx, "compareAndSwap", clean, s, &p)
}

// The pause between the attempts of a contended Update grows from about
// 1 ms to about 100 ms, jittered so contending writers spread out.
const (
	conflictPauseMin = time.Millisecond
	conflictPauseMax = 100 * time.Millisecond
)

// Decode turns a node into an Entry whose Index is index, for nodes that
// come from elsewhere than this Typed's own reads (a watch event, a cache).
// A directory fails with an error matching ErrNotFile, a value the codec
// rejects with ErrDecode.
func (t *Typed[T]) Decode(n *Node, index uint64) (Entry[T], error) {
	return t.entry("decode", n, index)
}

func (t *Typed[T]) entry(op string, n *Node, index uint64) (Entry[T], error) {
	if n.Dir {
		return Entry[T]{}, notFile(op, n.Key, index)
	}
	v, err := t.decode(n.Key, n.Value)
	if err != nil {
		return Entry[T]{}, err
	}
	return Entry[T]{Key: n.Key, Value: v, ModifiedIndex: n.ModifiedIndex, CreatedIndex: n.CreatedIndex, Index: index, Expiration: n.Expiration}, nil
}

func (t *Typed[T]) decode(key, s string) (T, error) {
	v, err := t.codec.Decode(s)
	if err != nil {
		return v, fmt.Errorf("kv: %w at %s: %w", ErrDecode, key, err)
	}
	return v, nil
}

func (t *Typed[T]) encode(op, key string, v T) (string, error) {
	s, err := t.codec.Encode(v)
	if err != nil {
		return "", fmt.Errorf("kv: %s %s: cannot encode value: %w", op, key, err)
	}
	return s, nil
}

// notFile reports a file operation on a directory the way the server would.
func notFile(op, key string, index uint64) error {
	return &Error{Code: 102, Message: "Not a file", Cause: key, Index: index, Op: op, Key: key}
}
