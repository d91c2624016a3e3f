package discovery

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkRebuild measures building a picker for a new instance set, which
// happens on every published snapshot, ejection and return.
func BenchmarkRebuild(b *testing.B) {
	for _, n := range []int{100, 1000} {
		bal := &Balancer{cfg: balancerConfig{ejection: DefaultEjection, vnodes: DefaultVirtualNodes}}
		weights := make([]int, n)
		for i := range weights {
			weights[i] = 1 + i%4
		}
		eps := testEndpoints(bal, weights...)
		var cursor atomic.Uint64
		b.Run(fmt.Sprintf("weighted-round-robin/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				newWeightedPicker(eps, &cursor)
			}
		})
		b.Run(fmt.Sprintf("consistent-hash/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				newRingPicker(eps, DefaultVirtualNodes)
			}
		})
	}
}
