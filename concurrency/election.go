package concurrency

import (
	"context"
	"fmt"
)

// Election is leader election on a queue of in-order keys under prefix: the
// candidate whose entry is first is the leader. A candidate's value (an
// address, a name) is stored in its entry and can be changed by the leader
// with Proclaim. Everyone can read the leader with Leader and follow every
// change of leadership with Observe.
//
// An Election value is one candidate: Campaign and Resign are serialised.
type Election struct {
	contender
}

var electionRules = rules{busy: ErrNotLeader, notHeld: ErrNotLeader, verb: "election: resigning with"}

// Leadership is one state of an election, as delivered by Observe.
type Leadership struct {
	// Leader is the leading entry (its Value is the leader's value), nil
	// when nobody campaigns.
	Leader *Entry
	// Index is the store index from which this state holds.
	Index uint64
}

// NewElection returns an election on prefix (a directory of candidacies;
// never deleted) for session s. Option: WithOwner.
func NewElection(s *Session, prefix string, opts ...MutexOption) *Election {
	e := &Election{}
	e.init(s, prefix, 1, electionRules, opts)
	return e
}

// Campaign enters the election with value and blocks until this candidate
// is the leader or ctx ends (the candidacy is then withdrawn). Campaign by
// the current leader proclaims value instead.
func (e *Election) Campaign(ctx context.Context, value string) error {
	if e.err != nil {
		return e.err
	}
	if e.Held() {
		return e.Proclaim(ctx, value)
	}
	return e.acquire(ctx, value, true)
}

// Proclaim changes the leader's value without giving up leadership (a
// compare-and-swap on its entry). Only the leader may proclaim: others get
// ErrNotLeader.
func (e *Election) Proclaim(ctx context.Context, value string) error {
	h := e.cur.Load()
	if h == nil || !e.Held() {
		return ErrNotLeader
	}
	nv := envelope{Token: h.t.token, Owner: e.owner, Value: value}.encode()
	if err := e.s.update(ctx, h.t.key, nv); err != nil {
		return fmt.Errorf("election: proclaiming on %s: %w", e.dir, err)
	}
	return nil
}

// Resign gives up leadership by deleting this candidate's entry; the next
// candidate becomes leader. It fails with ErrNotLeader when this candidate
// does not lead.
func (e *Election) Resign(ctx context.Context) error { return e.release(ctx) }

// Leader returns the current leader's entry (Value is its value), or
// ErrNoLeader when nobody campaigns.
func (e *Election) Leader(ctx context.Context) (*Entry, error) {
	if e.err != nil {
		return nil, e.err
	}
	return head(ctx, e.s.kv, e.dir, ErrNoLeader)
}

// Observe follows the election; see the package function Observe.
func (e *Election) Observe(ctx context.Context) <-chan Leadership {
	return Observe(ctx, e.s.kv, e.dir)
}
