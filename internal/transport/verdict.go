package transport

// outcomeKind is what one attempt came to, as far as retrying cares. The
// attempt's error is classified into a kind once (see call.outcome); the
// verdict then depends on the kind and the request class alone.
type outcomeKind uint8

const (
	// answered: a usable 2xx answer.
	answered outcomeKind = iota
	// refused: the server's JSON error (*Error). It is the answer: another
	// node would give the same, and a refused write was not applied.
	refused
	// notSent: the request provably never reached a server: connection
	// refused, DNS, TLS handshake, an idle connection the server had closed,
	// or an attempt that never got a connection.
	notSent
	// lost: the request may have reached the server and no answer came: an
	// attempt timeout after sending, a connection reset mid-response.
	lost
	// unavailable: a plain 5xx answer (docs/protocol.md §13.3: no quorum).
	// A timed-out write behind it may still be applied (§13.4).
	unavailable
	// broken: a 2xx or 5xx answer whose body is malformed or cut: the write
	// behind it was, or may have been, applied.
	broken
	// brokenRefusal: a 4xx error answer whose body was cut: the server
	// refused the request, but which error it sent is lost.
	brokenRefusal
	// tooLarge: a 2xx answer above MaxResponseBytes.
	tooLarge
	// rejected: a non-JSON answer every node would give alike (the 404 page,
	// 405): not worth another endpoint, and nothing was applied.
	rejected
	// unusable: a 2xx answer the operation cannot use (Request.Check): the
	// write behind it was applied.
	unusable
	// closed: the transport was closed under the attempt.
	closed
)

// applied reports whether a write whose attempt came to k was, or may have
// been, applied by the server.
func (k outcomeKind) applied() bool {
	switch k {
	case answered, lost, unavailable, broken, tooLarge, unusable:
		return true
	}
	return false
}

// retryableRead reports whether a read that came to k may be tried on
// another endpoint: another node may answer where this one failed.
func (k outcomeKind) retryableRead() bool {
	switch k {
	case notSent, lost, unavailable, broken, brokenRefusal:
		return true
	}
	return false
}

// attemptOutcome is everything the verdict looks at: how the last attempt
// ended, whether the call may go on, and what the error of a final verdict
// must name.
type attemptOutcome struct {
	kind outcomeKind
	err  error // the attempt's error, named with request and endpoint; nil when answered

	ended error // the caller's context error, once it ended
	last  bool  // no attempt may follow: the write is out of tries, or the transport closed

	op, key, endpoint string          // the request and the endpoint of the last attempt
	tried             []EndpointError // last error of each endpoint that failed
}

// verdict is the transport's one decision about a failed or finished
// attempt: whether to try again on another endpoint, whether the request
// (a write) was or may have been applied, and the error the call returns
// if it ends here (nil for a usable answer).
//
//   - The server's JSON error is the answer, whatever else happened.
//   - When the caller's context ended, a read reports the cluster
//     unavailable with the context's error, a write that may have been
//     applied has an unknown outcome, and a write provably not applied
//     reports the endpoints tried (or just the context's error).
//   - A read is retried while another node may answer better; when it may
//     not go on, the endpoints tried are the error.
//   - A write is retried only while it provably never reached a server; a
//     write that may have been applied has an unknown outcome.
//   - A long poll is attempted once: the watch loop owns retrying.
func verdict(class Class, o attemptOutcome) (retry, sent bool, err error) {
	sent = class == Unsafe && o.kind.applied()
	switch {
	case o.kind == answered:
		return false, sent, nil
	case o.kind == refused:
		return false, false, o.err
	case o.ended != nil:
		return false, sent, o.endedError(class, sent)
	case o.kind == closed:
		return false, false, ErrClosed
	}
	switch class {
	case Safe:
		if !o.kind.retryableRead() {
			return false, false, o.err
		}
		if o.last {
			return false, false, o.clusterError(nil)
		}
		return true, false, nil
	case Unsafe:
		switch {
		case sent:
			return false, true, o.unknownOutcome(o.err)
		case o.kind != notSent:
			return false, false, o.err
		case o.last:
			return false, false, o.clusterError(nil)
		}
		return true, false, nil
	}
	return false, false, o.err
}

// endedError is the error of a call whose caller's context ended.
func (o *attemptOutcome) endedError(class Class, sent bool) error {
	switch {
	case class == Safe:
		return o.clusterError(o.ended)
	case sent:
		return o.unknownOutcome(o.ended)
	case class == Unsafe && len(o.tried) > 0:
		return o.clusterError(o.ended)
	}
	return &RequestError{Op: o.op, Key: o.key, Endpoint: o.endpoint, Err: o.ended}
}

func (o *attemptOutcome) clusterError(cause error) error {
	return &ClusterError{Op: o.op, Key: o.key, Endpoints: o.tried, Cause: cause}
}

func (o *attemptOutcome) unknownOutcome(cause error) error {
	return &UnknownOutcomeError{Op: o.op, Key: o.key, Endpoint: o.endpoint, Err: cause}
}
