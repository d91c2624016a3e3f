package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// docs/protocol.md §4, §5: set, get and delete of a file, byte for byte.
func TestKeys_SetGetDeleteLifecycle(t *testing.T) {
	t.Parallel()
	k := dir(t) + "/foo"

	r := put(t, keys(k), form("value", "bar"))
	i := r.written(t)
	r.exactly(t, http.StatusCreated, result{Action: "set", Node: file(k, "bar", i, i)})

	r = put(t, keys(k), form("value", "baz"))
	j := r.written(t)
	require.Greater(t, j, i)
	r.exactly(t, http.StatusOK, result{Action: "set", Node: file(k, "baz", j, j), PrevNode: file(k, "bar", i, i)})

	r = get(t, keys(k))
	r.exactly(t, http.StatusOK, result{Action: "get", Node: file(k, "baz", j, j)})
	require.GreaterOrEqual(t, r.index(t), j, "a GET reports the current store index")

	r = del(t, keys(k))
	d := r.written(t)
	require.Greater(t, d, j)
	r.exactly(t, http.StatusOK, result{Action: "delete", Node: bare(k, d, j), PrevNode: file(k, "baz", j, j)})

	r = get(t, keys(k))
	r.storeError(t, http.StatusNotFound, 100, "Key not found", k)
}

// §5.1: "value" is present even when it is empty; a missing value means "".
func TestKeys_EmptyValueIsKept(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{"empty value": "value=", "no value": "", "other field only": "x=1"} {
		t.Run(name, func(t *testing.T) {
			k := dir(t)
			r := put(t, keys(k), body)
			i := r.written(t)
			r.exactly(t, http.StatusCreated, result{Action: "set", Node: file(k, "", i, i)})
			mustGet(t, k)
			require.Contains(t, string(get(t, keys(k)).body), `"value":""`)
		})
	}
}

// §4: PUT ?prevExists=true updates an existing key, keeping createdIndex.
func TestKeys_UpdateWithPrevExistsTrue(t *testing.T) {
	t.Parallel()
	k := dir(t) + "/pe"
	i := mustSet(t, k, "2")
	r := put(t, keys(k, "prevExists=true"), form("value", "4"))
	j := r.written(t)
	r.exactly(t, http.StatusOK, result{Action: "update", Node: file(k, "4", j, i), PrevNode: file(k, "2", i, i)})

	r = put(t, keys(k+"-missing", "prevExists=true"), form("value", "4"))
	r.storeError(t, http.StatusNotFound, 100, "Key not found", k+"-missing")
}

// §4, §11.2: an update without a value replaces the value with "".
func TestKeys_UpdateWithoutValueSetsEmptyString(t *testing.T) {
	t.Parallel()
	k := dir(t)
	i := mustSet(t, k, "old")
	r := put(t, keys(k, "prevExists=true"), "")
	j := r.written(t)
	r.exactly(t, http.StatusOK, result{Action: "update", Node: file(k, "", j, i), PrevNode: file(k, "old", i, i)})
}

// §4: PUT ?prevExists=false creates only if absent, for files and directories alike.
func TestKeys_CreateWithPrevExistsFalse(t *testing.T) {
	t.Parallel()
	k := dir(t) + "/c1"
	r := put(t, keys(k, "prevExists=false"), form("value", "new"))
	i := r.written(t)
	r.exactly(t, http.StatusCreated, result{Action: "create", Node: file(k, "new", i, i)})

	r = put(t, keys(k, "prevExists=false"), form("value", "again"))
	r.storeError(t, http.StatusPreconditionFailed, 105, "Key already exists", k)
	mustGet(t, k) // unchanged
	require.Equal(t, "new", *mustGet(t, k).Node.Value)

	d := dir(t) + "/d"
	mustMkdir(t, d)
	r = put(t, keys(d, "prevExists=false"), form("value", "x"))
	r.storeError(t, http.StatusPreconditionFailed, 105, "Key already exists", d)
}

// §3 QUIRK: the etcd spelling prevExist is silently ignored, giving a plain set.
func TestKeys_PrevExistWithoutSIsIgnored(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		exists   bool
		query    string
		status   int
		withPrev bool
	}{
		{"prevExist=false overwrites an existing key", true, "prevExist=false", http.StatusOK, true},
		{"prevExist=true creates a missing key", false, "prevExist=true", http.StatusCreated, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := dir(t)
			var old uint64
			if tc.exists {
				old = mustSet(t, k, "old")
			}
			r := put(t, keys(k, tc.query), form("value", "new"))
			i := r.written(t)
			want := result{Action: "set", Node: file(k, "new", i, i)}
			if tc.withPrev {
				want.PrevNode = file(k, "old", old, old)
			}
			r.exactly(t, tc.status, want)
		})
	}
}

// §4, §14 #4: prevExists wins over prevValue and prevIndex.
func TestKeys_PrevExistsOverridesPrevValueAndPrevIndex(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		exists bool
		query  string
		status int
		action string
	}{
		{"prevExists=true ignores a wrong prevValue", true, "prevExists=true&prevValue=wrong", http.StatusOK, "update"},
		{"prevExists=true ignores a wrong prevIndex", true, "prevExists=true&prevIndex=1", http.StatusOK, "update"},
		{"prevExists=false ignores prevValue on a missing key", false, "prevExists=false&prevValue=x", http.StatusCreated, "create"},
		{"prevExists=false ignores prevIndex on a missing key", false, "prevExists=false&prevIndex=5", http.StatusCreated, "create"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := dir(t)
			if tc.exists {
				mustSet(t, k, "old")
			}
			res := put(t, keys(k, tc.query), form("value", "new")).ok(t, tc.status)
			require.Equal(t, tc.action, res.Action)
			require.Equal(t, "new", *res.Node.Value)
		})
	}
	t.Run("prevExists=false on an existing key is 105, not 101", func(t *testing.T) {
		k := dir(t)
		mustSet(t, k, "old")
		put(t, keys(k, "prevExists=false&prevIndex=1"), form("value", "new")).
			storeError(t, http.StatusPreconditionFailed, 105, "Key already exists", k)
	})
}

// §4: compare-and-swap, its three 101 cause forms, and what it ignores.
func TestKeys_CompareAndSwap(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		query func(mi uint64) string
		cause func(mi uint64) string // "" means success
	}{
		{"prevValue matches", func(uint64) string { return "prevValue=cur" }, nil},
		{"prevIndex matches", func(mi uint64) string { return fmt.Sprintf("prevIndex=%d", mi) }, nil},
		{"both match", func(mi uint64) string { return fmt.Sprintf("prevValue=cur&prevIndex=%d", mi) }, nil},
		{"prevIndex=0 means not given", func(uint64) string { return "prevValue=cur&prevIndex=0" }, nil},
		{"dir is ignored", func(uint64) string { return "prevValue=cur&dir=true" }, nil},
		{"prevValue differs", func(uint64) string { return "prevValue=no" },
			func(uint64) string { return "[no != cur]" }},
		{"prevIndex differs", func(mi uint64) string { return fmt.Sprintf("prevIndex=%d", mi+1000) },
			func(mi uint64) string { return fmt.Sprintf("[%d != %d]", mi+1000, mi) }},
		{"both differ", func(mi uint64) string { return fmt.Sprintf("prevValue=no&prevIndex=%d", mi+1000) },
			func(mi uint64) string { return fmt.Sprintf("[no != cur] [%d != %d]", mi+1000, mi) }},
		{"prevValue matches but prevIndex differs", func(mi uint64) string { return fmt.Sprintf("prevValue=cur&prevIndex=%d", mi+1000) },
			func(mi uint64) string { return fmt.Sprintf("[%d != %d]", mi+1000, mi) }},
		{"prevIndex matches but prevValue differs", func(mi uint64) string { return fmt.Sprintf("prevValue=no&prevIndex=%d", mi) },
			func(uint64) string { return "[no != cur]" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := dir(t)
			mi := mustSet(t, k, "cur")
			r := put(t, keys(k, tc.query(mi)), form("value", "new"))
			if tc.cause != nil {
				r.storeError(t, http.StatusPreconditionFailed, 101, "Compare failed", tc.cause(mi))
				require.Equal(t, "cur", *mustGet(t, k).Node.Value, "a failed CAS changes nothing")
				return
			}
			j := r.written(t)
			r.exactly(t, http.StatusOK, result{Action: "compareAndSwap", Node: file(k, "new", j, mi), PrevNode: file(k, "cur", mi, mi)})
		})
	}
	t.Run("prevIndex=0 alone is a plain set", func(t *testing.T) {
		k := dir(t)
		mustSet(t, k, "cur")
		require.Equal(t, "set", put(t, keys(k, "prevIndex=0"), form("value", "new")).ok(t, http.StatusOK).Action)
	})
	t.Run("missing key is 100, not 101", func(t *testing.T) {
		k := dir(t) + "/missing"
		put(t, keys(k, "prevValue=cur"), form("value", "new")).storeError(t, http.StatusNotFound, 100, "Key not found", dir(t))
	})
	t.Run("directory is 102", func(t *testing.T) {
		k := dir(t)
		mustMkdir(t, k)
		put(t, keys(k, "prevValue=cur"), form("value", "new")).storeError(t, http.StatusForbidden, 102, "Not a file", k)
	})
}

// §4: compare-and-delete; its node has no value.
func TestKeys_CompareAndDelete(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		query func(mi uint64) string
		cause func(mi uint64) string
	}{
		{"prevValue matches", func(uint64) string { return "prevValue=cur" }, nil},
		{"prevIndex matches", func(mi uint64) string { return fmt.Sprintf("prevIndex=%d", mi) }, nil},
		{"dir and recursive are ignored", func(uint64) string { return "prevValue=cur&dir=true&recursive=true" }, nil},
		{"prevValue differs", func(uint64) string { return "prevValue=no" },
			func(uint64) string { return "[no != cur]" }},
		{"prevIndex differs", func(mi uint64) string { return fmt.Sprintf("prevIndex=%d", mi+1000) },
			func(mi uint64) string { return fmt.Sprintf("[%d != %d]", mi+1000, mi) }},
		{"both differ", func(mi uint64) string { return fmt.Sprintf("prevIndex=%d&prevValue=no", mi+1000) },
			func(mi uint64) string { return fmt.Sprintf("[no != cur] [%d != %d]", mi+1000, mi) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := dir(t)
			mi := mustSet(t, k, "cur")
			r := del(t, keys(k, tc.query(mi)))
			if tc.cause != nil {
				r.storeError(t, http.StatusPreconditionFailed, 101, "Compare failed", tc.cause(mi))
				mustGet(t, k)
				return
			}
			j := r.written(t)
			r.exactly(t, http.StatusOK, result{Action: "compareAndDelete", Node: bare(k, j, mi), PrevNode: file(k, "cur", mi, mi)})
			absent(t, k)
		})
	}
	t.Run("missing key is 100", func(t *testing.T) {
		k := dir(t)
		mustMkdir(t, k)
		del(t, keys(k+"/nope", "prevValue=cur")).storeError(t, http.StatusNotFound, 100, "Key not found", k+"/nope")
	})
	t.Run("directory is 102", func(t *testing.T) {
		k := dir(t)
		mustMkdir(t, k)
		del(t, keys(k, "prevIndex=1")).storeError(t, http.StatusForbidden, 102, "Not a file", k)
	})
}

// §1, §4 QUIRK: a DELETE body is ignored, so CAD parameters in it give an
// unconditional delete, and invalid values in it are not even validated.
func TestKeys_DeleteBodyIsIgnored(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"prevValue in the body": "prevValue=wrong",
		"prevIndex in the body": "prevIndex=1",
		"invalid dir":           "dir=maybe",
	} {
		t.Run(name, func(t *testing.T) {
			k := dir(t)
			mustSet(t, k, "cur")
			res := do(t, call{method: "DELETE", uri: keys(k), body: body, contentType: formType}).ok(t, http.StatusOK)
			require.Equal(t, "delete", res.Action)
			absent(t, k)
		})
	}
}

// §1: a GET body is ignored, even when its parameters would be invalid.
func TestKeys_GetBodyIsIgnored(t *testing.T) {
	t.Parallel()
	k := dir(t)
	i := mustSet(t, k, "v")
	r := do(t, call{method: "GET", uri: keys(k), body: "prevValue=&wait=maybe&waitIndex=x", contentType: formType})
	r.exactly(t, http.StatusOK, result{Action: "get", Node: file(k, "v", i, i)})
}

// §1: body values come before query values, and only the first value of a name counts.
func TestKeys_BodyParametersComeBeforeQuery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, query, body, want string
	}{
		{"body beats query", "value=q", "value=b", "b"},
		{"first query value wins", "value=1&value=2", "", "1"},
		{"first body value wins", "", "value=1&value=2", "1"},
		{"query used when the body lacks the name", "value=q", "other=b", "q"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := dir(t)
			res := put(t, keys(k, tc.query), tc.body).ok(t, http.StatusCreated)
			require.Equal(t, tc.want, *res.Node.Value)
		})
	}
	t.Run("body prevExists beats query prevExists", func(t *testing.T) {
		k := dir(t)
		mustSet(t, k, "old")
		res := put(t, keys(k, "prevExists=false"), "prevExists=true&value=new").ok(t, http.StatusOK)
		require.Equal(t, "update", res.Action)
	})
}

// §1 QUIRK: a body without the form content type is ignored, storing "".
func TestKeys_NonFormBodyIsIgnored(t *testing.T) {
	t.Parallel()
	cases := []struct {
		contentType string
		want        string
	}{
		{"", ""},
		{"application/json", ""},
		{"text/plain", ""},
		{"multipart/form-data; boundary=xyz", ""},
		{"application/x-www-form-urlencoded; charset=utf-8", "b"},
		{"application/x-www-form-urlencoded", "b"},
	}
	for _, tc := range cases {
		name := tc.contentType
		if name == "" {
			name = "no content type"
		}
		t.Run(name, func(t *testing.T) {
			k := dir(t)
			r := do(t, call{method: "PUT", uri: keys(k), body: "value=b", contentType: tc.contentType})
			i := r.written(t)
			r.exactly(t, http.StatusCreated, result{Action: "set", Node: file(k, tc.want, i, i)})
		})
	}
}

// §3: parameter names are case-sensitive; unknown names are ignored.
func TestKeys_ParameterNamesAreCaseSensitive(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, query, body string
		exists            bool
		status            int
		action, value     string
	}{
		{"Value is not value", "", "Value=x", false, http.StatusCreated, "set", ""},
		{"PrevValue is not prevValue", "PrevValue=nope", "value=n", true, http.StatusOK, "set", "n"},
		{"PrevExists is not prevExists", "PrevExists=false", "value=n", true, http.StatusOK, "set", "n"},
		{"quorum is unknown", "quorum=true", "value=n", false, http.StatusCreated, "set", "n"},
		{"refresh is unknown", "refresh=true", "value=n", true, http.StatusOK, "set", "n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := dir(t)
			if tc.exists {
				mustSet(t, k, "old")
			}
			res := put(t, keys(k, tc.query), tc.body).ok(t, tc.status)
			require.Equal(t, tc.action, res.Action)
			require.Equal(t, tc.value, *res.Node.Value)
		})
	}
}

// §1: Go's JSON encoding escapes <, > and &; invalid UTF-8 comes back as U+FFFD
// (§8.2), yet a CAS with the original bytes still matches.
func TestKeys_JSONEncodingOfValues(t *testing.T) {
	t.Parallel()
	t.Run("HTML characters are escaped", func(t *testing.T) {
		k := dir(t)
		r := put(t, keys(k), form("value", "<a&b>"))
		r.ok(t, http.StatusCreated)
		require.Contains(t, string(r.body), `"value":"\u003ca\u0026b\u003e"`)
		require.Equal(t, "<a&b>", *mustGet(t, k).Node.Value)
	})
	t.Run("invalid UTF-8 becomes U+FFFD and CAS with raw bytes matches", func(t *testing.T) {
		k := dir(t)
		r := put(t, keys(k), "value=%FFok")
		i := r.written(t)
		// Go's encoder writes the escape, so the canonical re-encoding (which
		// would write the raw U+FFFD) does not apply here.
		require.Equal(t, http.StatusCreated, r.status)
		require.Equal(t, line(t, result{Action: "set", Node: file(k, "\xffok", i, i)}), string(r.body))
		r = put(t, keys(k, "prevValue=%FFok"), "value=next")
		j := r.written(t)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, line(t, result{Action: "compareAndSwap", Node: file(k, "next", j, i), PrevNode: file(k, "\xffok", i, i)}), string(r.body))
	})
	t.Run("unicode and newlines round-trip", func(t *testing.T) {
		k := dir(t)
		v := "✓ line1\nline2\t\"quoted\""
		put(t, keys(k), form("value", v)).ok(t, http.StatusCreated)
		require.Equal(t, v, *mustGet(t, k).Node.Value)
	})
}

// §8.4: values of a few MiB replicate and read back whole.
func TestKeys_LargeValueRoundTrips(t *testing.T) {
	t.Parallel()
	k := dir(t)
	v := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	put(t, keys(k), form("value", v)).ok(t, http.StatusCreated)
	require.Equal(t, v, *mustGet(t, k).Node.Value)
}

// §1: "Expect: 100-continue" is answered with 100 Continue and the request is
// then handled normally.
func TestKeys_ExpectContinueIsHonoured(t *testing.T) {
	t.Parallel()
	k := dir(t)
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	got100 := false
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{Got100Continue: func() { got100 = true }})
	req := newRequest(ctx, t, call{method: "PUT", uri: keys(k), body: "value=v", contentType: formType})
	req.Header.Set("Expect", "100-continue")
	tr := transport.Clone()
	tr.ExpectContinueTimeout = 5 * time.Second
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.True(t, got100, "the server sent 100 Continue")
	require.Equal(t, "v", *mustGet(t, k).Node.Value)
}
