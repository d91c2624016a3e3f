package discovery

import (
	"fmt"
	"time"
)

// Status is where a registration stands: whether its key is in place, and
// if not, why.
type Status struct {
	// Kind says where the registration stands.
	Kind StatusKind
	// Index is, for StatusRegistered, the modifiedIndex of the write that
	// created the key (or got it back); for StatusRetrying, that of the
	// registration's last write on it; for StatusConflict, that of the other
	// owner's key.
	Index uint64
	// Err says why the key was lost (StatusRetrying: it matches
	// concurrency.ErrClaimLost), who holds it (StatusConflict: it matches
	// ErrDuplicateInstance), or why the registration stopped on its own
	// (StatusStopped: kv.ErrClosed when its client was closed); nil
	// otherwise.
	Err error
	// Since is when the registration reached this status.
	Since time.Time
}

// StatusKind is the kind of a Status.
type StatusKind uint8

// The kinds of Status.
const (
	// StatusRegistered: the key is in place and kept alive.
	StatusRegistered StatusKind = iota + 1
	// StatusRetrying: the key was lost (it expired during an outage longer
	// than the TTL, or someone deleted it) and is being created again, for
	// as long as the registration lives.
	StatusRetrying
	// StatusConflict: while the key was lost, another registrar took it.
	// Its key is never overwritten; the registration tries again until it
	// goes away.
	StatusConflict
	// StatusStopped: the registration is over: Deregister or Orphan was
	// called, or its client was closed. Nothing keeps the key alive.
	StatusStopped
)

// String returns "registered", "retrying", "conflict" or "stopped".
func (k StatusKind) String() string {
	switch k {
	case StatusRegistered:
		return "registered"
	case StatusRetrying:
		return "retrying"
	case StatusConflict:
		return "conflict"
	case StatusStopped:
		return "stopped"
	}
	return fmt.Sprintf("StatusKind(%d)", uint8(k))
}
