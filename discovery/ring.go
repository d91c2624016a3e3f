package discovery

import (
	"context"
	"slices"
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

// ownerBits is how many low bits of a packed ring point name its owner;
// the high bits are the point's hash. 2^20 instances is far beyond any
// service, and 44 bits of hash place points finely enough.
const ownerBits = 20

// ringPicker is a consistent-hash ring: each instance owns the arcs ending
// at its points, vnodes × its weight relative to the lightest instance.
// Points are packed (hash << ownerBits | owner) so building the ring is one
// sort of integers.
type ringPicker struct {
	points []uint64 // sorted packed points
	owners []*endpoint
}

func newRingPicker(eps []*endpoint, vnodes int) picker {
	if len(eps) >= 1<<ownerBits {
		return &randomPicker{eps: eps} // unreachable in practice
	}
	minW := eps[0].inst.EffectiveWeight()
	for _, e := range eps {
		minW = min(minW, e.inst.EffectiveWeight())
	}
	total := 0
	for _, e := range eps {
		total += vnodes * min(e.inst.EffectiveWeight()/minW, maxPointsPerInstance)
	}
	points := make([]uint64, 0, total)
	for owner, e := range eps {
		n := vnodes * min(e.inst.EffectiveWeight()/minW, maxPointsPerInstance)
		base := hashString(e.inst.ID)
		for k := range n {
			h := mix64(base + uint64(k+1)*0x9e3779b97f4a7c15)
			points = append(points, h&^(1<<ownerBits-1)|uint64(owner))
		}
	}
	sortPoints(points)
	return &ringPicker{points: points, owners: eps}
}

// sortPoints sorts a ring's points. Rings of large services hold hundreds
// of thousands of points and are rebuilt on every change of the set, so they
// are radix-sorted (eight byte-wide passes, linear time) rather than
// compared.
func sortPoints(points []uint64) {
	if len(points) < 1<<12 {
		slices.Sort(points)
		return
	}
	buf := make([]uint64, len(points))
	src, dst := points, buf
	for shift := uint(0); shift < 64; shift += 8 {
		var counts [257]int
		for _, p := range src {
			counts[(p>>shift)&0xff+1]++
		}
		for i := 1; i < len(counts); i++ {
			counts[i] += counts[i-1]
		}
		for _, p := range src {
			b := (p >> shift) & 0xff
			dst[counts[b]] = p
			counts[b]++
		}
		src, dst = dst, src
	}
	// Eight passes: the sorted points are back in points.
}

func (p *ringPicker) pick(ctx context.Context) (*endpoint, error) {
	key, ok := HashKey(ctx)
	if !ok {
		return nil, ErrNoHashKey
	}
	h := hashString(key) | (1<<ownerBits - 1) // past every owner of its hash
	i, _ := slices.BinarySearch(p.points, h)
	if i == len(p.points) {
		i = 0
	}
	return p.owners[p.points[i]&(1<<ownerBits-1)], nil
}

// hashString is 64-bit FNV-1a followed by a murmur3 finaliser, which FNV
// lacks: keys of similar names ("user-1", "user-2") must scatter. It is
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
	return mix64(h)
}

// mix64 is murmur3's 64-bit finaliser.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
