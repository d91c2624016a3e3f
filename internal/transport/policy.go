package transport

import (
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/marsevilspirit/deimos-client/internal/wait"
)

// buildRetryClient wires the transport's policies into go-retryablehttp:
// checkRetry asks the verdict, prepareRetry pauses (see call.pause) and
// moves to the next endpoint. Its own logger is off (nil) so it
// never prints; with a Logger the request and response hooks log via slog.
func (t *Transport) buildRetryClient() *retryablehttp.Client {
	rc := &retryablehttp.Client{
		HTTPClient:   t.hc,
		Logger:       nil,
		RetryWaitMin: retryWaitMin,
		RetryWaitMax: retryWaitMax,
		// The context bounds safe retries; checkRetry bounds unsafe ones.
		RetryMax:     math.MaxInt32,
		CheckRetry:   t.checkRetry,
		Backoff:      noWait,
		PrepareRetry: t.prepareRetry,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	if l := t.cfg.Logger; l != nil {
		rc.RequestLogHook = func(_ retryablehttp.Logger, req *http.Request, attempt int) {
			l.Debug("deimos request", "method", req.Method, "url", logURL(req.URL), "attempt", attempt+1)
		}
		rc.ResponseLogHook = func(_ retryablehttp.Logger, resp *http.Response) {
			l.Debug("deimos response", "method", resp.Request.Method, "url", logURL(resp.Request.URL), "status", resp.StatusCode)
		}
	}
	return rc
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

// noWait is retryablehttp's Backoff: the pause between attempts belongs to
// the call (prepareRetry waits it), where the call's own jittered backoff
// and the transport's closing can end it.
func noWait(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }

// pause waits before the call's next attempt. The first retry goes to
// another endpoint at once (the failed one is usually just dead); later ones
// back off exponentially with jitter (internal/wait), so a cluster without
// quorum is not hammered and clients do not retry in lockstep.
// Config.RetryBackoff replaces the default. It returns the caller's context
// error, or ErrClosed, if either ends the wait.
func (c *call) pause() error {
	d := c.retryDelay()
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
	case <-c.Done():
		return c.Err()
	case <-c.t.ctx.Done():
		return ErrClosed
	}
}

// retryDelay is the pause before retry number c.tries (from 0).
func (c *call) retryDelay() time.Duration {
	if f := c.t.cfg.RetryBackoff; f != nil {
		return f(c.tries)
	}
	if c.tries == 0 {
		return 0
	}
	if c.backoff == nil {
		c.backoff = wait.NewBackoff(retryWaitMin, retryWaitMax)
	}
	return c.backoff.NextBackOff()
}
