package robustness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
)

// kvClient runs random key-value operations on a small key set and records them.
type kvClient struct {
	id   int
	kv   *kv.KV
	rng  *rand.Rand
	rec  *recorder
	cfg  runConfig
	seq  int
	seen map[string]string // last value this client saw or wrote per key
}

// key picks one of the keys of the current epoch. The key set changes every
// cfg.epoch, which keeps every per-key history short enough for porcupine even with
// many unknown outcomes, while several clients still collide on a few keys.
func (c *kvClient) key() string {
	epoch := time.Since(c.rec.start) / c.cfg.epoch
	return fmt.Sprintf("%s/e%d/k%d", c.cfg.prefix, epoch, c.rng.IntN(c.cfg.keys))
}

// prev picks the value to compare against: usually the last one this client knows,
// sometimes a value nobody wrote.
func (c *kvClient) prev(key string) string {
	if v, ok := c.seen[key]; ok && c.rng.IntN(10) < 8 {
		return v
	}
	return fmt.Sprintf("stale-%d", c.rng.IntN(1000))
}

// run issues operations until ctx ends. Each operation has its own deadline, so the end
// of the run does not cut operations short.
func (c *kvClient) run(ctx context.Context) {
	for ctx.Err() == nil {
		c.step()
		// A pause between operations keeps the write rate below what a watcher can
		// follow: the protocol delivers one event per long poll, and a watcher more
		// than 1000 events behind loses its history (ErrEventIndexCleared).
		wait.Sleep(ctx, time.Duration(c.rng.Int64N(int64(2*c.cfg.think)+1)))
	}
}

func (c *kvClient) step() {
	key := c.key()
	c.seq++
	value := fmt.Sprintf("c%d-%d", c.id, c.seq)
	op := kvOp{Client: c.id, Key: key}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.opTimeout)
	defer cancel()
	var resp *kv.Response
	var err error
	op.Call = c.rec.now()
	switch r := c.rng.IntN(100); {
	case r < 30:
		op.Kind = opGet
		resp, err = c.kv.Get(ctx, key)
	case r < 45:
		op.Kind, op.Value = opSet, value
		resp, err = c.kv.Set(ctx, key, value)
	case r < 60:
		op.Kind, op.Value = opCreate, value
		resp, err = c.kv.Create(ctx, key, value)
	case r < 80:
		op.Kind, op.Value, op.Prev = opCAS, value, c.prev(key)
		resp, err = c.kv.CompareAndSwap(ctx, key, value, kv.WithPrevValue(op.Prev))
	case r < 90:
		op.Kind, op.Prev = opCAD, c.prev(key)
		resp, err = c.kv.CompareAndDelete(ctx, key, kv.WithPrevValue(op.Prev))
	default:
		op.Kind = opDelete
		resp, err = c.kv.Delete(ctx, key)
	}
	op.Return = c.rec.now()
	classify(&op, resp, err)
	switch {
	case op.Kind == opGet && op.Result == resOK && op.Found:
		c.seen[key] = op.Got
	case op.Kind != opGet && op.Kind != opCAD && op.Kind != opDelete && op.Result == resOK:
		c.seen[key] = op.Value
	}
	c.rec.add(op)
}
