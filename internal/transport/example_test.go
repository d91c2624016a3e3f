package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func ExampleTransport_Do() {
	cluster, err := deimostest.StartCluster(3)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close()

	tr, err := transport.New(transport.Config{Endpoints: cluster.Endpoints()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close()
	ctx := context.Background()

	var out struct {
		Action string `json:"action"`
		Node   struct {
			Value string `json:"value"`
		} `json:"node"`
	}
	set := &transport.Request{Op: "set", Method: http.MethodPut, Key: "/greeting", Path: "/keys/greeting",
		Params: url.Values{"value": {"hello"}}, Class: transport.Unsafe}
	if _, err := tr.Do(ctx, set, &out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Action, out.Node.Value)

	get := &transport.Request{Op: "get", Method: http.MethodGet, Key: "/missing", Path: "/keys/missing", Class: transport.Safe}
	_, err = tr.Do(ctx, get, &out)
	fmt.Println(errors.Is(err, transport.ErrKeyNotFound))
	// Output:
	// set hello
	// true
}
