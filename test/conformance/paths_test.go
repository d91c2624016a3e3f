package conformance

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// §2 QUIRK: an unclean raw path gets 307 to the cleaned path with the original
// query, and the handler never sees the request (a PUT is not applied).
func TestPaths_UncleanRawPathRedirects307(t *testing.T) {
	t.Parallel()
	forms := []struct{ name, raw string }{
		{"double slash inside", "/a//b"},
		{"double slash first", "//a/b"},
		{"dot segment", "/./a/b"},
		{"dot-dot segment", "/a/../a/b"},
		{"trailing dot", "/a/b/."},
	}
	for _, f := range forms {
		for _, m := range []string{"GET", "PUT", "DELETE", "POST"} {
			t.Run(f.name+" "+m, func(t *testing.T) {
				base := dir(t)
				c := call{method: m, uri: "/keys" + base + f.raw + "?value=q&ttl="}
				if m == "PUT" || m == "POST" {
					c.body, c.contentType = "value=b", formType
				}
				r := do(t, c)
				require.Equal(t, http.StatusTemporaryRedirect, r.status, "body %q", r.body)
				require.Equal(t, "/keys"+base+"/a/b?value=q&ttl=", r.header.Get("Location"))
				require.False(t, r.hasHeader("X-Deimos-Index"), "the key-space handler never ran")
				absent(t, base+"/a/b")
				absent(t, base+"/a")
			})
		}
	}
	t.Run("double slash right after /keys", func(t *testing.T) {
		base := dir(t)
		r := do(t, call{method: "GET", uri: "/keys/" + base + "?recursive=true"})
		require.Equal(t, http.StatusTemporaryRedirect, r.status)
		require.Equal(t, "/keys"+base+"?recursive=true", r.header.Get("Location"))
	})
}

// §8.1, §8.2: the key is the percent-decoded path after /keys, cleaned like a
// file path; %2F is a separator and encoded dot segments are resolved without
// a redirect.
func TestPaths_KeyIsDecodedThenCleaned(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, raw, key string }{
		{"%2F is a separator", "/a%2Fb", "/a/b"},
		{"lowercase %2f too", "/c%2fd", "/c/d"},
		{"encoded dot-dot is resolved", "/x/%2e%2e/y", "/y"},
		{"uppercase encoded dot-dot", "/x/%2E%2E/z", "/z"},
		{"encoded dot is resolved", "/%2e/w", "/w"},
		{"trailing slash is dropped", "/t/", "/t"},
		{"space", "/with%20space", "/with space"},
		{"percent", "/p%25ct", "/p%ct"},
		{"question mark", "/q%3Fm", "/q?m"},
		{"hash", "/h%23sh", "/h#sh"},
		{"unicode", "/%E2%9C%93uni", "/✓uni"},
		{"plus is literal", "/a+b", "/a+b"},
		{"%2B is plus", "/c%2Bd", "/c+d"},
		{"%3B is a semicolon", "/s%3Bc", "/s;c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := dir(t)
			r := put(t, "/keys"+base+tc.raw, "value=v")
			i := r.written(t)
			r.exactly(t, http.StatusCreated, result{Action: "set", Node: file(base+tc.key, "v", i, i)})
			// Read it back through the canonical escaping of each segment.
			get(t, keys(escapeKey(base+tc.key))).exactly(t, http.StatusOK, result{Action: "get", Node: file(base+tc.key, "v", i, i)})
		})
	}
	t.Run("plus and %2B name the same key", func(t *testing.T) {
		base := dir(t)
		i := mustSet(t, base+"/a+b", "v")
		get(t, keys(base+"/a%2Bb")).exactly(t, http.StatusOK, result{Action: "get", Node: file(base+"/a+b", "v", i, i)})
	})
}

// escapeKey percent-encodes every segment of a key the way an SDK should.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = pathEscape(s)
	}
	return strings.Join(segs, "/")
}

// pathEscape escapes everything but unreserved characters, so the result never
// contains '/', '?', '#', '%' or ';' unescaped.
func pathEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// §8.4, §1: long keys work; a request line and headers above about 1 MiB get
// 431 with a plain-text body and Connection: close.
func TestPaths_KeyLength(t *testing.T) {
	t.Parallel()
	t.Run("100 kB key works", func(t *testing.T) {
		k := dir(t) + "/" + strings.Repeat("k", 100_000)
		i := mustSet(t, k, "v")
		get(t, keys(k)).exactly(t, http.StatusOK, result{Action: "get", Node: file(k, "v", i, i)})
		del(t, keys(k)).ok(t, http.StatusOK)
	})
	t.Run("1.1 MB request line is 431", func(t *testing.T) {
		k := dir(t) + "/" + strings.Repeat("k", 1_100_000)
		r := get(t, keys(k))
		require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, r.status)
		require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/plain"), r.header.Get("Content-Type"))
		require.Equal(t, "431 Request Header Fields Too Large", string(r.body))
		require.True(t, r.close, "Connection: close")
	})
}

// §1: the form body may be 10 MiB; one byte more is 210 "http: POST too large".
// Whether Connection: close comes with it depends on the Go version the server
// was built with, so it is not asserted either way.
func TestPaths_FormBodyLimitIs10MiB(t *testing.T) {
	t.Parallel()
	const limit = 10 << 20
	pad := func(n int) string { // "value=x&pad=ppp..." of exactly n bytes
		head := "value=x&pad="
		return head + strings.Repeat("p", n-len(head))
	}
	t.Run("exactly 10 MiB is accepted", func(t *testing.T) {
		k := dir(t)
		r := put(t, keys(k), pad(limit))
		i := r.written(t)
		r.exactly(t, http.StatusCreated, result{Action: "set", Node: file(k, "x", i, i)})
	})
	t.Run("one byte more is 210", func(t *testing.T) {
		k := dir(t)
		r := put(t, keys(k), pad(limit+1))
		r.validationError(t, 210, msgForm, "http: POST too large")
		absent(t, k)
	})
}
