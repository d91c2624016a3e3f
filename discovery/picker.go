package discovery

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// picker chooses among a fixed set of endpoints. Pickers are immutable
// (apart from their own cursor) and replaced whole when the set changes, so
// a pick takes no lock.
type picker interface {
	pick(ctx context.Context) (*endpoint, error)
}

// pickerRef boxes a picker for an atomic pointer.
type pickerRef struct{ picker }

type emptyPicker struct{ err error }

func (p emptyPicker) pick(context.Context) (*endpoint, error) { return nil, p.err }

// rrPicker's cursor belongs to the balancer, so the rotation continues
// across rebuilds instead of restarting at the first instance.
type rrPicker struct {
	eps  []*endpoint
	next *atomic.Uint64
}

func (p *rrPicker) pick(context.Context) (*endpoint, error) {
	n := p.next.Add(1) - 1
	return p.eps[n%uint64(len(p.eps))], nil
}

type randomPicker struct{ eps []*endpoint }

func (p *randomPicker) pick(context.Context) (*endpoint, error) {
	return p.eps[rand.IntN(len(p.eps))], nil
}

type p2cPicker struct{ eps []*endpoint }

func (p *p2cPicker) pick(context.Context) (*endpoint, error) {
	n := len(p.eps)
	if n == 1 {
		return p.eps[0], nil
	}
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	a, b := p.eps[i], p.eps[j]
	now := monotonic()
	la, lb := a.latencyAt(now), b.latencyAt(now)
	// An instance without a sample yet is taken to be as fast as the other:
	// zero would look fastest and flood it, however many calls it holds.
	if la == 0 {
		la = lb
	} else if lb == 0 {
		lb = la
	}
	if cost(lb, b.inflight.Load()) < cost(la, a.inflight.Load()) {
		return b, nil
	}
	return a, nil
}

// maxSchedule bounds the work of precomputing a weighted schedule
// (instances × cycle length); above it picks run the algorithm live.
const maxSchedule = 1 << 20

// scheduledPicker replays a precomputed smooth weighted round robin cycle.
type scheduledPicker struct {
	eps   []*endpoint
	order []int32
	next  *atomic.Uint64
}

func (p *scheduledPicker) pick(context.Context) (*endpoint, error) {
	n := p.next.Add(1) - 1
	return p.eps[p.order[n%uint64(len(p.order))]], nil
}

// swrrPicker runs nginx's smooth weighted round robin under a lock: the
// schedule of these weights would be too long to precompute.
type swrrPicker struct {
	eps []*endpoint
	mu  sync.Mutex
	sw  smoothWeights
}

func (p *swrrPicker) pick(context.Context) (*endpoint, error) {
	p.mu.Lock()
	i := p.sw.step()
	p.mu.Unlock()
	return p.eps[i], nil
}

// smoothWeights is nginx's smooth weighted round robin: every step adds each
// weight to its current value, picks the largest, and takes the total off
// the winner. Over a cycle of total/gcd steps each instance is picked in
// proportion to its weight, spread out rather than in runs.
type smoothWeights struct {
	weight  []int
	current []int
	total   int
}

func newSmoothWeights(eps []*endpoint) smoothWeights {
	sw := smoothWeights{weight: make([]int, len(eps)), current: make([]int, len(eps))}
	for i, e := range eps {
		sw.weight[i] = e.inst.EffectiveWeight()
		sw.total += sw.weight[i]
	}
	return sw
}

func (sw *smoothWeights) step() int {
	best := 0
	for i, w := range sw.weight {
		sw.current[i] += w
		if sw.current[i] > sw.current[best] {
			best = i
		}
	}
	sw.current[best] -= sw.total
	return best
}

// cycle returns the length of the schedule, total/gcd(weights).
func (sw *smoothWeights) cycle() int {
	g := 0
	for _, w := range sw.weight {
		g = gcd(g, w)
	}
	return sw.total / g
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newWeightedPicker(eps []*endpoint, next *atomic.Uint64) picker {
	sw := newSmoothWeights(eps)
	cycle := sw.cycle()
	if cycle*len(eps) > maxSchedule {
		return &swrrPicker{eps: eps, sw: sw}
	}
	order := make([]int32, cycle)
	for i := range order {
		order[i] = int32(sw.step())
	}
	return &scheduledPicker{eps: eps, order: order, next: next}
}
