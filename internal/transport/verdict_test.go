package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
)

// want is what the verdict must say for one class: retry, sent, and the
// shape of the error the call returns if it ends there.
type want struct {
	retry, sent bool
	err         errShape
	cause       error // what the error must match besides its shape
}

type errShape uint8

const (
	noErr     errShape = iota
	same               // the attempt's own error
	cluster            // *ClusterError (ErrClusterUnavailable)
	unknown            // *UnknownOutcomeError (ErrUnknownOutcome)
	request            // *RequestError naming the request
	closedErr          // ErrClosed
)

var (
	retry = want{retry: true}
	asIs  = want{err: same}
	maybe = want{sent: true, err: unknown} // a write that may have been applied
	gone  = want{err: cluster}             // no attempt left: the endpoints tried
)

// verdictCase is one way an attempt can end, with the verdict each class
// must get.
type verdictCase struct {
	name      string
	err       func(c *call) error // the attempt's error as the request path names it
	connected bool                // the attempt got a connection (httptrace GotConn)
	ended     error               // the caller's context error
	last      bool                // no attempt may follow
	tried     int                 // endpoints that failed before
	safe      want
	unsafe    want
	longPoll  want
}

func reqErr(err error) func(*call) error {
	return func(c *call) error { return c.attemptError(err) }
}

func respErr(status int, err error, body string) func(*call) error {
	return func(c *call) error { return c.responseError(status, err, body) }
}

var (
	errRefused  = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	errDNS      = &net.DNSError{Err: "no such host", Name: "n9.invalid", IsNotFound: true}
	errTLS      = &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
	errIdle     = errors.New("http: server closed idle connection")
	errTimeout  = fmt.Errorf("%w (%s)", ErrAttemptTimeout, time.Second)
	errReset    = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	errNotFound = &Error{Code: 100, Message: "Key not found", Cause: "/a", Op: "get", Key: "/a"}
)

var verdictCases = []verdictCase{
	{name: "usable answer", err: func(*call) error { return nil },
		safe: want{}, unsafe: want{sent: true}, longPoll: want{}},
	{name: "dial refused", err: reqErr(errRefused),
		safe: retry, unsafe: retry, longPoll: asIs},
	{name: "DNS failure", err: reqErr(errDNS),
		safe: retry, unsafe: retry, longPoll: asIs},
	{name: "TLS handshake refused", err: reqErr(errTLS), connected: true,
		safe: retry, unsafe: retry, longPoll: asIs},
	{name: "TLS handshake timeout", err: reqErr(errors.New("net/http: TLS handshake timeout")), connected: true,
		safe: retry, unsafe: retry, longPoll: asIs},
	{name: "idle connection closed before sending", err: reqErr(errIdle), connected: true,
		safe: retry, unsafe: retry, longPoll: asIs},
	{name: "attempt never got a connection", err: reqErr(errTimeout),
		safe: retry, unsafe: retry, longPoll: asIs},
	{name: "timeout after sending", err: reqErr(errTimeout), connected: true,
		safe: retry, unsafe: maybe, longPoll: asIs},
	{name: "reset mid-response", err: reqErr(errReset), connected: true,
		safe: retry, unsafe: maybe, longPoll: asIs},
	{name: "body cut mid-response", err: respErr(200, errTruncated, ""), connected: true,
		safe: retry, unsafe: maybe, longPoll: asIs},
	{name: "malformed 2xx body", err: respErr(200, errors.New("invalid character 'x'"), ""), connected: true,
		safe: retry, unsafe: maybe, longPoll: asIs},
	{name: "plain 5xx", err: respErr(500, nil, "Internal Server Error"), connected: true,
		safe: retry, unsafe: maybe, longPoll: asIs},
	{name: "5xx body cut", err: respErr(500, io.ErrUnexpectedEOF, "Internal"), connected: true,
		safe: retry, unsafe: maybe, longPoll: asIs},
	{name: "JSON server error", err: func(*call) error { return errNotFound }, connected: true,
		safe: asIs, unsafe: asIs, longPoll: asIs},
	{name: "4xx error body cut", err: respErr(404, io.ErrUnexpectedEOF, `{"errorCode":1`), connected: true,
		safe: retry, unsafe: asIs, longPoll: asIs},
	{name: "non-JSON 404 page", err: respErr(404, nil, "404 page not found"), connected: true,
		safe: asIs, unsafe: asIs, longPoll: asIs},
	{name: "too large", err: respErr(200, ErrResponseTooLarge, ""), connected: true,
		safe: asIs, unsafe: maybe, longPoll: asIs},
	{name: "answer the operation cannot use", err: func(c *call) error {
		re := c.responseError(200, errors.New("no node in the answer"), "")
		re.kind = unusable
		return re
	}, connected: true,
		safe: asIs, unsafe: maybe, longPoll: asIs},
	{name: "context ended before sending", err: reqErr(context.Canceled), ended: context.Canceled,
		safe:     want{err: cluster, cause: context.Canceled},
		unsafe:   want{err: request, cause: context.Canceled},
		longPoll: want{err: request, cause: context.Canceled}},
	{name: "context ended before sending, after failures", err: reqErr(context.Canceled), ended: context.Canceled, tried: 1,
		safe:     want{err: cluster, cause: context.Canceled},
		unsafe:   want{err: cluster, cause: context.Canceled},
		longPoll: want{err: request, cause: context.Canceled}},
	{name: "context ended after sending", err: reqErr(context.DeadlineExceeded), connected: true, ended: context.DeadlineExceeded,
		safe:     want{err: cluster, cause: context.DeadlineExceeded},
		unsafe:   want{sent: true, err: unknown, cause: context.DeadlineExceeded},
		longPoll: want{err: request, cause: context.DeadlineExceeded}},
	{name: "context ended while a 2xx body was read", err: respErr(200, context.Canceled, ""), connected: true, ended: context.Canceled,
		safe:     want{err: cluster, cause: context.Canceled},
		unsafe:   want{sent: true, err: unknown, cause: context.Canceled},
		longPoll: want{err: request, cause: context.Canceled}},
	{name: "JSON server error, context ended after it", err: func(*call) error { return errNotFound }, connected: true, ended: context.Canceled,
		safe: asIs, unsafe: asIs, longPoll: asIs},
	{name: "closed client", err: reqErr(fmt.Errorf("long poll cut: %w", ErrClosed)), connected: true,
		safe: want{err: closedErr}, unsafe: want{err: closedErr}, longPoll: want{err: closedErr}},
	{name: "no attempt left after a refused dial", err: reqErr(errRefused), last: true, tried: 3,
		safe: gone, unsafe: gone, longPoll: asIs},
	{name: "no attempt left after a timeout", err: reqErr(errTimeout), connected: true, last: true, tried: 3,
		safe: gone, unsafe: maybe, longPoll: asIs},
}

func TestVerdict_EveryClassAndOutcome(t *testing.T) {
	set, err := endpoints.New([]string{"http://n1:4001"}, endpoints.Options{})
	require.NoError(t, err)
	defer set.Close()
	for _, tc := range verdictCases {
		for _, cl := range []struct {
			class Class
			want  want
		}{{Safe, tc.safe}, {Unsafe, tc.unsafe}, {LongPoll, tc.longPoll}} {
			t.Run(tc.name+"/"+cl.class.String(), func(t *testing.T) {
				c := &call{
					ctx:   context.Background(),
					t:     &Transport{tracesConns: true},
					req:   &Request{Op: "op", Key: "/a", Class: cl.class},
					ep:    set.Pick(nil),
					scope: &attemptScope{},
				}
				c.scope.connected.Store(tc.connected)
				attemptErr := tc.err(c)
				o := attemptOutcome{
					kind: c.kindOf(attemptErr), err: attemptErr,
					ended: tc.ended, last: tc.last,
					op: "op", key: "/a", endpoint: c.ep.URL(),
					tried: make([]EndpointError, tc.tried),
				}
				retry, sent, err := verdict(cl.class, o)
				assert.Equal(t, cl.want.retry, retry, "retry")
				assert.Equal(t, cl.want.sent, sent, "sent")
				checkShape(t, cl.want, attemptErr, err)
			})
		}
	}
}

func checkShape(t *testing.T, w want, attemptErr, err error) {
	t.Helper()
	if w.retry {
		assert.NoError(t, err, "a retried attempt ends nothing")
		return
	}
	switch w.err {
	case noErr:
		assert.NoError(t, err)
	case same:
		assert.Same(t, attemptErr, err)
	case cluster:
		var ce *ClusterError
		require.ErrorAs(t, err, &ce)
		assert.ErrorIs(t, err, ErrClusterUnavailable)
		assert.NotErrorIs(t, err, ErrUnknownOutcome)
		assert.Equal(t, "op", ce.Op)
	case unknown:
		var uo *UnknownOutcomeError
		require.ErrorAs(t, err, &uo)
		assert.Equal(t, "http://n1:4001", uo.Endpoint)
		if w.cause == nil {
			assert.Same(t, attemptErr, uo.Err, "wraps the attempt's error")
		}
	case request:
		var qe *RequestError
		require.ErrorAs(t, err, &qe)
		assert.Equal(t, "http://n1:4001", qe.Endpoint)
	case closedErr:
		assert.Same(t, ErrClosed, err)
	}
	if w.cause != nil {
		assert.ErrorIs(t, err, w.cause)
	}
}

// Only what the verdict decides makes a write look applied: none of the
// outcomes that prove it never reached a server may say "sent".
func TestVerdict_NeverSentWritesAreNeverUnknown(t *testing.T) {
	for _, k := range []outcomeKind{notSent, rejected, brokenRefusal, refused, closed} {
		assert.False(t, k.applied(), "kind %d", k)
	}
	for _, k := range []outcomeKind{answered, lost, unavailable, broken, tooLarge, unusable} {
		assert.True(t, k.applied(), "kind %d", k)
	}
}

// An answer the operation cannot use (Request.Check) is the verdict's too:
// a write behind a 2xx was applied, so its outcome is unknown; a read gets
// the malformed-response error at once, from the one node asked.
func TestDo_CheckMakesAnUnusableWriteAnUnknownOutcome(t *testing.T) {
	var n atomic.Int64
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, `{"action":"set"}`)
	})
	noNode := func(out any) error {
		if out.(*wireResp).Node == nil {
			return errors.New("no node in the answer")
		}
		return nil
	}
	put := putReq("/a", map[string]string{"value": "v"})
	put.Check = noNode
	_, err := tr.Do(context.Background(), put, &wireResp{})
	require.ErrorIs(t, err, ErrUnknownOutcome)
	require.ErrorIs(t, err, ErrMalformedResponse)
	assert.Contains(t, err.Error(), "no node in the answer")
	assert.Equal(t, int64(1), n.Load())

	get := getReq("/a")
	get.Check = noNode
	_, err = tr.Do(context.Background(), get, &wireResp{})
	require.ErrorIs(t, err, ErrMalformedResponse)
	require.NotErrorIs(t, err, ErrUnknownOutcome)
	assert.Equal(t, int64(2), n.Load(), "not retried")
}
