package deimos

import (
	"context"

	"github.com/marsevilspirit/deimos-client/concurrency"
)

// DistributedLock is a fair, fenced lock on one key; see
// concurrency.DistributedLock. Create it with Client.NewDistributedLock.
type DistributedLock = concurrency.DistributedLock

// LockInfo describes a DistributedLock as this client sees it.
type LockInfo = concurrency.LockInfo

// LockOption configures NewDistributedLock and WithLock: WithTTL,
// WithAutoRenewal, WithRenewalPeriod.
type LockOption = concurrency.LockOption

// NewDistributedLock returns a lock on key (a directory holding the queue of
// contenders; never deleted) that announces owner to other clients. It sends
// nothing until Lock or TryLock. Defaults: a 15 s TTL, renewed in the
// background every third of it while held.
func (c *Client) NewDistributedLock(key, owner string, opts ...LockOption) *DistributedLock {
	return concurrency.NewDistributedLock(c, key, owner, opts...)
}

// WithLock runs fn while holding the lock on key: it locks (waiting until ctx
// ends), runs fn, and unlocks even if ctx ended meanwhile. If the lock was
// lost while fn ran, the error matches ErrLockLost.
func (c *Client) WithLock(ctx context.Context, key, owner string, fn func() error, opts ...LockOption) error {
	if c.err != nil {
		return c.err
	}
	return concurrency.WithLock(ctx, c, key, owner, fn, opts...)
}

// WithFencedLock runs fn while holding the lock on key, like WithLock, and
// hands it the lock's fencing token (to send along with every write fn makes
// elsewhere, so that storage can refuse an older holder's writes) and a
// context that ends as soon as the lock is lost.
func (c *Client) WithFencedLock(ctx context.Context, key, owner string, fn func(ctx context.Context, token uint64) error, opts ...LockOption) error {
	if c.err != nil {
		return c.err
	}
	return concurrency.WithFencedLock(ctx, c, key, owner, fn, opts...)
}
