package discovery

import (
	"fmt"
	"log/slog"
	"time"
)

// Strategy is how a Balancer picks among the pickable instances.
type Strategy int

// Strategies.
const (
	// RoundRobin cycles through the instances in ID order.
	RoundRobin Strategy = iota + 1
	// Random picks uniformly at random.
	Random
	// WeightedRoundRobin is nginx's smooth weighted round robin: each
	// instance gets its Weight's share, interleaved rather than in bursts.
	WeightedRoundRobin
	// PowerOfTwoChoices draws two instances at random and picks the one with
	// the lower load: an EWMA of its latency times its calls in flight.
	PowerOfTwoChoices
	// ConsistentHash maps the key given by WithHashKey to an instance on a
	// hash ring with virtual nodes, so a key keeps its instance while the
	// set changes around it (adding one of N instances moves about 1/N of
	// the keys).
	ConsistentHash
)

// String returns the strategy's name.
func (s Strategy) String() string {
	switch s {
	case RoundRobin:
		return "round-robin"
	case Random:
		return "random"
	case WeightedRoundRobin:
		return "weighted-round-robin"
	case PowerOfTwoChoices:
		return "p2c"
	case ConsistentHash:
		return "consistent-hash"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// Ejection is the outlier-ejection policy of a Balancer: an instance whose
// calls fail Errors times in a row, within Window, stops being picked for an
// ejection period that starts at BaseDuration and doubles (with jitter) up to
// MaxDuration each time it is ejected again; it is forgiven once it stays
// in for MaxDuration. No more than MaxFraction of the instances are ejected
// at once, so a failure on the caller's side cannot empty the balancer. Zero
// fields take the defaults of DefaultEjection.
type Ejection struct {
	Errors       int
	Window       time.Duration
	BaseDuration time.Duration
	MaxDuration  time.Duration
	MaxFraction  float64
}

// DefaultEjection is the ejection policy of a Balancer without WithEjection:
// 2 errors in a row within 30 s eject an instance for 10 s, then 20 s, ...
// up to 5 minutes, never more than half of the instances at once.
var DefaultEjection = Ejection{
	Errors:       2,
	Window:       30 * time.Second,
	BaseDuration: 10 * time.Second,
	MaxDuration:  5 * time.Minute,
	MaxFraction:  0.5,
}

func (e Ejection) withDefaults() (Ejection, error) {
	d := DefaultEjection
	if e.Errors != 0 {
		d.Errors = e.Errors
	}
	if e.Window != 0 {
		d.Window = e.Window
	}
	if e.BaseDuration != 0 {
		d.BaseDuration = e.BaseDuration
	}
	if e.MaxDuration != 0 {
		d.MaxDuration = e.MaxDuration
	}
	if e.MaxFraction != 0 {
		d.MaxFraction = e.MaxFraction
	}
	switch {
	case d.Errors < 1 || d.Window <= 0 || d.BaseDuration <= 0:
		return d, fmt.Errorf("%w: ejection needs Errors >= 1 and positive Window and BaseDuration", ErrInvalidOption)
	case d.MaxDuration < d.BaseDuration:
		return d, fmt.Errorf("%w: ejection MaxDuration %v below BaseDuration %v", ErrInvalidOption, d.MaxDuration, d.BaseDuration)
	case d.MaxFraction < 0 || d.MaxFraction > 1:
		return d, fmt.Errorf("%w: ejection MaxFraction %v outside [0, 1]", ErrInvalidOption, d.MaxFraction)
	}
	return d, nil
}

// DefaultVirtualNodes is the number of ring points per instance of weight 1
// for ConsistentHash.
const DefaultVirtualNodes = 160

// BalancerOption configures NewBalancer.
type BalancerOption interface{ applyBalancer(*balancerConfig) }

type balancerConfig struct {
	ejection Ejection
	eject    bool
	vnodes   int
	logger   *slog.Logger
	err      error
}

type balancerOptionFunc func(*balancerConfig)

func (f balancerOptionFunc) applyBalancer(c *balancerConfig) { f(c) }

// WithEjection sets the outlier-ejection policy (default DefaultEjection).
func WithEjection(e Ejection) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) {
		full, err := e.withDefaults()
		if err != nil && c.err == nil {
			c.err = err
		}
		c.ejection, c.eject = full, true
	})
}

// WithoutEjection turns outlier ejection off: outcomes passed to done only
// feed PowerOfTwoChoices' latency.
func WithoutEjection() BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.eject = false })
}

// WithVirtualNodes sets the ring points per instance of weight 1 for
// ConsistentHash (default DefaultVirtualNodes). More points spread keys more
// evenly and cost memory and rebuild time.
func WithVirtualNodes(n int) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) {
		if n < 1 && c.err == nil {
			c.err = fmt.Errorf("%w: %d virtual nodes (want at least 1)", ErrInvalidOption, n)
		}
		c.vnodes = n
	})
}

func (o LoggerOption) applyBalancer(c *balancerConfig) { c.logger = o.logger }
