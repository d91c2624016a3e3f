package concurrency

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/marsevilspirit/deimos-client/kv"
)

// placement writes a claimed key where it is absent: a create with
// prevExist=false, so a key another owner holds is never overwritten.
type placement struct {
	s     *Session
	key   string
	value string   // what to write
	ours  []string // values that make an existing key ours, when adopt
	adopt bool
}

// placed is the outcome of a placement: the write's index and send time, or
// the other owner's node when the key was taken.
type placed struct {
	index    uint64
	sent     time.Time
	conflict *kv.Node
}

// place creates the key, retrying while the outcome is unknown or no
// endpoint answers, until ctx ends. An existing key holding one of our
// values is adopted when allowed (a compare-and-swap on that value, with the
// TTL); any other existing key fails with an error matching ErrKeyTaken.
func (p placement) place(ctx context.Context) (placed, error) {
	b := newBackoff(writeRetryMin, writeRetryMax)
	unsure := false // an attempt may have been applied without our knowing
	for {
		sent := time.Now()
		resp, err := p.s.kv.Create(ctx, p.key, p.value, kv.WithTTL(p.s.ttl))
		switch {
		case err == nil:
			return placed{index: resp.Node.ModifiedIndex, sent: sent}, nil
		case errors.Is(err, kv.ErrNodeExist):
			res, again, err := p.existing(ctx, err, unsure)
			if !again {
				return res, err
			}
		case retryable(err) && ctx.Err() == nil:
			unsure = unsure || errors.Is(err, kv.ErrUnknownOutcome)
			if !pause(ctx, b) {
				return placed{}, fmt.Errorf("claim: creating %s: %w", p.key, err)
			}
		default:
			return placed{}, fmt.Errorf("claim: creating %s: %w", p.key, err)
		}
	}
}

// existing decides about a key the create found in place: adopt it, report
// it taken, or (again) create once more because it vanished meanwhile.
func (p placement) existing(ctx context.Context, exist error, unsure bool) (res placed, again bool, err error) {
	g, err := p.s.kv.Get(ctx, p.key)
	switch {
	case errors.Is(err, kv.ErrKeyNotFound):
		return placed{}, true, nil
	case err != nil:
		return placed{}, false, fmt.Errorf("claim: reading %s, which exists: %w", p.key, err)
	}
	n := g.Node
	ours := !n.Dir && slices.Contains(p.ours, n.Value)
	switch {
	case ours && p.adopt:
		sent := time.Now()
		resp, err := p.s.kv.CompareAndSwap(ctx, p.key, p.value, kv.WithPrevValue(n.Value), kv.WithTTL(p.s.ttl))
		if err == nil {
			return placed{index: resp.Node.ModifiedIndex, sent: sent}, false, nil
		}
		if errors.Is(err, kv.ErrTestFailed) || errors.Is(err, kv.ErrKeyNotFound) {
			return placed{}, true, nil // changed or gone meanwhile: look again
		}
		return placed{}, false, fmt.Errorf("claim: adopting %s: %w", p.key, err)
	case ours && unsure:
		return placed{conflict: n}, false, fmt.Errorf("%w: %s holds our value, perhaps from our own create whose outcome was unknown (WithAdopt takes it over): %w: %w",
			ErrKeyTaken, p.key, kv.ErrUnknownOutcome, exist)
	}
	return placed{conflict: n}, false, fmt.Errorf("%w: %s (created at index %d): %w", ErrKeyTaken, p.key, n.CreatedIndex, exist)
}

// recreate makes one attempt at getting a lost claim's key back. Our own
// value found in place counts as ours (a refresh sent during the outage may
// have been applied late; a refresh would take it as ours all the same).
// Another owner's key is reported once per owner (by its createdIndex) and
// tried again later, never overwritten.
func (s *Session) recreate(k *ownedKey) {
	k.write.Lock()
	defer k.write.Unlock()
	s.mu.Lock()
	if k.released || !k.lost {
		s.mu.Unlock()
		return
	}
	p := placement{s: s, key: k.key, value: k.value, ours: nonEmpty(k.value, k.maybe), adopt: true}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, s.attemptTimeout())
	defer cancel()
	res, err := p.place(ctx)
	switch {
	case err == nil:
		s.mu.Lock()
		k.lost, k.conflict = false, 0
		s.recordWrite(k, p.value, res.sent, res.index)
		s.mu.Unlock()
		k.claim.emit(KeyEvent{Kind: KeyRecreated, Key: k.key, Index: res.index})
	case res.conflict != nil:
		if s.noteConflict(k, res.conflict.CreatedIndex) {
			k.claim.emit(KeyEvent{Kind: KeyConflict, Key: k.key, Index: res.conflict.ModifiedIndex, Err: err})
		}
		s.retryLater(k)
	default:
		s.retryLater(k)
	}
}

// noteConflict records the other owner's key and reports whether it is a
// new one (not reported yet).
func (s *Session) noteConflict(k *ownedKey, created uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.conflict == created {
		return false
	}
	k.conflict = created
	return true
}

func nonEmpty(values ...string) []string {
	return slices.DeleteFunc(values, func(v string) bool { return v == "" })
}
