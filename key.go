package deimos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Key is the fluent form of the key-space calls: options accumulate on the
// key, and the final call passes them to the same kv operation the plain
// methods use. An option that does not fit the final call fails it with
// ErrInvalidOption. A Key is immutable (each option returns a new one), so it
// can be kept and reused.
//
//	resp, err := client.Key("/config/db").TTL(30 * time.Second).Set(ctx, "postgres://...")
type Key struct {
	c    *Client
	key  string
	opts []any
}

// Key starts a fluent call on key.
func (c *Client) Key(key string) *Key { return &Key{c: c, key: key} }

// TTL adds WithTTL.
func (k *Key) TTL(ttl time.Duration) *Key { return k.with(WithTTL(ttl)) }

// Recursive adds WithRecursive.
func (k *Key) Recursive() *Key { return k.with(WithRecursive()) }

// Sorted adds WithSorted.
func (k *Key) Sorted() *Key { return k.with(WithSorted()) }

// Dir adds WithDir.
func (k *Key) Dir() *Key { return k.with(WithDir()) }

// PrevValue adds WithPrevValue.
func (k *Key) PrevValue(value string) *Key { return k.with(WithPrevValue(value)) }

// PrevIndex adds WithPrevIndex.
func (k *Key) PrevIndex(index uint64) *Key { return k.with(WithPrevIndex(index)) }

// PrevExist adds WithPrevExist.
func (k *Key) PrevExist(exist bool) *Key { return k.with(WithPrevExist(exist)) }

// Get reads the key (Client.Get).
func (k *Key) Get(ctx context.Context) (*Response, error) {
	opts, err := pick[kv.GetOption](k, "get")
	if err != nil {
		return nil, err
	}
	return k.c.kv.Get(ctx, k.key, opts...)
}

// Set writes value at the key (Client.Set).
func (k *Key) Set(ctx context.Context, value string) (*Response, error) {
	opts, err := pick[kv.SetOption](k, "set")
	if err != nil {
		return nil, err
	}
	return k.c.kv.Set(ctx, k.key, value, opts...)
}

// Create writes value only if the key does not exist (kv.KV.Create).
func (k *Key) Create(ctx context.Context, value string) (*Response, error) {
	opts, err := pick[kv.CreateOption](k, "create")
	if err != nil {
		return nil, err
	}
	return k.c.kv.Create(ctx, k.key, value, opts...)
}

// Update replaces the value of an existing key (kv.KV.Update).
func (k *Key) Update(ctx context.Context, value string) (*Response, error) {
	opts, err := pick[kv.UpdateOption](k, "update")
	if err != nil {
		return nil, err
	}
	return k.c.kv.Update(ctx, k.key, value, opts...)
}

// CompareAndSwap replaces the value if PrevValue and/or PrevIndex match
// (kv.KV.CompareAndSwap).
func (k *Key) CompareAndSwap(ctx context.Context, value string) (*Response, error) {
	opts, err := pick[kv.CompareAndSwapOption](k, "compareAndSwap")
	if err != nil {
		return nil, err
	}
	return k.c.kv.CompareAndSwap(ctx, k.key, value, opts...)
}

// Delete removes the key (Client.Delete).
func (k *Key) Delete(ctx context.Context) (*Response, error) {
	opts, err := pick[kv.DeleteOption](k, "delete")
	if err != nil {
		return nil, err
	}
	return k.c.kv.Delete(ctx, k.key, opts...)
}

// List reads the children of the directory (kv.KV.List).
func (k *Key) List(ctx context.Context) (*Response, error) {
	opts, err := pick[kv.ListOption](k, "list")
	if err != nil {
		return nil, err
	}
	return k.c.kv.List(ctx, k.key, opts...)
}

// Mkdir creates the key as an empty directory (kv.KV.Mkdir).
func (k *Key) Mkdir(ctx context.Context) (*Response, error) {
	opts, err := pick[kv.MkdirOption](k, "mkdir")
	if err != nil {
		return nil, err
	}
	return k.c.kv.Mkdir(ctx, k.key, opts...)
}

// CreateInOrder creates a new child of the key named by its store index
// (kv.KV.CreateInOrder).
func (k *Key) CreateInOrder(ctx context.Context, value string) (*Response, error) {
	opts, err := pick[kv.CreateInOrderOption](k, "createInOrder")
	if err != nil {
		return nil, err
	}
	return k.c.kv.CreateInOrder(ctx, k.key, value, opts...)
}

func (k *Key) with(o any) *Key {
	opts := make([]any, len(k.opts), len(k.opts)+1)
	copy(opts, k.opts)
	return &Key{c: k.c, key: k.key, opts: append(opts, o)}
}

// pick keeps the accumulated options as the option type of one operation,
// refusing any that does not fit it.
func pick[O any](k *Key, op string) ([]O, error) {
	if len(k.opts) == 0 {
		return nil, nil
	}
	out := make([]O, 0, len(k.opts))
	for _, o := range k.opts {
		fit, ok := o.(O)
		if !ok {
			name := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%T", o), "deimos."), "Option")
			return nil, fmt.Errorf("deimos: %s %s: %w: %s does not apply to %s", op, k.key, ErrInvalidOption, name, op)
		}
		out = append(out, fit)
	}
	return out, nil
}
