package observe_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/observe"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// A hook set that counts attempts by outcome, the way a metrics adapter
// would.
func ExampleHooks() {
	cluster, err := deimostest.StartCluster(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cluster.Close()

	var mu sync.Mutex
	outcomes := map[string]int{}
	hooks := observe.Hooks{
		OperationEnd: func(_ context.Context, op observe.Operation, r observe.Result) {
			mu.Lock()
			defer mu.Unlock()
			outcomes[op.Name+" "+r.Outcome.String()]++
		},
	}
	client := deimos.New(deimos.WithEndpoints(cluster.Endpoints()...), deimos.WithHooks(hooks))
	defer client.Close()

	ctx := context.Background()
	_, _ = client.Set(ctx, "/greeting", "hello")
	_, _ = client.Get(ctx, "/greeting")
	_, _ = client.Get(ctx, "/missing")

	mu.Lock()
	defer mu.Unlock()
	fmt.Println(outcomes["set ok"], outcomes["get ok"], outcomes["get server_error"])
	// Output: 1 1 1
}
