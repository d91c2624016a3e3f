package main

import (
	"context"
	"errors"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/watch"
)

// Exit codes of deimosctl. They are part of its interface: scripts branch on
// them, so a code never changes meaning. lock and elect exit with their
// command's status once it ran.
const (
	exitOK          = 0 // success
	exitError       = 1 // any other error
	exitUsage       = 2 // bad input: flags, arguments, keys, TTLs, options, configuration
	exitNotFound    = 3 // the key (or an ancestor) does not exist
	exitConflict    = 4 // a compare failed, or a create found the key existing
	exitUnknown     = 5 // a write may or may not have been applied
	exitUnavailable = 6 // no node of the cluster answered in time
)

// exitCodesHelp documents the codes in the root command's help.
const exitCodesHelp = `Exit codes:
  0  success
  1  any other error (also: lock or elect interrupted before the command ran,
     lock acquisition timed out, lock or leadership lost)
  2  bad input: unknown command or flag, wrong arguments, invalid key, TTL,
     option combination or client configuration (nothing was sent)
  3  key not found
  4  compare failed (--prev-value/--prev-index) or the key already exists
     (--create, mkdir)
  5  unknown outcome: a write was sent but its answer was lost; it may or may
     not have been applied, so re-read before retrying
  6  cluster unavailable: no node answered within --timeout
     (endpoint health: fewer than a majority of the nodes are healthy)
lock and elect exit with the status of their command once it ran (128+n
when a signal n ended it).`

// usageError marks bad input that deimosctl itself detected.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode maps an error to the exit code scripts see. The order matters:
// an unknown outcome also wraps the context error that cut the write short,
// and a cluster error wraps the deadline that ended the retries.
func exitCode(err error) int {
	var ue usageError
	var st exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &st):
		return st.code
	case errors.As(err, &ue), isInvalidInput(err):
		return exitUsage
	case errors.Is(err, deimos.ErrKeyNotFound):
		return exitNotFound
	case errors.Is(err, deimos.ErrTestFailed), errors.Is(err, deimos.ErrNodeExist):
		return exitConflict
	case errors.Is(err, deimos.ErrUnknownOutcome):
		return exitUnknown
	case errors.Is(err, deimos.ErrLockTimeout), errors.Is(err, context.Canceled):
		return exitError
	case errors.Is(err, deimos.ErrClusterUnavailable), errors.Is(err, context.DeadlineExceeded):
		return exitUnavailable
	}
	return exitError
}

// isInvalidInput reports the SDK's typed input errors: nothing was sent.
func isInvalidInput(err error) bool {
	for _, target := range []error{
		deimos.ErrInvalidKey, deimos.ErrInvalidTTL, deimos.ErrInvalidOption,
		deimos.ErrInvalidConfig, watch.ErrInvalidOption, concurrency.ErrInvalidOption,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// exitStatus ends deimosctl with a chosen code: a child's status, or a
// verdict such as an unhealthy cluster. An empty msg prints nothing.
type exitStatus struct {
	code int
	msg  string
}

func (e exitStatus) Error() string { return e.msg }
