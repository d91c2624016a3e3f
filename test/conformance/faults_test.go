package conformance

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/stretchr/testify/require"
)

// §7.3, §13.3: without quorum, non-watch requests hang for the server timeout
// and answer a plain 500 with the line twice and no X-Deimos-Index, while
// watches and /machines keep working.
func TestFaults_LostQuorumIsPlain500(t *testing.T) {
	t.Parallel()
	c := freshCluster(t, "losing quorum needs fault injection", deimostest.WithServerTimeout(300*time.Millisecond))
	ep := c.Endpoints()[0]
	w := do(t, call{method: "PUT", uri: "/keys/q", body: "value=v0", contentType: formType, endpoint: ep})
	i := w.written(t)
	c.LoseQuorum()
	defer c.RestoreQuorum()

	for _, cl := range []call{
		{method: "GET", uri: "/keys/q", endpoint: ep},
		{method: "PUT", uri: "/keys/q", body: "value=v1", contentType: formType, endpoint: c.Endpoints()[1]},
		{method: "DELETE", uri: "/keys/other", endpoint: ep},
	} {
		r := do(t, cl)
		require.Equal(t, http.StatusInternalServerError, r.status, "%s %s", cl.method, cl.uri)
		require.Equal(t, "Internal Server Error\nInternal Server Error\n", string(r.body))
		require.False(t, r.hasHeader("X-Deimos-Index"))
		require.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	}

	m := do(t, call{method: "GET", uri: "/machines", endpoint: ep})
	require.Equal(t, http.StatusOK, m.status, "/machines is answered from local state")
	wt := startWatch(t, call{uri: keys("/q", "wait=true", "waitIndex="+itoa(i)), endpoint: c.Endpoints()[2]})
	res, _ := wt.event(t, eventWait)
	require.Equal(t, i, res.Node.ModifiedIndex, "watches need no quorum")
}

// §13.5: /machines keeps listing a member that is down.
func TestFaults_MachinesListsStoppedMembers(t *testing.T) {
	t.Parallel()
	c := freshCluster(t, "stopping a member needs fault injection")
	stopped := c.Node(2)
	stopped.Stop()
	defer func() { require.NoError(t, stopped.Start()) }()
	r := do(t, call{method: "GET", uri: "/machines", endpoint: c.Endpoints()[0]})
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, strings.Split(string(r.body), ", "), stopped.URL())
}

// §12.7: deleting or expiring a directory while a key inside it is watched
// crashes the real server; the intended behaviour, which the in-process
// server implements, is to deliver the directory's event to those watchers.
// The test has a cluster of its own, without lag, that expects the hazard:
// on the shared target it would be a watcher inside a removed directory.
func TestFaults_DirectoryRemovalReachesWatchersInside(t *testing.T) {
	t.Parallel()
	c := freshCluster(t, "the real server crashes when a directory with watched children is removed (§12.7)")
	expectCrashHazards(t, c)
	eps := c.Endpoints()
	on := func(i int, method, uri, form string) call {
		cl := call{method: method, uri: uri, body: form, endpoint: eps[i]}
		if form != "" {
			cl.contentType = formType
		}
		return cl
	}
	t.Run("delete", func(t *testing.T) {
		d := dir(t)
		do(t, on(0, "PUT", keys(d+"/child"), "value=v")).ok(t, http.StatusCreated)
		w := startWatch(t, on(1, "GET", keys(d+"/child", "wait=true"), ""))
		r := do(t, on(2, "DELETE", keys(d, "recursive=true"), ""))
		res, b := w.event(t, eventWait)
		require.Equal(t, string(r.body), string(b))
		require.Equal(t, d, res.Node.Key)
	})
	t.Run("expire", func(t *testing.T) {
		d := dir(t)
		do(t, on(0, "PUT", keys(d, "dir=true&ttl=1"), "")).ok(t, http.StatusCreated)
		do(t, on(0, "PUT", keys(d+"/child"), "value=v")).ok(t, http.StatusCreated)
		w := startWatch(t, on(1, "GET", keys(d+"/child", "wait=true"), ""))
		res, _ := w.event(t, reapWait())
		require.Equal(t, "expire", res.Action)
		require.Equal(t, d, res.Node.Key)
	})
}
