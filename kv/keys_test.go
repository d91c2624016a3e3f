package kv_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/kv"
)

func TestCleanKey_Normalises(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/a", "/a"},
		{"a", "/a"},
		{"a/b", "/a/b"},
		{"/a/b/", "/a/b"},
		{"//a///b//", "/a/b"},
		{"/", "/"},
		{"///", "/"},
		{"/a.b/..c/c..", "/a.b/..c/c.."},
		{"/with space", "/with space"},
		{"/✓uni", "/✓uni"},
		{"/q?x=1#frag", "/q?x=1#frag"},
		{"/a%2Fb", "/a%2Fb"},
		{"/_hidden/x", "/_hidden/x"},
	}
	for _, c := range cases {
		got, err := kv.CleanKey(c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got, c.in)
	}
}

func TestCleanKey_RejectsBadKeys(t *testing.T) {
	for _, in := range []string{
		"",
		".",
		"..",
		"/a/./b",
		"/a/../b",
		"/a/..",
		"/a\x00b",
		"/a\nb",
		"/tab\there",
		"/del\x7f",
		"/c1\u0085",
		"/bad\xffutf8",
		"/" + strings.Repeat("k", kv.MaxKeyLength),
	} {
		_, err := kv.CleanKey(in)
		require.Error(t, err, "%q", in)
		assert.ErrorIs(t, err, kv.ErrInvalidKey, "%q", in)
	}
}

func TestCleanKey_ErrorNamesTheKey(t *testing.T) {
	_, err := kv.CleanKey("/a/../b")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"/a/../b"`)
	assert.Contains(t, err.Error(), `".."`)
}

func TestKeyPath_EscapesEachSegment(t *testing.T) {
	cases := []struct{ key, want string }{
		{"/", "/keys"},
		{"/a/b", "/keys/a/b"},
		{"/with space", "/keys/with%20space"},
		{"/a%2Fb", "/keys/a%252Fb"},
		{"/q?x=1#f", "/keys/q%3Fx=1%23f"},
		{"/semi;colon", "/keys/semi%3Bcolon"},
		{"/plus+sign", "/keys/plus+sign"},
		{"/✓", "/keys/%E2%9C%93"},
		{"/a.b/c", "/keys/a.b/c"},
	}
	for _, c := range cases {
		clean, err := kv.CleanKey(c.key)
		require.NoError(t, err)
		assert.Equal(t, c.want, kv.KeyPath(clean), c.key)
	}
}

func TestIsReserved(t *testing.T) {
	assert.True(t, kv.IsReserved("/_deimos"))
	assert.True(t, kv.IsReserved("/_deimos/machines/1"))
	assert.False(t, kv.IsReserved("/_deimosx"))
	assert.False(t, kv.IsReserved("/a/_deimos"))
}

func TestReservedKey_MatchesBothSentinels(t *testing.T) {
	d := &recorder{}
	_, err := kv.New(d).Set(t.Context(), "/_deimos/machines/x", "v")
	require.Error(t, err)
	assert.True(t, errors.Is(err, kv.ErrInvalidKey))
	assert.True(t, errors.Is(err, kv.ErrReservedKey))
	assert.Zero(t, d.count())
}

func FuzzCleanKey(f *testing.F) {
	for _, s := range []string{"/a", "a//b/", "/a/../b", "/%2e%2e", "/x?y#z", "/\x00", "/✓"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		clean, err := kv.CleanKey(in)
		if err != nil {
			if !errors.Is(err, kv.ErrInvalidKey) {
				t.Fatalf("error %v does not match ErrInvalidKey", err)
			}
			return
		}
		again, err := kv.CleanKey(clean)
		if err != nil || again != clean {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, clean, again, err)
		}
		path := kv.KeyPath(clean)
		if strings.ContainsAny(path, "?#") || strings.Contains(path, "//") || strings.Contains(path, "/./") || strings.HasSuffix(path, "/.") || strings.Contains(path, "/../") || strings.HasSuffix(path, "/..") {
			t.Fatalf("unsafe path %q for %q", path, in)
		}
		if got := strings.Count(path, "/") - 1; clean != "/" && got != strings.Count(clean, "/") {
			t.Fatalf("segment count changed: %q -> %q", clean, path)
		}
	})
}

func TestNode_StringIsReadable(t *testing.T) {
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n := &kv.Node{Key: "/d", Dir: true, ModifiedIndex: 3, CreatedIndex: 2, Nodes: []*kv.Node{
		{Key: "/d/a", Value: "x\n", TTL: 5, Expiration: &exp, ModifiedIndex: 3, CreatedIndex: 3},
	}}
	assert.Equal(t, `{Key:/d Dir:true ModifiedIndex:3 CreatedIndex:2 Nodes:[{Key:/d/a Value:"x\n" TTL:5 Expiration:2026-01-02T03:04:05Z ModifiedIndex:3 CreatedIndex:3}]}`, n.String())
	resp := &kv.Response{Action: "get", Node: n}
	assert.Contains(t, fmt.Sprintf("%+v", resp), "Key:/d/a", "nested nodes print through String")
	var nilNode *kv.Node
	assert.Equal(t, "<nil>", nilNode.String())
}
