package discovery

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Balancer picks an instance of a resolver's service for each call and
// learns from the calls' outcomes. Pick is lock-free: every change of the
// instance set (a new snapshot, an ejection, a return) builds a new immutable
// picker that picks load atomically.
//
// It never picks a draining instance. It ejects instances whose calls keep
// failing (see Ejection). When the resolver's list suddenly empties
// (Snapshot.Emptied) it keeps picking from the last non-empty list, as
// Envoy's panic threshold does, until ejection removes those instances too:
// a registry that lost every registration at once is more likely wrong than
// a whole fleet gone.
type Balancer struct {
	service  string
	strategy Strategy
	cfg      balancerConfig
	noneErr  error // ErrNoInstances naming the service, built once

	picker atomic.Pointer[pickerRef]
	cursor atomic.Uint64 // round robin position, kept across rebuilds
	calls  *sync.Pool

	unsubscribe func()

	mu      sync.Mutex
	current []*endpoint // the instances of the snapshot in use, by ID
	healths map[string]*health
	kept    bool // current is the last non-empty list; the resolver has none
	closed  bool
}

// NewBalancer returns a balancer over r's instances using strategy. It
// follows r until Close.
func NewBalancer(r *Resolver, strategy Strategy, opts ...BalancerOption) (*Balancer, error) {
	if strategy < RoundRobin || strategy > ConsistentHash {
		return nil, fmt.Errorf("%w: unknown strategy %v", ErrInvalidOption, strategy)
	}
	cfg := balancerConfig{ejection: DefaultEjection, eject: true, vnodes: DefaultVirtualNodes}
	for _, o := range opts {
		o.applyBalancer(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	b := &Balancer{
		service:  r.Service(),
		strategy: strategy,
		cfg:      cfg,
		noneErr:  fmt.Errorf("discovery: %s: %w", r.Service(), ErrNoInstances),
		calls:    newCallPool(),
		healths:  map[string]*health{},
	}
	b.picker.Store(&pickerRef{emptyPicker{b.noneErr}})
	b.unsubscribe = r.subscribe(b.update)
	return b, nil
}

// Pick chooses an instance for one call. Call done exactly once when the
// call ends, with nil on success or the error that the instance is to blame
// for (a refused connection, a timeout, an unavailable answer; not an
// application-level rejection): errors feed outlier ejection, and for
// PowerOfTwoChoices done also records the latency and ends the call's
// in-flight count. The error is ErrNoInstances when nothing can be picked,
// and ErrNoHashKey for a ConsistentHash pick without WithHashKey.
func (b *Balancer) Pick(ctx context.Context) (inst Instance, done func(error), err error) {
	ep, err := b.picker.Load().pick(ctx)
	if err != nil {
		return Instance{}, nil, err
	}
	if b.strategy == PowerOfTwoChoices {
		return ep.inst, ep.startCall(), nil
	}
	return ep.inst, ep.doneFn, nil
}

// Pickable returns the instances Pick chooses from now: neither draining
// nor ejected.
func (b *Balancer) Pickable() []Instance {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Instance
	for _, e := range b.eligibleLocked() {
		out = append(out, e.inst)
	}
	return out
}

// Ejected returns the IDs of the instances ejected now.
func (b *Balancer) Ejected() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.current {
		if e.health.ejected {
			out = append(out, e.inst.ID)
		}
	}
	return out
}

// Close stops following the resolver and cancels pending returns from
// ejection. Picks keep working on the last set.
func (b *Balancer) Close() {
	b.unsubscribe()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, h := range b.healths {
		if h.timer != nil {
			h.timer.Stop()
		}
	}
}

// update takes a new snapshot of the resolver (on the resolver's goroutine).
func (b *Balancer) update(s Snapshot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if len(s.Instances) == 0 && len(b.current) > 0 {
		if !b.kept && b.cfg.logger != nil {
			b.cfg.logger.Warn("discovery: the resolver lists no instance; keeping the last list",
				"service", b.service, "instances", len(b.current), "index", s.Index)
		}
		b.kept = true
		return
	}
	b.kept = false
	b.current = b.endpointsFor(s.Instances)
	b.rebuildLocked()
}

// endpointsFor reuses the endpoints of unchanged instances (keeping their
// load), makes new ones for the others with the instance's health, and
// forgets the health of instances that left.
func (b *Balancer) endpointsFor(insts []Instance) []*endpoint {
	old := make(map[string]*endpoint, len(b.current))
	for _, e := range b.current {
		old[e.inst.ID] = e
	}
	avg := averageLatency(b.current)
	eps := make([]*endpoint, 0, len(insts))
	healths := make(map[string]*health, len(insts))
	for _, inst := range insts {
		h := b.healths[inst.ID]
		if h == nil {
			h = newHealth(b.cfg.ejection)
		}
		healths[inst.ID] = h
		if e, ok := old[inst.ID]; ok && e.inst.Equal(inst) {
			eps = append(eps, e)
			continue
		}
		eps = append(eps, newEndpoint(b, inst, h, avg))
	}
	for id, h := range b.healths {
		if _, ok := healths[id]; !ok && h.timer != nil {
			h.timer.Stop()
		}
	}
	b.healths = healths
	return eps
}

// averageLatency is the latency a new endpoint starts with, so that it is
// neither flooded (no samples looks fastest) nor starved.
func averageLatency(eps []*endpoint) float64 {
	var sum float64
	var n int
	now := monotonic()
	for _, e := range eps {
		if l := e.latencyAt(now); l > 0 {
			sum, n = sum+l, n+1
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func (b *Balancer) eligibleLocked() []*endpoint {
	var out []*endpoint
	for _, e := range b.current {
		if e.inst.State == StateUp && !e.health.ejected {
			out = append(out, e)
		}
	}
	return out
}

// rebuildLocked publishes a picker over the eligible endpoints.
func (b *Balancer) rebuildLocked() {
	eps := b.eligibleLocked()
	var p picker
	switch {
	case len(eps) == 0:
		p = emptyPicker{b.noneErr}
	case b.strategy == RoundRobin:
		p = &rrPicker{eps: eps, next: &b.cursor}
	case b.strategy == Random:
		p = &randomPicker{eps: eps}
	case b.strategy == WeightedRoundRobin:
		p = newWeightedPicker(eps, &b.cursor)
	case b.strategy == PowerOfTwoChoices:
		p = &p2cPicker{eps: eps}
	default:
		p = newRingPicker(eps, b.cfg.vnodes)
	}
	b.picker.Store(&pickerRef{p})
}

// eject takes h's instance out for its next ejection period, unless that
// would eject more than the policy's fraction of the instances. While the
// balancer keeps a list the resolver emptied, the fraction does not protect
// it: those instances are only kept in case the registry was wrong.
func (b *Balancer) eject(h *health) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.endpointOf(h)
	if b.closed || e == nil || h.ejected {
		return
	}
	ejected := 0
	for _, o := range b.current {
		if o.health.ejected {
			ejected++
		}
	}
	if limit := int(b.cfg.ejection.MaxFraction * float64(len(b.current))); !b.kept && ejected+1 > limit {
		b.log("discovery: not ejecting an instance: too many are ejected", e, "ejected", ejected)
		h.succeeded() // start counting afresh
		return
	}
	d := h.nextPeriod(time.Now(), b.cfg.ejection)
	h.ejected = true
	h.timer = time.AfterFunc(d, func() { b.readmit(h) })
	b.rebuildLocked()
	b.log("discovery: ejected an instance after errors", e, "for", d)
}

// readmit ends h's ejection.
func (b *Balancer) readmit(h *health) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || !h.ejected {
		return
	}
	h.ejected, h.returned, h.timer = false, time.Now(), nil
	h.succeeded()
	b.rebuildLocked()
	if e := b.endpointOf(h); e != nil {
		b.log("discovery: an ejected instance is back", e)
	}
}

func (b *Balancer) endpointOf(h *health) *endpoint {
	for _, e := range b.current {
		if e.health == h {
			return e
		}
	}
	return nil
}

func (b *Balancer) log(msg string, e *endpoint, args ...any) {
	if b.cfg.logger != nil {
		b.cfg.logger.Info(msg, append([]any{"service", b.service, "id", e.inst.ID, "addr", e.inst.Addr}, args...)...)
	}
}
