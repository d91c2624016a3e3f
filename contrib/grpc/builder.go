package deimosgrpc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"

	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/watch"
)

// Scheme is the URI scheme of the targets the builder resolves.
const Scheme = "deimos"

// Builder builds resolvers for deimos:///<service> targets. Register it with
// grpc.WithResolvers (or resolver.Register for every client).
type Builder struct {
	client watch.Client
	opts   []discovery.ResolverOption
	logger *slog.Logger
}

// NewBuilder returns a builder that resolves services through client,
// passing opts to every discovery.NewResolver (a layout, timeouts, a
// logger).
func NewBuilder(client watch.Client, opts ...discovery.ResolverOption) *Builder {
	b := &Builder{client: client, opts: opts}
	for _, o := range opts {
		if lo, ok := o.(discovery.LoggerOption); ok {
			b.logger = lo.Logger()
		}
	}
	return b
}

// Scheme returns "deimos".
func (b *Builder) Scheme() string { return Scheme }

// Build starts resolving the service named by the target's path
// (deimos:///payments resolves "payments"; an authority is ignored).
func (b *Builder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	service := strings.TrimPrefix(target.URL.Path, "/")
	if service == "" {
		service = target.URL.Opaque
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := discovery.NewResolver(ctx, b.client, service, b.opts...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("deimosgrpc: target %q: %w", target.URL.String(), err)
	}
	d := &deimosResolver{cc: cc, r: r, cancel: cancel, done: make(chan struct{}), logger: b.logger}
	go d.run()
	return d, nil
}

// deimosResolver feeds one discovery.Resolver's snapshots to a channel.
type deimosResolver struct {
	cc     resolver.ClientConn
	r      *discovery.Resolver
	cancel context.CancelFunc
	done   chan struct{}
	logger *slog.Logger
	pushed bool // a list reached the channel
}

func (d *deimosResolver) run() {
	defer close(d.done)
	d.push(d.r.Snapshot())
	for s := range d.r.Updates() {
		d.push(s)
	}
}

// push applies the resolver contract to one snapshot.
func (d *deimosResolver) push(s discovery.Snapshot) {
	up := s.Up()
	switch {
	case len(up) > 0:
		d.pushed = true
		// An error here means the balancer rejected the state; the next
		// snapshot is the retry (ResolveNow has nothing to add).
		_ = d.cc.UpdateState(resolver.State{Endpoints: endpointsOf(up)})
	case s.Emptied && d.pushed:
		if d.logger != nil {
			d.logger.Warn("deimosgrpc: the resolver lists no instance; the channel keeps the last list",
				"service", s.Service, "index", s.Index)
		}
	case !d.pushed && s.Stale:
		if s.Err != nil {
			d.cc.ReportError(fmt.Errorf("deimosgrpc: resolving %s: %w", s.Service, s.Err))
		}
	case !d.pushed:
		d.cc.ReportError(fmt.Errorf("deimosgrpc: resolving %s: %w", s.Service, discovery.ErrNoInstances))
	default: // every instance is draining: no new calls anywhere
		d.pushed = true
		_ = d.cc.UpdateState(resolver.State{Endpoints: []resolver.Endpoint{}})
	}
}

// ResolveNow does nothing: the resolver is driven by a watch and is always
// as fresh as it can be.
func (d *deimosResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close stops the resolver and waits for its goroutine.
func (d *deimosResolver) Close() {
	d.cancel()
	d.r.Close()
	<-d.done
}

// instanceKey is the attributes key of the discovery.Instance.
type instanceKey struct{}

// instanceValue makes an Instance comparable for gRPC's attributes, which
// compare values with == or an Equal method; Instance holds a map.
type instanceValue struct{ inst discovery.Instance }

// Equal compares the instances, metadata included.
func (v instanceValue) Equal(o any) bool {
	ov, ok := o.(instanceValue)
	return ok && v.inst.Equal(ov.inst)
}

func endpointsOf(insts []discovery.Instance) []resolver.Endpoint {
	out := make([]resolver.Endpoint, 0, len(insts))
	for _, inst := range insts {
		attrs := attributes.New(instanceKey{}, instanceValue{inst})
		out = append(out, resolver.Endpoint{
			Addresses:  []resolver.Address{{Addr: inst.Addr, Attributes: attrs}},
			Attributes: attrs,
		})
	}
	return out
}

// InstanceOf returns the discovery.Instance behind an endpoint or address
// attributes set by this resolver (resolver.Endpoint.Attributes or
// resolver.Address.Attributes).
func InstanceOf(attrs *attributes.Attributes) (discovery.Instance, bool) {
	v, ok := attrs.Value(instanceKey{}).(instanceValue)
	return v.inst, ok
}

// WeightOf returns the effective weight of the instance behind attrs, 1 for
// attributes this resolver did not set; for custom weighted balancers.
func WeightOf(attrs *attributes.Attributes) int {
	inst, ok := InstanceOf(attrs)
	if !ok {
		return 1
	}
	return inst.EffectiveWeight()
}
