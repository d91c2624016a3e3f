// Package deimosgrpc resolves gRPC targets of the form deimos:///<service>
// with a discovery.Resolver, so a gRPC client follows the instances
// registered on Deimos:
//
//	conn, err := grpc.NewClient("deimos:///payments",
//		grpc.WithResolvers(deimosgrpc.NewBuilder(client)),
//		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
//		grpc.WithTransportCredentials(insecure.NewCredentials()))
//
// It lives in its own module (github.com/marsevilspirit/deimos-client/contrib/grpc,
// package deimosgrpc) so that the core SDK does not depend on gRPC.
//
// What the channel sees follows grpc-go's resolver contract and the
// resolver's guarantees: every instance in StateUp becomes an endpoint whose
// attributes carry the discovery.Instance (InstanceOf, WeightOf); draining
// instances are left out; a resolver that is stale keeps its last list, so
// the channel keeps it too; an error is reported (ReportError) only while
// there is no list yet; and a list that suddenly empties
// (discovery.Snapshot.Emptied) is not pushed: the channel keeps using the
// last non-empty list, as the discovery balancers do.
package deimosgrpc
