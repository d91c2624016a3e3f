package concurrency

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The renewal controls of DistributedLock: an explicit Renew, and automatic
// renewal switched on and off (the session's keep-alive period).

// Renew refreshes the held lock's TTL now. It fails with ErrLockNotHeld when
// the lock is not held and with an error matching ErrLockLost when it was
// lost. A transient failure is returned without losing the lock.
func (l *DistributedLock) Renew(ctx context.Context) error {
	l.mu.Lock()
	s, m := l.session, l.mutex
	l.mu.Unlock()
	if m == nil {
		return fmt.Errorf("%w: %s", ErrLockNotHeld, l.key)
	}
	if !m.Held() {
		return l.lostError(m)
	}
	if err := s.Refresh(ctx); err != nil {
		if errors.Is(err, ErrSessionExpired) {
			return fmt.Errorf("%w: %w", ErrLockLost, err)
		}
		return fmt.Errorf("lock: renewing %s: %w", l.key, err)
	}
	return nil
}

// StartAutoRenewal renews the held lock every period (clamped below the
// TTL, see WithRenewalPeriod) until StopAutoRenewal, Unlock, or the end of
// ctx. It also makes later acquisitions renew automatically.
func (l *DistributedLock) StartAutoRenewal(ctx context.Context, period time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.autoRenew = true
	if period > 0 {
		l.period = period
	}
	if l.stopCtx != nil {
		l.stopCtx()
	}
	l.renewGen++
	gen := l.renewGen
	l.stopCtx = context.AfterFunc(ctx, func() { l.stopAutoRenewal(gen) })
	if l.session != nil {
		l.session.setKeepAlive(renewalPeriod(l.ttl, l.period))
	}
}

// StopAutoRenewal stops background renewal: the held lock now expires one
// TTL after its last renewal unless Renew is called. Later acquisitions do
// not renew automatically either, until StartAutoRenewal.
func (l *DistributedLock) StopAutoRenewal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopRenewalLocked()
}

// stopAutoRenewal is the callback of StartAutoRenewal's context: it stops
// renewal only if no later StartAutoRenewal replaced that context (the
// callback may already be running when it is replaced).
func (l *DistributedLock) stopAutoRenewal(gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen == l.renewGen {
		l.stopRenewalLocked()
	}
}

func (l *DistributedLock) stopRenewalLocked() {
	l.autoRenew = false
	if l.stopCtx != nil {
		l.stopCtx()
		l.stopCtx = nil
	}
	if l.session != nil {
		l.session.setKeepAlive(0)
	}
}
