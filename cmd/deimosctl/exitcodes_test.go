package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// Every exit code, from a real run against a cluster.
func TestExitCodes_EachCodeFromARealRun(t *testing.T) {
	c := newCluster(t)
	eps := c.Endpoints()
	requireCode(t, exitOK, ctl(t, eps, "set", "/k", "v"))
	requireCode(t, exitOK, ctl(t, eps, "mkdir", "/dir"))

	cases := []struct {
		name string
		want int
		args []string
	}{
		{"ok", exitOK, []string{"get", "/k"}},
		{"help", exitOK, []string{"--help"}},
		{"unknown command", exitUsage, []string{"frobnicate"}},
		{"unknown flag", exitUsage, []string{"get", "/k", "--frob"}},
		{"missing argument", exitUsage, []string{"set", "/k"}},
		{"bad output format", exitUsage, []string{"-o", "yaml", "get", "/k"}},
		{"invalid key", exitUsage, []string{"get", "/a/../b"}},
		{"reserved key", exitUsage, []string{"set", "/_deimos/machines/x", "v"}},
		{"invalid TTL", exitUsage, []string{"set", "/k", "v", "--ttl", "0"}},
		{"unparsable TTL", exitUsage, []string{"set", "/k", "v", "--ttl", "soon"}},
		{"invalid option combination", exitUsage, []string{"set", "/k", "v", "--create", "--prev-value", "v"}},
		{"exclusive flags", exitUsage, []string{"set", "/k", "v", "--create", "--update"}},
		{"invalid endpoint", exitUsage, []string{"--endpoints", "ftp://x", "get", "/k"}},
		{"lock without --", exitUsage, []string{"lock", "/l", "true"}},
		{"lock TTL too short", exitUsage, []string{"lock", "/l", "--ttl", "0", "--", "true"}},
		{"election at the root", exitUsage, []string{"elect", "/", "v", "--", "true"}},
		{"election TTL too short", exitUsage, []string{"elect", "/e", "v", "--ttl", "100ms", "--", "true"}},
		{"key not found", exitNotFound, []string{"get", "/missing"}},
		{"update of a missing key", exitNotFound, []string{"set", "/missing", "v", "--update"}},
		{"compare failed", exitConflict, []string{"set", "/k", "w", "--prev-value", "other"}},
		{"compare-and-delete failed", exitConflict, []string{"rm", "/k", "--prev-index", "1"}},
		{"create of an existing key", exitConflict, []string{"set", "/k", "w", "--create"}},
		{"mkdir of an existing key", exitConflict, []string{"mkdir", "/dir"}},
		{"other server error", exitError, []string{"rm", "/dir"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ctl(t, eps, tc.args...)
			requireCode(t, tc.want, r)
			if tc.want != exitOK {
				assert.Regexp(t, `^deimosctl: \S`, r.stderr, "errors go to stderr, prefixed")
				assert.Empty(t, r.stdout)
			}
		})
	}
	v, err := sdk(t, c).Get(testContext(t), "/k")
	require.NoError(t, err)
	assert.Equal(t, "v", v.Node.Value, "no failed command changed the key")
}

// A write whose answer is lost after the server applied it: exit 5, and the
// write did land, which is why the code says "re-read before retrying".
func TestExitCodes_UnknownOutcome(t *testing.T) {
	c := newCluster(t)
	for _, n := range c.Nodes() {
		n.SetHook(deimostest.FailNext("PUT", "/keys/", deimostest.FaultDropResponse, 1))
	}
	r := ctl(t, c.Endpoints(), "set", "/maybe", "v")
	requireCode(t, exitUnknown, r)
	assert.Contains(t, r.stderr, "deimosctl: ")
	got, err := sdk(t, c).Get(testContext(t), "/maybe")
	require.NoError(t, err)
	assert.Equal(t, "v", got.Node.Value)
}

// Every node down: exit 6, once the timeout has passed (bounded loosely, so
// that a retry loop that ignores the timeout fails the test).
func TestExitCodes_ClusterUnavailableWithinTimeout(t *testing.T) {
	c := newCluster(t)
	for _, n := range c.Nodes() {
		n.Stop()
	}
	for _, args := range [][]string{
		{"get", "/k"},
		{"set", "/k", "v"},
		{"--no-sync", "get", "/k"},
		{"watch", "/k"},
		{"lock", "/l", "--", "true"},
	} {
		t.Run(args[0], func(t *testing.T) {
			began := time.Now()
			r := ctl(t, c.Endpoints(), append([]string{"--timeout", "500ms"}, args...)...)
			requireCode(t, exitUnavailable, r)
			assert.Less(t, time.Since(began), 5*time.Second, "exit 6 comes after about --timeout")
			assert.Contains(t, r.stderr, "no endpoint could serve the request")
		})
	}
}

func TestExitCode_MapsErrorsInOrder(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("boom"), exitError},
		{usageError{errors.New("bad")}, exitUsage},
		{fmt.Errorf("x: %w", deimos.ErrInvalidTTL), exitUsage},
		{fmt.Errorf("x: %w", deimos.ErrKeyNotFound), exitNotFound},
		{fmt.Errorf("x: %w", deimos.ErrNodeExist), exitConflict},
		{fmt.Errorf("x: %w", deimos.ErrTestFailed), exitConflict},
		{fmt.Errorf("%w: %w", deimos.ErrUnknownOutcome, errTimeout), exitUnknown},
		{fmt.Errorf("%w: %w", deimos.ErrClusterUnavailable, errTimeout), exitUnavailable},
		{fmt.Errorf("%w: %w", deimos.ErrLockTimeout, errTimeout), exitError},
		{exitStatus{code: 42}, 42},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, exitCode(tc.err), "%v", tc.err)
	}
}

var errTimeout = fmt.Errorf("wrapped: %w", contextDeadline())

func contextDeadline() error { return context.DeadlineExceeded }
