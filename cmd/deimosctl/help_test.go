package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The contract scripts rely on is in the help: exit codes and JSON names.
func TestHelp_DocumentsExitCodesAndJSON(t *testing.T) {
	r := ctl(t, nil, "--help")
	requireCode(t, exitOK, r)
	for _, want := range []string{
		"Exit codes:", "3  key not found", "5  unknown outcome", "6  cluster unavailable",
		`"modifiedIndex"`, `"prevNode"`, "DEIMOS_ENDPOINTS",
	} {
		assert.Contains(t, r.stdout, want)
	}
	rm := ctl(t, nil, "rm", "--help")
	assert.Contains(t, rm.stdout, "WARNING: a real Deimos node crashes when a directory is deleted")
	health := ctl(t, nil, "endpoint", "health", "--help")
	assert.Contains(t, health.stdout, "0 only if a majority")
	lock := ctl(t, nil, "lock", "--help")
	assert.Contains(t, lock.stdout, envLockToken)
}

func TestEndpoints_FlagOverridesEnvironment(t *testing.T) {
	c := newCluster(t)
	requireCode(t, exitOK, ctl(t, c.Endpoints(), "set", "/e", "v"))
	r := ctl(t, []string{"http://127.0.0.1:1"}, "--endpoints", c.Node(0).URL(), "get", "/e")
	requireCode(t, exitOK, r)

	def := ctl(t, nil, "--help")
	assert.Contains(t, def.stdout, `(default "http://127.0.0.1:4001")`, "without DEIMOS_ENDPOINTS")
	env := ctl(t, []string{"http://10.0.0.1:4001"}, "--help")
	assert.Contains(t, env.stdout, `(default "http://10.0.0.1:4001")`)
}
