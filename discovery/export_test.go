package discovery

import "time"

// PublishedCount returns how many snapshots r has published.
func PublishedCount(r *Resolver) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.published
}

// EjectionPeriod returns the ejection period the instance id would get next,
// advancing its backoff as an ejection would.
func EjectionPeriod(b *Balancer, id string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.healths[id]
	if h == nil {
		return 0
	}
	return h.nextPeriod(time.Now(), b.cfg.ejection)
}
