package endpoints

import (
	"slices"
	"time"
)

// latencyWindow keeps the most recent answer latencies of one endpoint and
// serves a high percentile of them, which is the delay after which a read to
// that endpoint is hedged. The percentile is recomputed only every few samples
// so the hot path stays a ring-buffer store.
type latencyWindow struct {
	samples [windowSize]time.Duration
	n       int // samples stored, at most windowSize
	next    int // ring position of the next sample
	stale   int // samples added since pct was computed
	pct     time.Duration
}

const (
	windowSize    = 64
	recomputeEach = 8
	percentile    = 0.95
)

func (w *latencyWindow) add(d time.Duration) {
	w.samples[w.next] = d
	w.next = (w.next + 1) % windowSize
	if w.n < windowSize {
		w.n++
	}
	w.stale++
}

// quantile returns the windowed high percentile, or 0 with no samples.
func (w *latencyWindow) quantile() time.Duration {
	if w.n == 0 {
		return 0
	}
	if w.stale > 0 && (w.stale >= recomputeEach || w.n < windowSize) {
		var buf [windowSize]time.Duration
		s := buf[:w.n]
		copy(s, w.samples[:w.n])
		slices.Sort(s)
		i := int(float64(w.n-1) * percentile)
		w.pct = s[i]
		w.stale = 0
	}
	return w.pct
}
