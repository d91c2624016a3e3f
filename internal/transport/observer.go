package transport

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/observe"
)

// observer turns what the transport does into hook calls and log lines. A
// transport without hooks and logger has none, and every call site checks
// that first: an unobserved request pays a nil check per event, nothing more.
type observer struct {
	hooks  []observe.Hooks // the non-empty ones, in the order given
	ops    bool            // some hook watches operations or attempts
	logger *slog.Logger
	set    *endpoints.Set

	mu         sync.Mutex // orders the all-failing transitions
	allFailing bool       // guarded by mu
}

func newObserver(hooks []observe.Hooks, logger *slog.Logger) *observer {
	o := &observer{logger: logger}
	for _, h := range hooks {
		if h.Empty() {
			continue
		}
		o.hooks = append(o.hooks, h)
		o.ops = o.ops || h.OperationStart != nil || h.OperationEnd != nil ||
			h.AttemptStart != nil || h.AttemptEnd != nil
	}
	if len(o.hooks) == 0 && logger == nil {
		return nil
	}
	return o
}

// endpointChanged is the endpoint set's OnChange: it logs transitions (a
// cool-down as a warning, a return to rotation as info, and the moments
// every endpoint is failing and one is back) and calls the hooks.
func (o *observer) endpointChanged(ch endpoints.Change) {
	healthy, total := o.allFailingTransition()
	if l := o.logger; l != nil {
		switch {
		case ch.From == endpoints.Healthy && ch.To == endpoints.Cooldown:
			l.Warn("deimos endpoint out of rotation", "endpoint", ch.URL, "cooldown", ch.Cooldown, "error", ch.Err)
		case ch.To == endpoints.Cooldown:
			l.Debug("deimos endpoint probe failed", "endpoint", ch.URL, "cooldown", ch.Cooldown, "error", ch.Err)
		case ch.To == endpoints.Probing:
			l.Debug("deimos endpoint probing", "endpoint", ch.URL)
		case ch.To == endpoints.Healthy:
			l.Info("deimos endpoint back in rotation", "endpoint", ch.URL, "was", ch.From.String())
		}
	}
	if len(o.hooks) == 0 {
		return
	}
	ev := observe.EndpointChange{
		Endpoint: ch.URL, From: endpointState(ch.From), To: endpointState(ch.To),
		Err: ch.Err, Cooldown: ch.Cooldown, Healthy: healthy, Total: total,
	}
	for _, h := range o.hooks {
		if h.EndpointState != nil {
			h.EndpointState(ev)
		}
	}
}

// allFailingTransition counts the healthy endpoints and logs when that count
// reaches or leaves zero. The count is taken under o.mu, so concurrent changes
// cannot log their transitions out of order.
func (o *observer) allFailingTransition() (healthy, total int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	healthy, total = o.set.Health()
	failing := healthy == 0
	if failing == o.allFailing {
		return healthy, total
	}
	o.allFailing = failing
	if o.logger != nil {
		if failing {
			o.logger.Warn("deimos all endpoints failing", "endpoints", total)
		} else {
			o.logger.Info("deimos cluster reachable again", "healthy", healthy, "endpoints", total)
		}
	}
	return healthy, total
}

func endpointState(s endpoints.State) observe.EndpointState {
	switch s {
	case endpoints.Cooldown:
		return observe.CoolingDown
	case endpoints.Probing:
		return observe.Probing
	}
	return observe.Healthy
}

// membership reports a change of the endpoint list; initial says it is the
// list the transport starts with, which is not logged.
func (o *observer) membership(d endpoints.Diff, initial bool) {
	if !d.Changed() {
		return
	}
	all := o.set.URLs()
	if o.logger != nil && !initial {
		o.logger.Info("deimos membership changed", "added", d.Added, "removed", d.Removed,
			"endpoints", len(all), "skipped", d.Skipped)
	}
	ev := observe.MembershipChange{Added: d.Added, Removed: d.Removed, Endpoints: all}
	for _, h := range o.hooks {
		if h.Membership != nil {
			h.Membership(ev)
		}
	}
}

// retrying logs, at debug level, that a failed attempt is tried again.
func (o *observer) retrying(c *call, err error) {
	if o.logger == nil {
		return
	}
	o.logger.Debug("deimos retry", "op", c.req.Op, "key", clip(c.req.Key), "endpoint", c.ep.URL(),
		"attempt", c.tries+1, "error", err)
}

// outcomeOf classifies the error Do returns; callerDone says the caller's
// context had ended.
func outcomeOf(err error, callerDone bool) observe.Outcome {
	if err == nil {
		return observe.OK // before the errors.As targets, which escape
	}
	var se *Error
	if errors.As(err, &se) {
		return observe.ServerError
	}
	if errors.Is(err, ErrUnknownOutcome) {
		return observe.UnknownOutcome
	}
	var ce *ClusterError
	isCluster := errors.As(err, &ce)
	switch {
	case isCluster && len(ce.Endpoints) > 0:
		return observe.Unavailable
	case callerDone || errors.Is(err, ErrClosed):
		return observe.Canceled
	case isCluster:
		return observe.Unavailable // attempts ran out
	}
	return observe.Failed
}

func kindOf(c Class) observe.Kind {
	switch c {
	case Unsafe:
		return observe.Write
	case LongPoll:
		return observe.Watch
	}
	return observe.Read
}
