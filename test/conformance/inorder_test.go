package conformance

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// §10: POST creates a child named by the unpadded decimal index of the write.
func TestInOrder_PostCreatesChildNamedByIndex(t *testing.T) {
	t.Parallel()
	q := dir(t) + "/queue"
	var last uint64
	for _, uri := range []string{keys(q), keys(q + "/"), keys(q)} { // a trailing slash changes nothing
		r := post(t, uri, "value=job")
		i := r.written(t)
		require.Greater(t, i, last)
		last = i
		k := q + "/" + strconv.FormatUint(i, 10)
		r.exactly(t, http.StatusCreated, result{Action: "create", Node: file(k, "job", i, i)})
		get(t, keys(k)).exactly(t, http.StatusOK, result{Action: "get", Node: file(k, "job", i, i)})
	}
}

// §10: POST ignores prevExists, prevValue and prevIndex, and a missing value means "".
func TestInOrder_PostIgnoresConditions(t *testing.T) {
	t.Parallel()
	for _, query := range []string{"prevExists=true", "prevExists=false", "prevValue=nope", "prevIndex=1", ""} {
		t.Run("query "+query, func(t *testing.T) {
			q := dir(t)
			mustSet(t, q+"/existing", "x")
			r := post(t, keys(q, query), "")
			i := r.written(t)
			r.exactly(t, http.StatusCreated, result{Action: "create", Node: file(q+"/"+strconv.FormatUint(i, 10), "", i, i)})
		})
	}
}

// §10: POST honours dir=true (a directory child) and ttl.
func TestInOrder_PostHonoursDirAndTTL(t *testing.T) {
	t.Parallel()
	t.Run("dir", func(t *testing.T) {
		q := dir(t)
		r := post(t, keys(q, "dir=true"), "value=ignored")
		i := r.written(t)
		r.exactly(t, http.StatusCreated, result{Action: "create", Node: dirNode(q+"/"+strconv.FormatUint(i, 10), i, i)})
	})
	t.Run("ttl", func(t *testing.T) {
		q := dir(t)
		r := post(t, keys(q, "ttl=100"), "value=v")
		res := r.ok(t, http.StatusCreated)
		require.Equal(t, q+"/"+strconv.FormatUint(r.written(t), 10), res.Node.Key)
		require.Equal(t, int64(100), res.Node.TTL)
		require.NotNil(t, res.Node.Expiration)
	})
}

// §10: POST on a file is 104 (the child would live under a file).
func TestInOrder_PostOnAFileIsNotADirectory(t *testing.T) {
	t.Parallel()
	f := dir(t)
	mustSet(t, f, "v")
	post(t, keys(f), "value=x").storeError(t, http.StatusBadRequest, 104, msgNotDir, f)
}

// §8.4, §10: POST on /keys creates /<index> at the top level.
func TestInOrder_PostOnRootCreatesTopLevelKey(t *testing.T) {
	t.Parallel()
	r := post(t, "/keys", "value=top")
	i := r.written(t)
	k := "/" + strconv.FormatUint(i, 10)
	r.exactly(t, http.StatusCreated, result{Action: "create", Node: file(k, "top", i, i)})
	del(t, keys(k, "prevValue=top")).ok(t, http.StatusOK) // clean up the root
}
