package transport

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A JSON error whose body is cut by a dying node is a failed exchange, not a
// malformed answer: a read must try another endpoint, which answers the
// real error.
func TestDo_TruncatedErrorBodyIsRetriedForReads(t *testing.T) {
	const errBody = `{"errorCode":100,"message":"Key not found","cause":"/a","index":9}` + "\nInternal Server Error\n"
	var n atomic.Int64
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if n.Add(1) == 1 {
			io.WriteString(w, errBody[:len(errBody)/3])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, errBody)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := tr.Do(ctx, getReq("/a"), nil)
	require.ErrorIs(t, err, ErrKeyNotFound)
	assert.Equal(t, int64(2), n.Load())
}

// The server's JSON error is the answer even when the caller's context ends
// while the rest of the body is still being read: it must not turn into
// "no endpoint could serve the request".
func TestDo_ServerErrorWinsOverContextEndingAfterIt(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tr, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errorCode":100,"message":"Key not found","cause":"/a","index":9}`+"\n")
		w.(http.Flusher).Flush()
		select { // the trailing line comes late
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := tr.Do(ctx, getReq("/a"), nil)
	require.ErrorIs(t, err, ErrKeyNotFound)
	assert.NotErrorIs(t, err, ErrClusterUnavailable)
}
