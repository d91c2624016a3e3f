package transport

import (
	"context"
	"net/http"
	"strings"
	"time"
)

var machinesRequest = Request{Op: "sync", Method: http.MethodGet, Path: "/machines", Class: Safe}

// Sync refreshes the endpoint set from GET /machines.
// An empty member list (a brand-new cluster answers so until its members
// published themselves) is ignored; an unusable one is ignored and reported.
// Either way the set keeps its endpoints, and seeds are never dropped.
func (t *Transport) Sync(ctx context.Context) error {
	var body []byte
	resp, err := t.Do(ctx, &machinesRequest, &body)
	if err != nil {
		return err
	}
	urls := parseMachines(string(body))
	if len(urls) == 0 {
		return nil
	}
	d, err := t.set.Update(urls)
	if err != nil {
		return &ResponseError{
			Op: "sync", Endpoint: resp.Endpoint, StatusCode: resp.StatusCode,
			Snippet: clip(string(body)), Kind: ErrMalformedResponse, Err: err,
		}
	}
	if t.obs != nil {
		t.obs.membership(d, false)
	}
	return nil
}

// parseMachines splits the plain-text member list ("u1, u2, u3").
func parseMachines(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// autoSync refreshes the member list at start and then every
// AutoSyncInterval until Close.
func (t *Transport) autoSync() {
	tick := time.NewTicker(t.cfg.AutoSyncInterval)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(t.ctx, max(t.cfg.AutoSyncInterval, 2*t.cfg.RequestTimeout))
		err := t.Sync(ctx)
		cancel()
		if err != nil && t.cfg.Logger != nil && t.ctx.Err() == nil {
			t.cfg.Logger.Debug("deimos auto-sync failed", "error", err)
		}
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
	}
}
