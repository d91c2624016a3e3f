package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/kv"
)

// healthKey is read to check a node: a GET goes through the cluster's
// consensus, so an answer, even "key not found", means the node and a quorum
// behind it work. Hidden (leading "_"), so it never shows in listings.
const healthKey = "/_deimosctl/health"

// jsonHealth is the stable JSON form of endpoint health.
type jsonHealth struct {
	Healthy   bool                 `json:"healthy"`
	Quorum    int                  `json:"quorum"`
	Count     int                  `json:"healthyCount"`
	Endpoints []jsonEndpointHealth `json:"endpoints"`
}

type jsonEndpointHealth struct {
	Endpoint  string  `json:"endpoint"`
	Healthy   bool    `json:"healthy"`
	LatencyMs float64 `json:"latencyMs"`
	Error     string  `json:"error,omitempty"`
}

func (a *app) endpointCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoint",
		Short: "Check the cluster's nodes",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.healthCommand())
	return cmd
}

func (a *app) healthCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "Check that each node answers a read",
		Long: `Send one read to each node the client knows (--endpoints and, unless
--no-sync, the members of /machines), all at once, each alone and within
--timeout. A node is healthy when it answers; reads go through the cluster's
consensus, so a node cut off from a quorum is not. LATENCY is the time of that
read, connection set-up included.

Exit code: 0 only if a majority (more than half) of the nodes checked is
healthy, the quorum the cluster itself needs; 6 otherwise.

Table: ENDPOINT HEALTHY LATENCY ERROR, then a summary line.
JSON: {"healthy", "quorum", "healthyCount", "endpoints": [{"endpoint",
"healthy", "latencyMs", "error"}]}; "error" is absent for healthy nodes.`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			return a.health(cmd.Context())
		}),
	}
}

func (a *app) health(ctx context.Context) error {
	ctx, cancel := a.commandContext(ctx)
	defer cancel()
	urls, err := a.knownEndpoints(ctx)
	if err != nil {
		return err
	}
	results := make([]jsonEndpointHealth, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = a.checkEndpoint(ctx, u)
		}()
	}
	wg.Wait()
	h := jsonHealth{Quorum: len(urls)/2 + 1, Endpoints: results}
	for _, r := range results {
		if r.Healthy {
			h.Count++
		}
	}
	h.Healthy = h.Count >= h.Quorum
	if err := a.printHealth(h); err != nil {
		return err
	}
	if !h.Healthy {
		return exitStatus{code: exitUnavailable, msg: fmt.Sprintf("%d of %d nodes healthy; a quorum needs %d", h.Count, len(urls), h.Quorum)}
	}
	return nil
}

// knownEndpoints returns the configured endpoints and, unless --no-sync,
// the members the cluster lists, sorted. A failed sync leaves the
// configured ones, which the checks then report.
func (a *app) knownEndpoints(ctx context.Context) ([]string, error) {
	opts, err := a.flags.clientOptions(a.flags.endpointList())
	if err != nil {
		return nil, err
	}
	c := deimos.New(opts...)
	defer c.Close()
	if !a.flags.noSync {
		if err := c.Sync(ctx); errors.Is(err, deimos.ErrInvalidConfig) {
			return nil, err
		}
	}
	var urls []string
	for _, e := range c.Endpoints() {
		urls = append(urls, e.URL)
	}
	if len(urls) == 0 { // only for a configuration the SDK refused
		_, err := c.Get(ctx, healthKey)
		return nil, err
	}
	slices.Sort(urls)
	return urls, nil
}

// checkEndpoint reads healthKey from u alone.
func (a *app) checkEndpoint(ctx context.Context, u string) jsonEndpointHealth {
	r := jsonEndpointHealth{Endpoint: u}
	opts, err := a.flags.clientOptions([]string{u})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	c := deimos.New(append(opts, deimos.WithoutHedging())...)
	defer c.Close()
	began := time.Now()
	_, err = c.Get(ctx, healthKey)
	r.LatencyMs = float64(time.Since(began).Microseconds()) / 1000
	if err == nil || errors.Is(err, deimos.ErrKeyNotFound) {
		r.Healthy = true
		return r
	}
	r.Error = endpointError(err, u)
	return r
}

// endpointError is the node's own last error when the SDK gave up on it,
// rather than the whole request's story, without the request and the node
// the table already names.
func endpointError(err error, u string) string {
	var ce *kv.ClusterError
	if errors.As(err, &ce) && len(ce.Endpoints) > 0 {
		if last := ce.Endpoints[len(ce.Endpoints)-1].Err; last != nil {
			err = last
		}
	}
	return strings.TrimPrefix(err.Error(), "deimos: get "+healthKey+" on "+u+": ")
}

func (a *app) printHealth(h jsonHealth) error {
	p := a.printer()
	if p.json {
		return p.object(h)
	}
	tw := p.table()
	fmt.Fprintln(tw, "ENDPOINT\tHEALTHY\tLATENCY\tERROR")
	for _, r := range h.Endpoints {
		latency := "-"
		if r.Healthy {
			latency = (time.Duration(r.LatencyMs*1000) * time.Microsecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Endpoint, yesNo(r.Healthy), latency, strings.ReplaceAll(r.Error, "\n", " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "healthy"
	if !h.Healthy {
		verdict = "unhealthy"
	}
	_, err := fmt.Fprintf(p.w, "%d of %d nodes healthy, quorum %d: cluster %s\n", h.Count, len(h.Endpoints), h.Quorum, verdict)
	return err
}
