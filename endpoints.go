package deimos

import "time"

// Endpoint is a read-only view of one cluster node as the client sees it.
type Endpoint struct {
	// URL is the node's client URL.
	URL string
	// State is "healthy", "cooldown" (avoided after failures) or "probing"
	// (being checked before it is trusted again).
	State string
	// Score ranks endpoints; lower is better.
	Score float64
	// Latency is the moving average of the node's recent answers.
	Latency time.Duration
	// Failures counts consecutive failed attempts.
	Failures int
	// LastError is the most recent failure, nil if none.
	LastError error
}

// Endpoints reports every endpoint the client knows, with its health, for
// observability. It is empty for a misconfigured client.
func (c *Client) Endpoints() []Endpoint {
	if c.tr == nil {
		return nil
	}
	st := c.tr.Endpoints()
	out := make([]Endpoint, len(st))
	for i, s := range st {
		out[i] = Endpoint{URL: s.URL, State: s.State, Score: s.Score, Latency: s.Latency, Failures: s.Failures, LastError: s.LastError}
	}
	return out
}
