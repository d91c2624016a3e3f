package observe

import "strconv"

// Outcome classifies how an operation or an attempt ended. Its String form is
// short and stable, fit for a metric attribute.
type Outcome uint8

const (
	// OK: a usable answer.
	OK Outcome = iota
	// ServerError: the server answered with an error code, e.g. key not found
	// (100) or compare failed (101). The cluster worked; the request was
	// refused.
	ServerError
	// Retried: the attempt failed and the operation went on with another one:
	// a retry, or the other copy of a hedged read (attempts only).
	Retried
	// UnknownOutcome: a write was sent but no trustworthy answer came back;
	// it may or may not have been applied (the error matches
	// deimos.ErrUnknownOutcome).
	UnknownOutcome
	// Unavailable: no endpoint could serve the request (the error matches
	// deimos.ErrClusterUnavailable) after at least one endpoint failed.
	Unavailable
	// Canceled: the caller's context ended, or the client was closed, before
	// an answer came, and no endpoint had failed.
	Canceled
	// Failed: any other failure, e.g. an answer the protocol does not allow
	// or one larger than the response limit.
	Failed
	// Superseded: the other attempt of a hedged read answered first (attempts
	// only).
	Superseded
)

var outcomeNames = [...]string{
	OK:             "ok",
	ServerError:    "server_error",
	Retried:        "retried",
	UnknownOutcome: "unknown_outcome",
	Unavailable:    "unavailable",
	Canceled:       "canceled",
	Failed:         "failed",
	Superseded:     "superseded",
}

// String returns "ok", "server_error", "retried", "unknown_outcome",
// "unavailable", "canceled", "failed" or "superseded".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}
