// Package endpoints keeps the set of cluster members a client talks to and
// decides which one gets the next request.
//
// Every endpoint carries a health score: an EWMA of its answer latency, a
// penalty for recent failures and a load factor for requests in flight. A
// failing endpoint is put in a cool-down that grows exponentially while it
// keeps failing, and it is probed before it is trusted again, so a dead or hung
// node costs one attempt and is then avoided. Selection among the healthy
// endpoints uses power-of-two-choices, which spreads load while still
// preferring fast nodes.
//
// The set is seeded from the user's list and refreshed from the member list
// the cluster reports (GET /machines); seeds are never forgotten.
//
//	set, err := endpoints.New([]string{"http://127.0.0.1:4001"}, endpoints.Options{})
//	if err != nil { ... }
//	defer set.Close()
//	ep := set.Pick(nil)
package endpoints
