package observe

import "context"

// Hooks are callbacks a client calls as it works. Every field is optional.
// The hooks of one client may run concurrently (operations run in parallel,
// and a hedged read's second attempt runs on its own goroutine), so they must
// be safe for concurrent use; they run on the request path and should return
// quickly. A hook must not call back into the client synchronously.
//
// Operations the client refuses before sending anything (an invalid request,
// a closed client, a context already ended) are not reported.
type Hooks struct {
	// OperationStart is called when an operation begins, before its first
	// attempt. The context it returns (ctx itself when it has nothing to add)
	// is passed to OperationEnd and to AttemptStart of every attempt.
	OperationStart func(ctx context.Context, op Operation) context.Context
	// OperationEnd is called once when the operation returns to the caller.
	OperationEnd func(ctx context.Context, op Operation, r Result)
	// AttemptStart is called as each HTTP attempt of an operation is sent;
	// ctx is what OperationStart returned. The context it returns is passed
	// to AttemptEnd.
	AttemptStart func(ctx context.Context, a Attempt) context.Context
	// AttemptEnd is called once per attempt when its outcome is known. The
	// losing attempt of a hedged read may end after its operation did.
	AttemptEnd func(ctx context.Context, a Attempt, r AttemptResult)
	// EndpointState is called when an endpoint's health state changes.
	EndpointState func(EndpointChange)
	// Membership is called with the initial endpoints when the client is
	// built, then whenever a member list refresh adds or removes endpoints.
	Membership func(MembershipChange)
}

// Empty reports whether no hook is set.
func (h Hooks) Empty() bool {
	return h.OperationStart == nil && h.OperationEnd == nil &&
		h.AttemptStart == nil && h.AttemptEnd == nil &&
		h.EndpointState == nil && h.Membership == nil
}
