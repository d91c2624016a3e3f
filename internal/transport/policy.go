package transport

import (
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// buildRetryClient wires the transport's policies into go-retryablehttp:
// checkRetry decides by request class, prepareRetry moves to the next
// endpoint, backoff spaces the attempts. Its own logger is off (nil) so it
// never prints; with a Logger the request and response hooks log via slog.
func (t *Transport) buildRetryClient() *retryablehttp.Client {
	rc := &retryablehttp.Client{
		HTTPClient:   t.hc,
		Logger:       nil,
		RetryWaitMin: 25 * time.Millisecond,
		RetryWaitMax: time.Second,
		// The context bounds safe retries; checkRetry bounds unsafe ones.
		RetryMax:     math.MaxInt32,
		CheckRetry:   t.checkRetry,
		Backoff:      t.backoff,
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

// backoff is retryablehttp's Backoff. The first retry goes to another
// endpoint at once (the failed one is usually just dead); later ones back off
// exponentially with jitter, so a cluster without quorum is not hammered.
func (t *Transport) backoff(lo, hi time.Duration, attempt int, _ *http.Response) time.Duration {
	if t.cfg.RetryBackoff != nil {
		return t.cfg.RetryBackoff(attempt)
	}
	if attempt == 0 {
		return 0
	}
	d := hi
	if shift := attempt - 1; shift < 16 {
		d = min(lo<<shift, hi)
	}
	// Equal jitter: [d/2, d].
	return d/2 + rand.N(d/2+1)
}
