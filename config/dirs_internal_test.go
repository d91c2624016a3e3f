package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFollowDir_IsTheTopLevelDirectoryOrTheDeepestHiddenSegment(t *testing.T) {
	tests := []struct{ key, want string }{
		{"/flags", "/flags"},           // a top-level key is followed by itself
		{"/config/app", "/config"},     // never the key inside a deletable directory
		{"/config/a/b/c", "/config"},   // nor its parent: /config/a could be deleted
		{"/_private/app", "/_private"}, // a hidden top level can be watched directly
		{"/config/_app/db", "/config/_app"},
		{"/config/_a/x/_b/y", "/config/_a/x/_b"},
		{"/config/_secret", "/config/_secret"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, followDir(tt.key), tt.key)
	}
}

func TestKeyDirs_GroupsKeysByTheirDirectory(t *testing.T) {
	order, groups, err := keyDirs([]string{"/b/x", "/a/y", "/b/z"}, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"/b", "/a"}, order)
	assert.Equal(t, map[string][]string{"/b": {"/b/x", "/b/z"}, "/a": {"/a/y"}}, groups)

	order, groups, err = keyDirs([]string{"/b/x", "/a/y"}, "/")
	require.NoError(t, err)
	assert.Equal(t, []string{"/"}, order)
	assert.Equal(t, map[string][]string{"/": {"/b/x", "/a/y"}}, groups)

	_, _, err = keyDirs([]string{"/ab/x"}, "/a")
	assert.Error(t, err, "/a does not hold /ab/x")
	_, _, err = keyDirs([]string{"/a/_h"}, "/")
	assert.Error(t, err, "a recursive watch of / does not see /a/_h")
	_, _, err = keyDirs([]string{"/a/_h"}, "/a/_h")
	assert.NoError(t, err)
}
