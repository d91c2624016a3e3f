package transport

import (
	"net/url"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/endpoints"
	"github.com/marsevilspirit/deimos-client/internal/wait"
)

// policy is how a call retries: the verdict on each attempt, the pause
// before the next one and the endpoint it goes to. They are function
// values, as go-retryablehttp's CheckRetry, Backoff and PrepareRetry are, so
// behaviour changes by passing a function (Config.RetryBackoff does), not by
// adding flags.
//
// The transport used to run them through go-retryablehttp. Its loop added
// a request wrapper and, for a form body, three allocations per request, ran
// CheckRetry twice per answer, and closed idle connections after every
// failure, while each of its callbacks had to find the call in the request's
// context; the request path now runs its own loop (call.run) on the same
// policies.
type policy struct {
	// judge is the verdict on an attempt (see verdict).
	judge func(Class, attemptOutcome) (retry, sent bool, err error)
	// delay is the pause before the call's next attempt.
	delay func(c *call) time.Duration
	// next picks the endpoint of the next attempt, other than the last
	// one when there is a choice.
	next func(set *endpoints.Set, last *endpoints.Endpoint) *endpoints.Endpoint
}

func newPolicy(cfg Config) policy {
	p := policy{judge: verdict, delay: defaultDelay, next: (*endpoints.Set).Pick}
	if f := cfg.RetryBackoff; f != nil {
		p.delay = func(c *call) time.Duration { return f(c.tries) }
	}
	return p
}

// logURL is what logs show of a request URL: endpoint and path, clipped, and
// never the query, which can carry compared values of any size.
func logURL(u *url.URL) string {
	return clip(u.Scheme + "://" + u.Host + u.EscapedPath())
}

// Bounds of the default pause between retries (see call.pause).
const (
	retryWaitMin = 25 * time.Millisecond
	retryWaitMax = time.Second
)

// pause waits before the call's next attempt. The first retry goes to
// another endpoint at once (the failed one is usually just dead); later ones
// back off exponentially with jitter (internal/wait), so a cluster without
// quorum is not hammered and clients do not retry in lockstep.
// Config.RetryBackoff replaces the default (policy.delay). It returns the caller's context
// error, or ErrClosed, if either ends the wait.
func (c *call) pause() error {
	d := c.t.policy.delay(c)
	if !c.opDeadline.IsZero() {
		d = min(d, time.Until(c.opDeadline))
	}
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-c.t.ctx.Done():
		return ErrClosed
	}
}

// defaultDelay is the pause before retry number c.tries (from 0): none for
// the first, then a jittered exponential backoff.
func defaultDelay(c *call) time.Duration {
	if c.tries == 0 {
		return 0
	}
	if c.backoff == nil {
		c.backoff = wait.NewBackoff(retryWaitMin, retryWaitMax)
	}
	return c.backoff.NextBackOff()
}
