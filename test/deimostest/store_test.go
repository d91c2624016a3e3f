package deimostest_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestFreshClusterIndexAndRoot(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	cl := newClient(t, c)
	r := cl.get("/")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "6", r.header.Get("X-Deimos-Index"))
	assert.NotEmpty(t, r.header.Get("X-Raft-Index"))
	assert.NotEmpty(t, r.header.Get("X-Raft-Term"))
	assert.EqualValues(t, -1, r.length, "chunked, no Content-Length")
	assert.Equal(t, `{"action":"get","node":{"key":"/","dir":true,"modifiedIndex":0,"createdIndex":0}}`+"\n", r.body)
	assert.EqualValues(t, 6, c.Index())
	// The hidden member records: creates at 1..3, publishes at 4..6.
	h := c.History("/_deimos/machines")
	require.Len(t, h, 6)
	assert.Equal(t, "create", h[0].Action)
	assert.Equal(t, "set", h[5].Action)
	assert.EqualValues(t, 6, h[5].Node.ModifiedIndex)
}

func TestStartIndexOption(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(0))
	cl := newClient(t, c)
	r := cl.put("/a", "1")
	assert.Equal(t, `{"action":"set","node":{"key":"/a","value":"1","modifiedIndex":1,"createdIndex":1}}`+"\n", r.body)
	assert.Empty(t, c.History("/_deimos"))
}

func TestWriteActionsAndStatuses(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	cl := newClient(t, c)
	steps := []struct {
		method, path string
		form         []string
		status       int
		body         string
	}{
		{"PUT", "/keys/foo", []string{"value", "bar"}, 201, `{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":7,"createdIndex":7}}`},
		{"PUT", "/keys/foo", []string{"value", "baz"}, 200, `{"action":"set","node":{"key":"/foo","value":"baz","modifiedIndex":8,"createdIndex":8},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":7,"createdIndex":7}}`},
		{"PUT", "/keys/foo?prevExists=true", []string{"value", "u"}, 200, `{"action":"update","node":{"key":"/foo","value":"u","modifiedIndex":9,"createdIndex":8},"prevNode":{"key":"/foo","value":"baz","modifiedIndex":8,"createdIndex":8}}`},
		{"PUT", "/keys/c1?prevExists=false", []string{"value", "new"}, 201, `{"action":"create","node":{"key":"/c1","value":"new","modifiedIndex":10,"createdIndex":10}}`},
		{"PUT", "/keys/c1?prevExists=false", []string{"value", "x"}, 412, `{"errorCode":105,"message":"Key already exists","cause":"/c1","index":10}`},
		{"PUT", "/keys/foo?prevValue=u", []string{"value", "9"}, 200, `{"action":"compareAndSwap","node":{"key":"/foo","value":"9","modifiedIndex":11,"createdIndex":8},"prevNode":{"key":"/foo","value":"u","modifiedIndex":9,"createdIndex":8}}`},
		{"PUT", "/keys/foo?prevValue=no&prevIndex=3", []string{"value", "9"}, 412, `{"errorCode":101,"message":"Compare failed","cause":"[no != 9] [3 != 11]","index":11}`},
		{"PUT", "/keys/foo?prevIndex=3", []string{"value", "9"}, 412, `{"errorCode":101,"message":"Compare failed","cause":"[3 != 11]","index":11}`},
		{"PUT", "/keys/nope?prevValue=a", []string{"value", "9"}, 404, `{"errorCode":100,"message":"Key not found","cause":"/nope","index":11}`},
		{"PUT", "/keys/nope?prevExists=true", nil, 404, `{"errorCode":100,"message":"Key not found","cause":"/nope","index":11}`},
		{"DELETE", "/keys/c1?prevIndex=10", nil, 200, `{"action":"compareAndDelete","node":{"key":"/c1","modifiedIndex":12,"createdIndex":10},"prevNode":{"key":"/c1","value":"new","modifiedIndex":10,"createdIndex":10}}`},
		{"DELETE", "/keys/foo", nil, 200, `{"action":"delete","node":{"key":"/foo","modifiedIndex":13,"createdIndex":8},"prevNode":{"key":"/foo","value":"9","modifiedIndex":11,"createdIndex":8}}`},
		{"GET", "/keys/foo", nil, 404, `{"errorCode":100,"message":"Key not found","cause":"/foo","index":13}`},
		{"GET", "/keys/x/y", nil, 404, `{"errorCode":100,"message":"Key not found","cause":"/x","index":13}`},
		{"PUT", "/keys/", []string{"value", "r"}, 400, `{"errorCode":107,"message":"Root is read only","cause":"/","index":13}`},
		{"DELETE", "/keys/?recursive=true", nil, 400, `{"errorCode":107,"message":"Root is read only","cause":"/","index":13}`},
		{"DELETE", "/keys/?prevValue=x", nil, 403, `{"errorCode":102,"message":"Not a file","cause":"/","index":13}`},
		{"PUT", "/keys/f", []string{"value", ""}, 201, `{"action":"set","node":{"key":"/f","value":"","modifiedIndex":14,"createdIndex":14}}`},
		{"PUT", "/keys/f/g/h", []string{"value", "v"}, 400, `{"errorCode":104,"message":"Not a directory","cause":"/f","index":14}`},
		{"GET", "/keys/f/g", nil, 400, `{"errorCode":104,"message":"Not a directory","cause":"/f","index":14}`},
		{"POST", "/keys/f", []string{"value", "v"}, 400, `{"errorCode":104,"message":"Not a directory","cause":"/f","index":14}`},
		{"PUT", "/keys/f?dir=true", []string{"value", "ignored"}, 200, `{"action":"set","node":{"key":"/f","dir":true,"modifiedIndex":15,"createdIndex":15},"prevNode":{"key":"/f","value":"","modifiedIndex":14,"createdIndex":14}}`},
		{"PUT", "/keys/f?dir=true", nil, 403, `{"errorCode":102,"message":"Not a file","cause":"/f","index":15}`},
		{"PUT", "/keys/f", []string{"value", "v"}, 403, `{"errorCode":102,"message":"Not a file","cause":"/f","index":15}`},
		{"PUT", "/keys/f?prevExists=true", []string{"value", "v"}, 403, `{"errorCode":102,"message":"Not a file","cause":"/f","index":15}`},
		{"PUT", "/keys/f?prevValue=x", []string{"value", "v"}, 403, `{"errorCode":102,"message":"Not a file","cause":"/f","index":15}`},
		{"POST", "/keys/f", []string{"value", "j"}, 201, `{"action":"create","node":{"key":"/f/16","value":"j","modifiedIndex":16,"createdIndex":16}}`},
		{"DELETE", "/keys/f", nil, 403, `{"errorCode":102,"message":"Not a file","cause":"/f","index":16}`},
		{"DELETE", "/keys/f?dir=true", nil, 403, `{"errorCode":108,"message":"Directory not empty","cause":"/f","index":16}`},
		{"DELETE", "/keys/f?recursive=true", nil, 200, `{"action":"delete","node":{"key":"/f","dir":true,"modifiedIndex":17,"createdIndex":15},"prevNode":{"key":"/f","dir":true,"modifiedIndex":15,"createdIndex":15}}`},
		{"PUT", "/keys/pe?prevExist=false", []string{"value", "1"}, 201, `{"action":"set","node":{"key":"/pe","value":"1","modifiedIndex":18,"createdIndex":18}}`},
		{"PUT", "/keys/pe?prevExist=false", []string{"value", "2"}, 200, `{"action":"set","node":{"key":"/pe","value":"2","modifiedIndex":19,"createdIndex":19},"prevNode":{"key":"/pe","value":"1","modifiedIndex":18,"createdIndex":18}}`},
		{"DELETE", "/keys/pe", []string{"prevValue", "nomatch"}, 200, `{"action":"delete","node":{"key":"/pe","modifiedIndex":20,"createdIndex":19},"prevNode":{"key":"/pe","value":"2","modifiedIndex":19,"createdIndex":19}}`},
		{"POST", "/keys", nil, 201, `{"action":"create","node":{"key":"/21","value":"","modifiedIndex":21,"createdIndex":21}}`},
		{"PUT", "/keys/d?dir=true&prevExists=false", nil, 201, `{"action":"create","node":{"key":"/d","dir":true,"modifiedIndex":22,"createdIndex":22}}`},
		{"PUT", "/keys/d?prevExists=true", nil, 200, `{"action":"update","node":{"key":"/d","dir":true,"modifiedIndex":23,"createdIndex":22},"prevNode":{"key":"/d","dir":true,"modifiedIndex":22,"createdIndex":22}}`},
		{"GET", "/keys/d", nil, 200, `{"action":"get","node":{"key":"/d","dir":true,"modifiedIndex":22,"createdIndex":22}}`},
		{"DELETE", "/keys/d?dir=true", nil, 200, `{"action":"delete","node":{"key":"/d","dir":true,"modifiedIndex":24,"createdIndex":22},"prevNode":{"key":"/d","dir":true,"modifiedIndex":22,"createdIndex":22}}`},
		{"PUT", "/keys/%2e%2e/a%2Fb", []string{"value", "<&>"}, 201, `{"action":"set","node":{"key":"/a/b","value":"\u003c\u0026\u003e","modifiedIndex":25,"createdIndex":25}}`},
		{"PUT", "/keys/q?value=query", []string{"value", "body"}, 201, `{"action":"set","node":{"key":"/q","value":"body","modifiedIndex":26,"createdIndex":26}}`},
	}
	for i, s := range steps {
		var form map[string][]string
		if s.form != nil {
			form = vals(s.form...)
		}
		r := cl.do(s.method, s.path, form)
		require.Equal(t, s.status, r.status, "step %d %s %s: %s", i, s.method, s.path, r.body)
		want := s.body + "\n"
		if r.status >= 400 {
			want += "Internal Server Error\n"
			assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"), "step %d", i)
			assert.Empty(t, r.header.Get("X-Raft-Index"), "step %d", i)
		} else {
			assert.Equal(t, "application/json", r.header.Get("Content-Type"), "step %d", i)
		}
		require.Equal(t, want, r.body, "step %d %s %s", i, s.method, s.path)
		ev := r.event(t)
		if ev.Node != nil && s.method != "GET" {
			assert.Equal(t, strconv.FormatUint(ev.Node.ModifiedIndex, 10), r.header.Get("X-Deimos-Index"), "step %d", i)
		}
	}
}

func TestListingSortedHiddenAndRandom(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithStartIndex(990))
	cl := newClient(t, c)
	for i := 0; i < 12; i++ {
		require.Equal(t, 201, cl.do("POST", "/keys/q", vals("value", "x")).status)
	}
	cl.put("/q/_hidden", "h")
	cl.put("/q/sub/_h2", "h")
	r := cl.get("/q?sorted=true")
	ev := r.event(t)
	keys := []string{}
	for _, n := range ev.Node.Nodes {
		keys = append(keys, n.Key)
	}
	require.Len(t, keys, 13)
	assert.Equal(t, "/q/1000", keys[0], "byte-wise order puts /q/1000 first")
	assert.Equal(t, "/q/999", keys[11])
	assert.Equal(t, "/q/sub", keys[12])
	assert.Nil(t, ev.Node.Nodes[12].Nodes, "one level without recursive")
	rec := cl.get("/q?recursive=true&sorted=true").event(t)
	assert.Nil(t, rec.Node.Nodes[12].Nodes, "the only child of /q/sub is hidden")
	assert.Equal(t, "h", *cl.get("/q/_hidden").event(t).Node.Value, "hidden keys are readable by name")
	// Without sorted the order differs between calls sooner or later.
	first := cl.get("/q").body
	require.Eventually(t, func() bool { return cl.get("/q").body != first }, 5e9, 1e6)
	// Hidden children still block a non-recursive directory delete.
	cl.do("DELETE", "/keys/q/sub/_h2", nil)
	cl.put("/e/_x", "1")
	code, _, _ := cl.do("DELETE", "/keys/e?dir=true", nil).apiErr(t)
	assert.Equal(t, 108, code)
}

func TestValidationOrderAndCauses(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	cl := newClient(t, c)
	cases := []struct {
		method, pq string
		code       int
		cause      string
	}{
		{"GET", "/keys/a?prevIndex=x&waitIndex=y", 203, `invalid value for "prevIndex"`},
		{"GET", "/keys/a?prevIndex=&recursive=x", 203, `invalid value for "prevIndex"`},
		{"GET", "/keys/a?waitIndex=-1&recursive=x", 203, `invalid value for "waitIndex"`},
		{"GET", "/keys/a?recursive=yes&sorted=x", 209, `invalid value for "recursive"`},
		{"GET", "/keys/a?sorted=&wait=x", 209, `invalid value for "sorted"`},
		{"GET", "/keys/a?wait=2&dir=x", 209, `invalid value for "wait"`},
		{"GET", "/keys/a?dir=no&stream=x", 209, `invalid value for "dir"`},
		{"GET", "/keys/a?stream=x&prevValue=", 209, `invalid value for "stream"`},
		{"PUT", "/keys/a?wait=true&prevValue=", 209, `"wait" can only be used with GET requests`},
		{"GET", "/keys/a?prevValue=&ttl=x", 209, `"prevValue" cannot be empty`},
		{"DELETE", "/keys/a?ttl=abc&prevExists=x", 202, `invalid value for "ttl"`},
		{"PUT", "/keys/a?ttl=%2B5", 202, `invalid value for "ttl"`},
		{"PUT", "/keys/a?ttl=1.5", 202, `invalid value for "ttl"`},
		{"PUT", "/keys/a?ttl=18446744073709551616", 202, `invalid value for "ttl"`},
		{"PUT", "/keys/a?prevExists=", 209, `invalid value for prevExists`},
		{"PUT", "/keys/a?a=1;b=2", 210, `invalid semicolon separator in query`},
		{"GET", "/keys/a?x=%zz", 210, `invalid URL escape "%zz"`},
	}
	for _, tc := range cases {
		r := cl.do(tc.method, tc.pq, nil)
		require.Equal(t, 400, r.status, "%s %s: %s", tc.method, tc.pq, r.body)
		code, cause, idx := r.apiErr(t)
		assert.Equal(t, tc.code, code, tc.pq)
		assert.Equal(t, tc.cause, cause, tc.pq)
		assert.Zero(t, idx, tc.pq)
		assert.Equal(t, "0", r.header.Get("X-Deimos-Index"), tc.pq)
		assert.NotContains(t, r.body, "Internal Server Error", "validation errors have no trailing line")
	}
	// wait=false is accepted on any method; a body of another content type is ignored.
	assert.Equal(t, 201, cl.do("PUT", "/keys/w?wait=false", vals("value", "v")).status)
	req := cl.do("PUT", "/keys/w?prevValue=v", nil)
	assert.Equal(t, `""`, jsonValue(t, req))
	semi := cl.do("PUT", "/keys/w", nil)
	assert.Equal(t, 200, semi.status)
}

func jsonValue(t *testing.T, r resp) string {
	ev := r.event(t)
	require.NotNil(t, ev.Node.Value)
	return strconv.Quote(*ev.Node.Value)
}

func TestHiddenMemberWritesAndMachines(t *testing.T) {
	c := deimostest.NewCluster(t, 3)
	cl := newClient(t, c)
	eps := c.Endpoints()
	r := cl.do("GET", "/machines", nil)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
	want := append([]string(nil), eps...)
	sortStrings(want)
	assert.Equal(t, joinComma(want), r.body)
	// Non-member JSON under /_deimos is just stored; a well-formed record shows up.
	assert.Equal(t, 201, cl.put("/_deimos/machines/bad", "not json").status)
	assert.Equal(t, 201, cl.put("/_deimos/machines/ff", `{"ID":255,"Name":"x","PeerURLs":[],"ClientURLs":["http://127.0.0.1:1"],"IsLearner":false}`).status)
	r = cl.do("GET", "/machines", nil)
	assert.Equal(t, joinComma(append([]string{"http://127.0.0.1:1"}, want...)), r.body)
	// Stopped nodes stay listed.
	c.Node(1).Stop()
	assert.Contains(t, cl.do("GET", "/machines", nil).body, eps[1])
	require.NoError(t, c.Node(1).Start())
	assert.Equal(t, eps[1], c.Node(1).URL(), "restart keeps the address")
	assert.EqualValues(t, 9, c.Index(), "two writes and one republish")
}
