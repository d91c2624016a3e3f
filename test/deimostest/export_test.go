package deimostest

// Watchers returns how many watchers are registered (for leak tests).
func (c *Cluster) Watchers() int {
	c.store.mu.Lock()
	defer c.store.mu.Unlock()
	n := 0
	for _, set := range c.store.watchers.byKey {
		n += len(set)
	}
	return n
}
