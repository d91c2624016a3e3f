package apierror_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/marsevilspirit/deimos-client/apierror"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestError_MatchesItsCodeWhateverTheContext(t *testing.T) {
	err := error(&apierror.Error{Code: 100, Message: "Key not found", Cause: "/a", Index: 7, Op: "get", Key: "/a", Endpoint: "http://n1"})
	assert.ErrorIs(t, err, apierror.ErrKeyNotFound)
	assert.NotErrorIs(t, err, apierror.ErrTestFailed)
	assert.Equal(t, "deimos: get /a on http://n1: Key not found (/a) [100]", err.Error())

	var se *apierror.Error
	assert.True(t, errors.As(err, &se))
	assert.Equal(t, uint64(7), se.Index)
}

type detailed struct{}

func (detailed) Error() string  { return "deimos: put /a on http://n1: connection refused" }
func (detailed) Detail() string { return "connection refused" }

func TestClusterError_NamesTheRequestOnceAndEachEndpoint(t *testing.T) {
	err := error(&apierror.ClusterError{Op: "set", Key: "/a", Cause: context.DeadlineExceeded, Endpoints: []apierror.EndpointError{
		{Endpoint: "http://n1", Err: detailed{}},
		{Endpoint: "http://n2", Err: errors.New("i/o timeout")},
	}})
	assert.ErrorIs(t, err, apierror.ErrClusterUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	msg := err.Error()
	assert.Equal(t, "deimos: set /a: no endpoint could serve the request: context deadline exceeded; last errors: http://n1: connection refused; http://n2: i/o timeout", msg)
	assert.Equal(t, 1, strings.Count(msg, "/a"), "the key is named once")
}

func TestUnknownOutcomeError_UnwrapsToItsCause(t *testing.T) {
	cause := errors.New("connection reset")
	err := error(&apierror.UnknownOutcomeError{Op: "set", Key: "/a", Endpoint: "http://n1", Err: cause})
	assert.ErrorIs(t, err, apierror.ErrUnknownOutcome)
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, apierror.ErrClusterUnavailable)
	assert.Equal(t, "deimos: set /a on http://n1: outcome unknown, the write may have been applied: connection reset", err.Error())
}

func TestMessages_QuoteAtMostAFewHundredBytes(t *testing.T) {
	huge := strings.Repeat("k", 1<<20)
	err := &apierror.Error{Code: 101, Message: "Compare failed", Cause: huge, Key: "/" + huge}
	assert.Less(t, len(err.Error()), 600)
}
