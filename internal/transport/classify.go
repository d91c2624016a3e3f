package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"strings"
)

// neverReached reports whether err proves the request never reached a server:
// the connection could not be made (refused, unreachable, DNS, dial timeout),
// the TLS handshake failed, or the server had already closed an idle
// connection before reading anything. Only then may a write be re-sent.
func neverReached(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "remote error") {
		// "remote error" is a TLS alert from the server: with TLS 1.3 a
		// rejected client certificate is only reported after the client sent
		// its request, but the server's TLS layer refused the connection and
		// its HTTP layer never read a byte of it.
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var (
		rh  tls.RecordHeaderError
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		ale tls.AlertError
	)
	if errors.As(err, &rh) || errors.As(err, &cv) || errors.As(err, &ua) ||
		errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &ale) {
		return true
	}
	msg := err.Error()
	// Unexported net/http errors with stable texts: the handshake timed out, or
	// the server closed the idle connection before reading the request.
	return strings.Contains(msg, "TLS handshake timeout") ||
		strings.Contains(msg, "server closed idle connection")
}

// outcome classifies the error of the attempt c just made to c.ep (nil: a
// usable answer) and gathers what the verdict needs besides.
func (c *call) outcome(err error) attemptOutcome {
	t := c.t
	return attemptOutcome{
		kind:     c.kindOf(err),
		err:      err,
		ended:    c.ended(),
		last:     t.closed.Load() || (c.req.Class == Unsafe && c.tries+1 >= c.maxUnsafeTries()),
		op:       c.req.Op,
		key:      c.req.Key,
		endpoint: c.ep.URL(),
		tried:    c.errs,
	}
}

// kindOf sorts an attempt's error: the server's JSON error, the closing
// transport, an answer the decoder classified, and otherwise a failed
// exchange, which never reached a server or may have.
func (c *call) kindOf(err error) outcomeKind {
	if err == nil {
		return answered
	}
	var se *Error
	if errors.As(err, &se) {
		return refused
	}
	if errors.Is(err, ErrClosed) {
		return closed
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return re.kind
	}
	if c.neverSent(err) {
		return notSent
	}
	return lost
}

// neverSent reports whether a failed exchange provably did not reach a
// server: its error says so, or the attempt of a write never got a
// connection (a dial or TLS handshake that the attempt timeout cut short),
// as far as net/http's transport reports it.
func (c *call) neverSent(err error) bool {
	return neverReached(err) ||
		(c.req.Class == Unsafe && c.t.tracesConns && c.scope != nil && !c.scope.connected.Load())
}

// maxUnsafeTries bounds how often a write that never reached any server is
// re-sent before giving up (it is known not to be applied then).
func (c *call) maxUnsafeTries() int { return max(3, 2*c.t.set.Len()) }

// unwrapURLError drops net/http's *url.Error wrapper, whose message repeats
// the whole URL; our errors name the endpoint and key themselves.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
