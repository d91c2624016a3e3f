package observe

import (
	"strconv"
	"time"
)

// EndpointState is where an endpoint stands in the client's health cycle.
type EndpointState uint8

const (
	// Healthy endpoints take traffic.
	Healthy EndpointState = iota
	// CoolingDown endpoints failed and are out of rotation until their
	// cool-down ends.
	CoolingDown
	// Probing endpoints finished a cool-down and are being checked before
	// they take traffic again.
	Probing
)

// String returns "healthy", "cooldown" or "probing", the words
// deimos.Endpoint.State uses.
func (s EndpointState) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case CoolingDown:
		return "cooldown"
	case Probing:
		return "probing"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// EndpointChange is one endpoint moving from one health state to another.
type EndpointChange struct {
	// Endpoint is the URL, e.g. "http://127.0.0.1:4001".
	Endpoint string
	// From and To are the states before and after the change.
	From, To EndpointState
	// Err is the failure that started a cool-down, or why a probe failed;
	// nil when the endpoint became healthy or started probing.
	Err error
	// Cooldown is how long the endpoint stays out of rotation, when To is
	// CoolingDown.
	Cooldown time.Duration
	// Healthy counts the endpoints that are healthy after the change, and
	// Total all of them; Healthy == 0 means every endpoint is failing.
	Healthy, Total int
}

// MembershipChange is a change of the client's endpoint list, from the
// cluster's member list. Endpoints the user configured are never removed.
type MembershipChange struct {
	// Added and Removed are the URLs that joined and left the list.
	Added, Removed []string
	// Endpoints is the whole list after the change.
	Endpoints []string
}
