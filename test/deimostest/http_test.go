package deimostest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestRoutingPages(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	cl := newClient(t, c)
	for _, p := range []string{"/", "/version", "/v2/keys/a", "/keysfoo", "/machines/"} {
		r := cl.do("GET", p, nil)
		assert.Equal(t, 404, r.status, p)
		assert.Equal(t, "404 page not found\n", r.body, p)
		assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	}
	r := cl.do("PATCH", "/keys/a", nil)
	assert.Equal(t, 405, r.status)
	assert.Equal(t, "GET,PUT,POST,DELETE", r.header.Get("Allow"))
	assert.Equal(t, "Method Not Allowed\n", r.body)
	r = cl.do("HEAD", "/keys/a", nil)
	assert.Equal(t, 405, r.status)
	r = cl.do("POST", "/machines", nil)
	assert.Equal(t, 405, r.status)
	assert.Equal(t, "GET,HEAD", r.header.Get("Allow"))
	r = cl.do("HEAD", "/machines", nil)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
	r = cl.do("OPTIONS", "/anything", nil)
	assert.Equal(t, 200, r.status)
	assert.Empty(t, r.body)
	assert.Empty(t, r.header.Get("Allow"))
}

func TestUncleanPathsRedirect(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	cl := newClient(t, c)
	for _, p := range []string{"/keys//a/b", "/keys/a//b", "/keys/./a/b", "/keys/a/../a/b", "/keys/a/b/."} {
		r := cl.do("PUT", p+"?value=v", nil)
		assert.Equal(t, 307, r.status, p)
		assert.Equal(t, "/keys/a/b?value=v", r.header.Get("Location"), p)
	}
	assert.Equal(t, "/keys/a/", cl.do("GET", "/keys//a/", nil).header.Get("Location"))
	assert.Equal(t, 404, cl.do("GET", "/keys/%2e%2e/a/b", nil).status, "encoded dots are cleaned, not redirected")
	r := cl.do("PUT", "/keys/%2E%2E", nil)
	code, _, _ := r.apiErr(t)
	assert.Equal(t, 107, code)
	ev := cl.do("PUT", "/keys/with%20space/+plus/%E2%9C%93", nil).event(t)
	assert.Equal(t, "/with space/+plus/✓", ev.Node.Key)
}

func TestFormBodyRules(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	cl := newClient(t, c)
	big := "value=" + strings.Repeat("x", 10<<20)
	req, err := http.NewRequest("PUT", c.Endpoints()[0]+"/keys/big", strings.NewReader(big))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	res, err := cl.hc.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 400, res.StatusCode)
	assert.True(t, res.Close, "Connection: close")

	req, _ = http.NewRequest("PUT", c.Endpoints()[0]+"/keys/semi", strings.NewReader("value=a;b"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err = cl.hc.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 400, res.StatusCode)

	req, _ = http.NewRequest("PUT", c.Endpoints()[0]+"/keys/json", strings.NewReader(`{"value":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err = cl.hc.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 201, res.StatusCode)
	assert.Equal(t, "", *cl.get("/json").event(t).Node.Value, "a non-form body is ignored")
}
