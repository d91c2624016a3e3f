package discovery

import (
	"context"
	"slices"
	"strconv"
)

// hashKey is the context key of WithHashKey.
type hashKey struct{}

// WithHashKey returns a context whose picks by a ConsistentHash balancer go
// to the instance owning key (a user ID, a session, a shard key).
func WithHashKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, hashKey{}, key)
}

// HashKey returns the key set by WithHashKey.
func HashKey(ctx context.Context) (string, bool) {
	k, ok := ctx.Value(hashKey{}).(string)
	return k, ok
}

// maxPointsPerInstance caps the ring points of a heavy instance, as a
// multiple of the virtual nodes of weight 1.
const maxPointsPerInstance = 16

// ringPicker is a consistent-hash ring: each instance owns the arcs ending
// at its points, vnodes × its weight relative to the lightest instance.
type ringPicker struct {
	points []uint64 // sorted
	owners []*endpoint
}

func newRingPicker(eps []*endpoint, vnodes int) *ringPicker {
	minW := eps[0].inst.EffectiveWeight()
	for _, e := range eps {
		minW = min(minW, e.inst.EffectiveWeight())
	}
	type point struct {
		h  uint64
		ep *endpoint
	}
	var pts []point
	for _, e := range eps {
		n := vnodes * min(e.inst.EffectiveWeight()/minW, maxPointsPerInstance)
		for k := range n {
			pts = append(pts, point{hashString(e.inst.ID + "#" + strconv.Itoa(k)), e})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	p := &ringPicker{points: make([]uint64, len(pts)), owners: make([]*endpoint, len(pts))}
	for i, pt := range pts {
		p.points[i], p.owners[i] = pt.h, pt.ep
	}
	return p
}

func (p *ringPicker) pick(ctx context.Context) (*endpoint, error) {
	key, ok := HashKey(ctx)
	if !ok {
		return nil, ErrNoHashKey
	}
	i, _ := slices.BinarySearch(p.points, hashString(key))
	if i == len(p.points) {
		i = 0
	}
	return p.owners[i], nil
}

// hashString is 64-bit FNV-1a followed by a murmur3 finaliser, which FNV
// lacks: ring points of similar names ("a#1", "a#2") must scatter. It is
// computed inline so that hashing a key allocates nothing, and is the same
// in every process, so all clients agree on the ring.
func hashString(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
