package deimostest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
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

// The SDK talks to the cluster through its endpoints; in a test, NewCluster(t, 3) replaces
// StartCluster and Close.
func Example_client() {
	c, err := deimostest.StartCluster(3)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...)) // or deimos.NewClient(c.Endpoints())
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.Set(ctx, "/greeting", "hello"); err != nil {
		panic(err)
	}
	resp, err := client.Get(ctx, "/greeting")
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Node.Value, resp.Node.ModifiedIndex)
	// Output: hello 7
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

// exampleSend sends one request and returns the response once its headers arrived (for a
// watch: once it is registered, before its event).
func exampleSend(method, u string) *http.Response {
	req, _ := http.NewRequest(method, u, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	return res
}

// exampleBody reads and closes a response body.
func exampleBody(res *http.Response) string {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func exampleDo(method, u string) string { return exampleBody(exampleSend(method, u)) }

// A lagging node's watches trail the store: a set acknowledged by node 1, then a watch
// without waitIndex on node 2, is answered with that very set once node 2 applies it.
func ExampleNode_SetWatchLag() {
	c, err := deimostest.StartCluster(2)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	defer http.DefaultClient.CloseIdleConnections()
	follower := c.Node(1)
	follower.SetWatchLag(time.Hour) // a test lets it apply with ClearWatchLag, or picks a short lag

	exampleDo(http.MethodPut, c.Endpoints()[0]+"/keys/k?value=v")
	fmt.Println("committed", c.Index(), "follower applied", follower.AppliedIndex())
	watch := exampleSend(http.MethodGet, follower.URL()+"/keys/k?wait=true") // registered: waits
	follower.ClearWatchLag()                                                 // back to the cluster's lag (0): it applies index 7
	fmt.Print(exampleBody(watch))
	// Output:
	// committed 7 follower applied 6
	// {"action":"set","node":{"key":"/k","value":"v","modifiedIndex":7,"createdIndex":7}}
}

// Deleting a directory while a node has a watch inside it would crash that node.
func ExampleCluster_CrashHazards() {
	c, err := deimostest.StartCluster(1)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	defer http.DefaultClient.CloseIdleConnections()
	exampleDo(http.MethodPut, c.Endpoints()[0]+"/keys/dir/child?value=v")
	watch := exampleSend(http.MethodGet, c.Endpoints()[0]+"/keys/dir/child?wait=true")
	exampleDo(http.MethodDelete, c.Endpoints()[0]+"/keys/dir?recursive=true")
	exampleBody(watch) // the emulator delivers the directory's delete instead of crashing
	for _, h := range c.CrashHazards() {
		fmt.Println(h)
	}
	// Output: node1 would have crashed: recursive delete of directory /dir at index 8 while it had watches inside it on /dir/child
}
