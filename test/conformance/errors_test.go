package conformance

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Error messages of docs/protocol.md §7.2.
const (
	msgTTL       = "The given TTL in POST form is not a number"
	msgIndex     = "The given index in POST form is not a number"
	msgField     = "Invalid field"
	msgForm      = "Invalid POST form"
	msgNotFound  = "Key not found"
	msgNotFile   = "Not a file"
	msgNotDir    = "Not a directory"
	msgExists    = "Key already exists"
	msgRoot      = "Root is read only"
	msgNotEmpty  = "Directory not empty"
	msgOutdated  = "The event in requested index is outdated and cleared"
	causeWaitGET = `"wait" can only be used with GET requests`
	causePVEmpty = `"prevValue" cannot be empty`
)

// validationCase is a request that must fail validation (§3) before touching the store.
type validationCase struct {
	name    string
	method  string
	query   string
	body    string
	code    int
	message string
	cause   string
}

func (vc validationCase) run(t *testing.T) {
	t.Helper()
	k := dir(t)
	c := call{method: vc.method, uri: "/keys" + k, body: vc.body}
	if vc.query != "" {
		c.uri += "?" + vc.query
	}
	if vc.body != "" {
		c.contentType = formType
	}
	do(t, c).validationError(t, vc.code, vc.message, vc.cause)
	absent(t, k) // nothing was written
}

// §3, §7.2: every invalid parameter value, with its code and exact cause.
// Validation errors have index 0 and no trailing line.
func TestErrors_InvalidParameterValues(t *testing.T) {
	t.Parallel()
	var cases []validationCase
	for _, v := range []string{"-1", "%2B5", "1.5", "abc", "%205", "18446744073709551616", "0x10"} {
		cases = append(cases, validationCase{"ttl=" + v, "PUT", "ttl=" + v, "value=x", 202, msgTTL, `invalid value for "ttl"`})
	}
	for _, v := range []string{"abc", "", "-1", "1.0"} {
		cases = append(cases, validationCase{"prevIndex=" + v, "PUT", "prevIndex=" + v, "value=x", 203, msgIndex, `invalid value for "prevIndex"`})
		cases = append(cases, validationCase{"waitIndex=" + v, "GET", "wait=true&waitIndex=" + v, "", 203, msgIndex, `invalid value for "waitIndex"`})
	}
	for _, name := range []string{"recursive", "sorted", "wait", "dir", "stream"} {
		for _, v := range []string{"", "yes", "2", "tRUE", "on"} {
			cases = append(cases, validationCase{name + "=" + v, "GET", name + "=" + v, "", 209, msgField, `invalid value for "` + name + `"`})
		}
	}
	for _, v := range []string{"", "yes", "1.0"} {
		cases = append(cases, validationCase{"prevExists=" + v, "PUT", "prevExists=" + v, "value=x", 209, msgField, "invalid value for prevExists"})
	}
	cases = append(cases,
		validationCase{"empty prevValue on PUT", "PUT", "prevValue=", "value=x", 209, msgField, causePVEmpty},
		validationCase{"empty prevValue on DELETE", "DELETE", "prevValue=", "", 209, msgField, causePVEmpty},
		validationCase{"wait=true on PUT", "PUT", "wait=true", "value=x", 209, msgField, causeWaitGET},
		validationCase{"wait=true on POST", "POST", "wait=true", "value=x", 209, msgField, causeWaitGET},
		validationCase{"wait=true on DELETE", "DELETE", "wait=true", "", 209, msgField, causeWaitGET},
		validationCase{"wait=1 in a PUT body", "PUT", "", "wait=1&value=x", 209, msgField, causeWaitGET},
		validationCase{"bad escape in the query", "PUT", "value=%zz", "", 210, msgForm, `invalid URL escape "%zz"`},
		validationCase{"bad escape in the body", "PUT", "", "value=%zz", 210, msgForm, `invalid URL escape "%zz"`},
		validationCase{"semicolon in the query", "PUT", "value=a;b", "", 210, msgForm, "invalid semicolon separator in query"},
		validationCase{"semicolon in the body", "PUT", "", "value=a;b", 210, msgForm, "invalid semicolon separator in query"},
		// Every parameter is checked on every method.
		validationCase{"ttl on DELETE", "DELETE", "ttl=abc", "", 202, msgTTL, `invalid value for "ttl"`},
		validationCase{"ttl on GET", "GET", "ttl=abc", "", 202, msgTTL, `invalid value for "ttl"`},
		validationCase{"prevValue on GET", "GET", "prevValue=", "", 209, msgField, causePVEmpty},
		validationCase{"prevExists on GET", "GET", "prevExists=maybe", "", 209, msgField, "invalid value for prevExists"},
		validationCase{"prevIndex on POST", "POST", "prevIndex=x", "", 203, msgIndex, `invalid value for "prevIndex"`},
		validationCase{"sorted on DELETE", "DELETE", "sorted=x", "", 209, msgField, `invalid value for "sorted"`},
		validationCase{"waitIndex on PUT", "PUT", "waitIndex=x", "value=x", 203, msgIndex, `invalid value for "waitIndex"`},
		validationCase{"stream on POST", "POST", "stream=x", "", 209, msgField, `invalid value for "stream"`},
	)
	for _, vc := range cases {
		t.Run(vc.name, vc.run)
	}
}

// §3: the bool syntax accepts exactly 1 t T TRUE true True 0 f F FALSE false False.
func TestErrors_BoolSyntaxAcceptsGoSpellings(t *testing.T) {
	t.Parallel()
	k := dir(t)
	i := mustSet(t, k, "v")
	for _, v := range []string{"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"} {
		t.Run(v, func(t *testing.T) {
			get(t, keys(k, "sorted="+v, "recursive="+v, "dir="+v)).
				exactly(t, http.StatusOK, result{Action: "get", Node: file(k, "v", i, i)})
		})
	}
	t.Run("wait=false is accepted on PUT", func(t *testing.T) {
		put(t, keys(k+"-w", "wait=false"), "value=x").ok(t, http.StatusCreated)
	})
	t.Run("empty ttl means no TTL", func(t *testing.T) {
		res := put(t, keys(k+"-t", "ttl="), "value=x").ok(t, http.StatusCreated)
		require.Nil(t, res.Node.Expiration)
	})
}

// §3: when several parameters are invalid, the first check in the documented
// order wins: form → prevIndex → waitIndex → recursive → sorted → wait → dir →
// stream → wait-on-non-GET → empty prevValue → ttl → prevExists.
func TestErrors_ValidationOrder(t *testing.T) {
	t.Parallel()
	all := []string{"prevIndex=x", "waitIndex=x", "recursive=x", "sorted=x", "wait=x", "dir=x", "stream=x",
		"wait=true", "prevValue=", "ttl=x", "prevExists=x"}
	want := []struct {
		code       int
		msg, cause string
	}{
		{203, msgIndex, `invalid value for "prevIndex"`},
		{203, msgIndex, `invalid value for "waitIndex"`},
		{209, msgField, `invalid value for "recursive"`},
		{209, msgField, `invalid value for "sorted"`},
		{209, msgField, `invalid value for "wait"`},
		{209, msgField, `invalid value for "dir"`},
		{209, msgField, `invalid value for "stream"`},
		{209, msgField, causeWaitGET},
		{209, msgField, causePVEmpty},
		{202, msgTTL, `invalid value for "ttl"`},
		{209, msgField, "invalid value for prevExists"},
	}
	// For each position, send that check's failure together with every later
	// one: the earliest must win. wait=x and wait=true cannot coexist (first
	// value wins), so each case keeps only the first wait parameter.
	for i := range all {
		var q []string
		seenWait := false
		for _, p := range all[i:] {
			if strings.HasPrefix(p, "wait=") {
				if seenWait {
					continue
				}
				seenWait = true
			}
			q = append(q, p)
		}
		vc := validationCase{name: "first failing is " + all[i], method: "PUT", query: strings.Join(q, "&"),
			code: want[i].code, message: want[i].msg, cause: want[i].cause}
		t.Run(vc.name, vc.run)
	}
	t.Run("form parsing comes before everything", (validationCase{
		method: "PUT", query: strings.Join(all, "&") + "&value=%zz", code: 210, message: msgForm, cause: `invalid URL escape "%zz"`,
	}).run)
	t.Run("wait=false does not trigger wait-on-non-GET", (validationCase{
		method: "PUT", query: "wait=false&prevValue=", code: 209, message: msgField, cause: causePVEmpty,
	}).run)
}

// §7.1, §7.2: every store error, with its status, exact body, index =
// X-Deimos-Index and the trailing "Internal Server Error" line.
func TestErrors_StoreErrorsCarryTrailingLine(t *testing.T) {
	t.Parallel()
	type setup func(t *testing.T, base string)
	fileAt := func(rel string) setup { return func(t *testing.T, b string) { mustSet(t, b+rel, "v") } }
	dirAt := func(rel string) setup { return func(t *testing.T, b string) { mustMkdir(t, b+rel) } }
	cases := []struct {
		name   string
		setup  []setup
		method string
		rel    string // key relative to the test's base
		query  string
		body   string
		status int
		code   int
		msg    string
		cause  string // relative to base; "/" alone means the root
	}{
		{"GET of a missing key names the first missing component", []setup{dirAt("")}, "GET", "/x/y/z", "", "", 404, 100, msgNotFound, "/x"},
		{"GET of a missing key", []setup{dirAt("")}, "GET", "/x", "", "", 404, 100, msgNotFound, "/x"},
		{"update of a missing key", []setup{dirAt("")}, "PUT", "/x", "prevExists=true", "value=v", 404, 100, msgNotFound, "/x"},
		{"DELETE of a missing key", []setup{dirAt("")}, "DELETE", "/x", "", "", 404, 100, msgNotFound, "/x"},
		{"GET through a file", []setup{fileAt("/a/b")}, "GET", "/a/b/c", "", "", 400, 104, msgNotDir, "/a/b"},
		{"PUT through a file", []setup{fileAt("/a/b")}, "PUT", "/a/b/c", "", "value=v", 400, 104, msgNotDir, "/a/b"},
		{"POST through a file", []setup{fileAt("/a/b")}, "POST", "/a/b/c", "", "value=v", 400, 104, msgNotDir, "/a/b"},
		{"CAS mismatch", []setup{fileAt("/f")}, "PUT", "/f", "prevValue=no", "value=v", 412, 101, msgCompare, "[no != v]"},
		{"set with a value on a directory", []setup{dirAt("/d")}, "PUT", "/d", "", "value=v", 403, 102, msgNotFile, "/d"},
		{"set dir=true on an existing directory", []setup{dirAt("/d")}, "PUT", "/d", "dir=true", "", 403, 102, msgNotFile, "/d"},
		{"update with a value on a directory", []setup{dirAt("/d")}, "PUT", "/d", "prevExists=true", "value=v", 403, 102, msgNotFile, "/d"},
		{"CAD on a directory", []setup{dirAt("/d")}, "DELETE", "/d", "prevValue=v", "", 403, 102, msgNotFile, "/d"},
		{"DELETE of a directory without dir", []setup{dirAt("/d")}, "DELETE", "/d", "", "", 403, 102, msgNotFile, "/d"},
		{"create over an existing file", []setup{fileAt("/f")}, "PUT", "/f", "prevExists=false", "value=v", 412, 105, msgExists, "/f"},
		{"dir=true on a non-empty directory", []setup{fileAt("/d/f")}, "DELETE", "/d", "dir=true", "", 403, 108, msgNotEmpty, "/d"},
		{"hidden children count as content", []setup{fileAt("/d/_hidden")}, "DELETE", "/d", "dir=true", "", 403, 108, msgNotEmpty, "/d"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := dir(t)
			var last uint64
			for _, s := range tc.setup {
				s(t, base)
			}
			last = mustSet(t, base+"-marker", "m") // an index observed before the error
			c := call{method: tc.method, uri: "/keys" + base + tc.rel, body: tc.body}
			if tc.query != "" {
				c.uri += "?" + tc.query
			}
			if tc.body != "" {
				c.contentType = formType
			}
			cause := tc.cause
			if strings.HasPrefix(cause, "/") {
				cause = base + cause
			}
			idx := do(t, c).storeError(t, tc.status, tc.code, tc.msg, cause)
			require.GreaterOrEqual(t, idx, last, "the error reports the current store index")
		})
	}
}

const msgCompare = "Compare failed"

// §8.4: the root is read only; DELETE of the root with compare parameters is 102.
func TestErrors_RootIsReadOnly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, uri, body string
		status, code            int
		msg                     string
	}{
		{"set", "PUT", "/keys/", "value=x", 400, 107, msgRoot},
		{"set without slash", "PUT", "/keys", "value=x", 400, 107, msgRoot},
		{"set dir", "PUT", "/keys/?dir=true", "", 400, 107, msgRoot},
		{"update", "PUT", "/keys/?prevExists=true", "value=x", 400, 107, msgRoot},
		{"create", "PUT", "/keys/?prevExists=false", "value=x", 400, 107, msgRoot},
		{"CAS", "PUT", "/keys/?prevValue=x", "value=x", 400, 107, msgRoot},
		{"encoded dot-dot resolves to the root", "PUT", "/keys/%2E%2E", "value=x", 400, 107, msgRoot},
		{"delete", "DELETE", "/keys/", "", 400, 107, msgRoot},
		{"delete dir", "DELETE", "/keys/?dir=true", "", 400, 107, msgRoot},
		{"delete recursive", "DELETE", "/keys/?recursive=true", "", 400, 107, msgRoot},
		{"CAD by value", "DELETE", "/keys/?prevValue=x", "", 403, 102, msgNotFile},
		{"CAD by index", "DELETE", "/keys/?prevIndex=1", "", 403, 102, msgNotFile},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := call{method: tc.method, uri: tc.uri, body: tc.body}
			if tc.body != "" {
				c.contentType = formType
			}
			do(t, c).storeError(t, tc.status, tc.code, tc.msg, "/")
		})
	}
	t.Run("GET of the root", func(t *testing.T) {
		for _, uri := range []string{"/keys", "/keys/"} {
			res := get(t, uri).ok(t, http.StatusOK)
			require.Equal(t, "get", res.Action)
			require.Equal(t, "/", res.Node.Key)
			require.True(t, res.Node.Dir)
			require.Zero(t, res.Node.ModifiedIndex, "the root is fixed at 0/0")
			require.Zero(t, res.Node.CreatedIndex)
			for _, c := range res.Node.Nodes {
				require.False(t, strings.HasPrefix(c.Key, "/_"), "hidden keys are never listed: %s", c.Key)
			}
		}
	})
}

// §2, §7.3: unknown paths answer the plain-text 404 page without X-Deimos-Index.
func TestErrors_UnknownPathIs404Page(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"/", "/version", "/v2/keys/x", "/keysfoo", "/machines/", "/raft", "/stats", "/leader", "/health", "/v2/machines"} {
		for _, m := range []string{"GET", "PUT"} {
			t.Run(m+" "+p, func(t *testing.T) {
				r := do(t, call{method: m, uri: p})
				require.Equal(t, http.StatusNotFound, r.status)
				require.Equal(t, textPlainType, r.header.Get("Content-Type"))
				require.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
				require.Equal(t, "404 page not found\n", string(r.body))
				require.False(t, r.hasHeader("X-Deimos-Index"))
			})
		}
	}
}

// §2: methods other than GET, PUT, POST and DELETE on /keys are 405 with Allow.
func TestErrors_OtherMethodsOnKeysAre405(t *testing.T) {
	t.Parallel()
	for _, m := range []string{"HEAD", "PATCH", "TRACE", "PROPFIND"} {
		for _, p := range []string{"/keys", "/keys/", "/keys" + tgt.runPrefix + "/x"} {
			t.Run(m+" "+p, func(t *testing.T) {
				r := do(t, call{method: m, uri: p})
				require.Equal(t, http.StatusMethodNotAllowed, r.status)
				require.Equal(t, "GET,PUT,POST,DELETE", r.header.Get("Allow"))
				require.False(t, r.hasHeader("X-Deimos-Index"))
				if m == "HEAD" {
					require.Empty(t, r.body)
				} else {
					require.Equal(t, "Method Not Allowed\n", string(r.body))
				}
			})
		}
	}
}

// §2: OPTIONS answers 200 with an empty body and no Allow on any path, before routing.
func TestErrors_OptionsIsAlways200(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"/keys", "/keys" + tgt.runPrefix + "/x", "/machines", "/nope", "/"} {
		t.Run(p, func(t *testing.T) {
			r := do(t, call{method: "OPTIONS", uri: p})
			require.Equal(t, http.StatusOK, r.status)
			require.Empty(t, r.body)
			require.False(t, r.hasHeader("Allow"))
		})
	}
}
