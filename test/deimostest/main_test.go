package deimostest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// resp is a raw HTTP answer.
type resp struct {
	status int
	header http.Header
	body   string
	length int64 // Content-Length, -1 when chunked
}

// event decodes the first JSON value of the body as an event.
func (r resp) event(t *testing.T) deimostest.Event {
	t.Helper()
	var ev deimostest.Event
	require.NoError(t, json.NewDecoder(strings.NewReader(r.body)).Decode(&ev), r.body)
	return ev
}

// apiErr decodes the first JSON value of the body as an error.
func (r resp) apiErr(t *testing.T) (code int, cause string, index uint64) {
	t.Helper()
	var e struct {
		ErrorCode int    `json:"errorCode"`
		Cause     string `json:"cause"`
		Index     uint64 `json:"index"`
	}
	require.NoError(t, json.NewDecoder(strings.NewReader(r.body)).Decode(&e), r.body)
	return e.ErrorCode, e.Cause, e.Index
}

// client is a raw HTTP client against one cluster.
type client struct {
	t   *testing.T
	hc  *http.Client
	url string
}

func newClient(t *testing.T, c *deimostest.Cluster) *client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, hc: &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		url: c.Endpoints()[0]}
}

func (c *client) at(u string) *client { cp := *c; cp.url = u; return &cp }

// do sends method path?query with an optional form body.
func (c *client) do(method, pathQuery string, form url.Values) resp {
	c.t.Helper()
	r, err := c.try(context.Background(), method, pathQuery, form)
	require.NoError(c.t, err)
	return r
}

func (c *client) try(ctx context.Context, method, pathQuery string, form url.Values) (resp, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+pathQuery, body)
	if err != nil {
		return resp{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(b), length: res.ContentLength}, err
}

func (c *client) put(key, value string) resp {
	c.t.Helper()
	return c.do(http.MethodPut, "/keys"+key, url.Values{"value": {value}})
}

func (c *client) get(pathQuery string) resp {
	c.t.Helper()
	return c.do(http.MethodGet, "/keys"+pathQuery, nil)
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func joinComma(s []string) string { return strings.Join(s, ", ") }

func utoa(u uint64) string { return strconv.FormatUint(u, 10) }
