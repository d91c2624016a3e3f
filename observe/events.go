package observe

import (
	"strconv"
	"time"
)

// Kind is what an operation does, which says how it may be retried.
type Kind uint8

const (
	// Read is a plain read: retried on other endpoints until its context ends,
	// and possibly hedged.
	Read Kind = iota
	// Write changes the store: re-sent only when it provably never reached a
	// server.
	Write
	// Watch is a long poll waiting for an event: attempted once, and it may
	// last as long as its caller waits.
	Watch
)

// String returns "read", "write" or "watch".
func (k Kind) String() string {
	switch k {
	case Read:
		return "read"
	case Write:
		return "write"
	case Watch:
		return "watch"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Operation describes one call of the client, such as a Get or a Set, which
// may take several HTTP attempts.
type Operation struct {
	// Name is the operation, e.g. "get", "set", "compareAndSwap", "watch" or
	// "sync" (a member list refresh).
	Name string
	// Method is the HTTP method: GET, PUT, POST or DELETE.
	Method string
	// Key is the normalised key, e.g. "/config/db"; empty for requests that
	// are not about a key (the member list). Keys can be sensitive: record
	// them only where that is acceptable.
	Key string
	// Kind says whether it reads, writes or watches.
	Kind Kind
}

// Result is how an operation ended.
type Result struct {
	// Outcome classifies the result; Err is nil exactly when it is OK.
	Outcome Outcome
	// Err is the error returned to the caller, nil on success.
	Err error
	// Endpoint is the URL of the endpoint that gave the final answer or the
	// last error, e.g. "http://127.0.0.1:4001".
	Endpoint string
	// StatusCode is the HTTP status of the final answer; 0 when none came.
	StatusCode int
	// Attempts counts the HTTP attempts sent, hedges included.
	Attempts int
	// Hedges counts the attempts that were hedges (see Attempt.Hedged).
	Hedges int
	// Duration is the time from OperationStart to OperationEnd.
	Duration time.Duration
}

// Attempt describes one HTTP exchange made for an operation.
type Attempt struct {
	// Operation is the operation the attempt belongs to.
	Operation Operation
	// Endpoint is the URL the attempt goes to.
	Endpoint string
	// Number counts attempts from 1; a hedge has the number of the attempt
	// it doubles.
	Number int
	// Hedged marks the second copy of a slow read, sent to another endpoint
	// while the first is still waiting; the first answer wins.
	Hedged bool
}

// AttemptResult is how one attempt ended.
type AttemptResult struct {
	// Outcome classifies the attempt. A failed attempt after which the
	// operation went on (with a retry, or with the other copy of a hedged
	// read) is Retried; the operation's last attempt has the operation's
	// outcome; the slower copy of a hedged read is Superseded.
	Outcome Outcome
	// Err is what went wrong; nil for OK and Superseded attempts.
	Err error
	// StatusCode is the HTTP status; 0 when no answer came.
	StatusCode int
	// Duration is from sending the request until its answer was read, or
	// until it failed.
	Duration time.Duration
	// BytesSent is the size of the request body (the form of a PUT or POST).
	BytesSent int64
	// BytesReceived is how much of the answer's body was read.
	BytesReceived int64
}
