package deimostest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// A program (or an example) starts a cluster with StartCluster and closes it itself.
func ExampleStartCluster() {
	c, err := deimostest.StartCluster(3)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	body := strings.NewReader(url.Values{"value": {"bar"}}.Encode())
	req, _ := http.NewRequest(http.MethodPut, c.Endpoints()[0]+"/keys/foo", body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	fmt.Print(res.StatusCode, " ", string(b))
	// Output: 201 {"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":7,"createdIndex":7}}
}

// In a test, NewCluster closes the cluster when the test ends; faults are one call away.
// (This example only compiles: it needs the *testing.T of a real test.)
func ExampleNewCluster() {
	var t *testing.T // the test's own t
	c := deimostest.NewCluster(t, 3, deimostest.WithServerTimeout(100*time.Millisecond))
	c.Node(0).Stop()      // connection refused on node 0
	_ = c.Node(0).Start() // back on the same address
	c.Node(1).SetHook(deimostest.FailNext(http.MethodPut, "/keys/", deimostest.FaultDropResponse, 1))
	c.LoseQuorum() // writes hang 100 ms, then a plain 500; applied at RestoreQuorum
	c.RestoreQuorum()
	_ = c.Requests(http.MethodPut) // how many PUTs the cluster received
}
