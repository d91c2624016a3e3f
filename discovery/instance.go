package discovery

import (
	"fmt"
	"maps"
)

// Instance is one running copy of a service, as registered under the
// service's directory. A Layout turns it into a key and a value and back.
type Instance struct {
	// Service is the name of the service, one key segment (e.g. "payments").
	Service string
	// ID names the instance within its service and is unique there. In the
	// default layout it is one key segment (e.g. a host name and port); in
	// the Phobos layout it is the Phobos service address "network@address".
	ID string
	// Addr is the address clients dial, e.g. "10.0.0.7:8080".
	Addr string
	// Version is the instance's software version, free-form; may be empty.
	Version string
	// Weight is the instance's share of traffic for the weighted strategies;
	// zero means the default weight of 1. It must not be negative.
	Weight int
	// Metadata holds free-form labels (zone, group, ...). Treat it as
	// read-only: snapshots share it.
	Metadata map[string]string
	// State says whether the instance takes new traffic.
	State State
}

// State is the serving state of an instance.
type State uint8

// States of an instance. The zero value is StateUp.
const (
	// StateUp: the instance takes traffic.
	StateUp State = iota
	// StateDraining: the instance is still registered (its calls in flight
	// finish) but takes no new traffic; balancers never pick it.
	StateDraining
)

// String returns "up" or "draining".
func (s State) String() string {
	switch s {
	case StateUp:
		return "up"
	case StateDraining:
		return "draining"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText encodes the state as its name, so stored values read well.
func (s State) MarshalText() ([]byte, error) {
	if s > StateDraining {
		return nil, fmt.Errorf("%w: unknown state %d", ErrInvalidInstance, uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a state name written by MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	switch string(b) {
	case "up", "":
		*s = StateUp
	case "draining":
		*s = StateDraining
	default:
		return fmt.Errorf("unknown state %q", b)
	}
	return nil
}

// Equal reports whether i and o describe the same registration, metadata
// included. A nil and an empty Metadata are equal.
func (i Instance) Equal(o Instance) bool {
	return i.Service == o.Service && i.ID == o.ID && i.Addr == o.Addr &&
		i.Version == o.Version && i.Weight == o.Weight && i.State == o.State &&
		maps.Equal(i.Metadata, o.Metadata)
}

// EffectiveWeight is the weight balancers use: Weight, or 1 when it is zero.
func (i Instance) EffectiveWeight() int {
	if i.Weight <= 0 {
		return 1
	}
	return i.Weight
}

// checkValue validates the fields a Layout encodes into the value.
func (i Instance) checkValue() error {
	switch {
	case i.Addr == "":
		return &InstanceError{Field: "Addr", Reason: "must not be empty"}
	case i.Weight < 0:
		return &InstanceError{Field: "Weight", Value: fmt.Sprint(i.Weight), Reason: "must not be negative"}
	case i.State > StateDraining:
		return &InstanceError{Field: "State", Value: i.State.String(), Reason: "unknown state"}
	}
	return nil
}
