package conformance

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// §6.1 QUIRK, §5.3: a fresh 3-node cluster answers index 6 before any client
// write, its root lists nothing (the only child is hidden), and the first
// write gets index 7.
func TestFresh_ClusterStartsAtIndexSix(t *testing.T) {
	c := freshCluster(t, "a fresh cluster's index cannot be observed on a used one")
	ep := c.Endpoints()[0]
	r := do(t, call{method: "GET", uri: "/keys/", endpoint: ep})
	r.exactly(t, http.StatusOK, result{Action: "get", Node: dirNode("/", 0, 0)})
	require.Equal(t, uint64(6), r.index(t))

	r = do(t, call{method: "PUT", uri: "/keys/foo", body: "value=bar", contentType: formType, endpoint: c.Endpoints()[1]})
	r.exactly(t, http.StatusCreated, result{Action: "set", Node: file("/foo", "bar", 7, 7)})
}

// §8.3 BUG, §12.5: before 1000 events exist nothing is outdated, and a history
// watch from index 1 returns the internal create of a member record.
func TestFresh_HistoryWatchLeaksMemberRecords(t *testing.T) {
	c := freshCluster(t, "index 1 is long gone from a used cluster's history")
	w := startWatch(t, call{uri: "/keys/?wait=true&recursive=true&waitIndex=1", endpoint: c.Endpoints()[2]})
	res, _ := w.event(t, eventWait)
	require.Equal(t, "create", res.Action)
	require.True(t, strings.HasPrefix(res.Node.Key, "/_deimos/machines/"), res.Node.Key)
	require.Equal(t, uint64(1), res.Node.ModifiedIndex)
}
