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

// retryableRead reports whether a safe request may be tried on another
// endpoint after err: transport failures, plain 5xx answers and broken
// bodies are, while server JSON errors and answers every node would give
// alike (404 page, 405, too large) are not.
func retryableRead(err error) bool {
	var se *Error
	if errors.As(err, &se) {
		return false
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return re.retry
	}
	return !errors.Is(err, ErrClosed)
}

func isResponseError(err error) bool {
	var re *ResponseError
	var se *Error
	return errors.As(err, &re) || errors.As(err, &se)
}

// unwrapURLError drops net/http's *url.Error wrapper, whose message repeats
// the whole URL; our errors name the endpoint and key themselves.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
