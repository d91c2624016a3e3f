package conformance

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// §13.5: /machines lists every registered member's client URL as plain text,
// sorted, joined by ", ", without a trailing newline.
func TestMachines_ListsClientURLs(t *testing.T) {
	t.Parallel()
	for _, ep := range tgt.endpoints {
		t.Run(ep, func(t *testing.T) {
			r := do(t, call{method: "GET", uri: "/machines", endpoint: ep})
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, textPlainType, r.header.Get("Content-Type"))
			body := string(r.body)
			require.NotEmpty(t, body)
			require.False(t, strings.HasSuffix(body, "\n"), "no trailing newline")
			urls := strings.Split(body, ", ")
			require.True(t, sort.StringsAreSorted(urls), "sorted as strings: %q", body)
			for _, u := range urls {
				p, err := url.Parse(u)
				require.NoError(t, err)
				require.NotEmpty(t, p.Host, "%q is a URL", u)
			}
			if tgt.real {
				require.Contains(t, urls, ep, "every member serving the suite is listed")
			} else {
				want := append([]string(nil), tgt.endpoints...)
				sort.Strings(want)
				require.Equal(t, strings.Join(want, ", "), body)
			}
		})
	}
}

// §2: HEAD /machines is 200 text/plain without a body; other methods are 405
// with Allow: GET,HEAD; /machines/ is the 404 page.
func TestMachines_Methods(t *testing.T) {
	t.Parallel()
	t.Run("HEAD", func(t *testing.T) {
		r := do(t, call{method: "HEAD", uri: "/machines"})
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, textPlainType, r.header.Get("Content-Type"))
		require.Empty(t, r.body)
	})
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		t.Run(m, func(t *testing.T) {
			r := do(t, call{method: m, uri: "/machines"})
			require.Equal(t, http.StatusMethodNotAllowed, r.status)
			require.Equal(t, "GET,HEAD", r.header.Get("Allow"))
			require.Equal(t, "Method Not Allowed\n", string(r.body))
		})
	}
	t.Run("trailing slash is 404", func(t *testing.T) {
		r := get(t, "/machines/")
		require.Equal(t, http.StatusNotFound, r.status)
		require.Equal(t, "404 page not found\n", string(r.body))
	})
}
