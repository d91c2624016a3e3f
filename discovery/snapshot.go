package discovery

import (
	"slices"
	"time"
)

// Snapshot is what a Resolver knows of its service at one moment. It is
// immutable: the resolver never changes a snapshot it handed out, and
// callers must not change its slices or maps either.
type Snapshot struct {
	// Service is the resolved service.
	Service string
	// Instances are the registered, unexpired instances, sorted by ID.
	// Draining instances are included (see Instance.State); balancers skip
	// them.
	Instances []Instance
	// Index is the store index of the last change the snapshot reflects.
	Index uint64
	// Stale is true while the resolver cannot confirm its list with the
	// cluster (before the first listing, and while the cluster is
	// unreachable or cannot serve reads). The list is then the last one
	// known; instances are never dropped because the registry went quiet.
	Stale bool
	// Since is when the current Stale state began: when the resolver lost
	// (or, before its first listing, started looking for) the cluster, or
	// when it regained it.
	Since time.Time
	// Err is the last error while Stale; nil otherwise.
	Err error
	// Emptied is true when the list is empty and was not before, and stays
	// true until instances come back: every instance left at once, which
	// is rarely what happened (a deleted directory, an operator mistake, a
	// registration bug). Balancers keep the last non-empty list then.
	Emptied bool
}

// Up returns the instances in StateUp (a new slice).
func (s Snapshot) Up() []Instance {
	out := make([]Instance, 0, len(s.Instances))
	for _, inst := range s.Instances {
		if inst.State == StateUp {
			out = append(out, inst)
		}
	}
	return out
}

// Lookup returns the instance with the given ID.
func (s Snapshot) Lookup(id string) (Instance, bool) {
	i, ok := slices.BinarySearchFunc(s.Instances, id, func(inst Instance, id string) int {
		switch {
		case inst.ID < id:
			return -1
		case inst.ID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return Instance{}, false
	}
	return s.Instances[i], true
}

// sameContent reports whether publishing b after a would tell a consumer
// nothing new.
func sameContent(a, b *Snapshot) bool {
	return a.Stale == b.Stale && a.Emptied == b.Emptied &&
		slices.EqualFunc(a.Instances, b.Instances, Instance.Equal)
}
