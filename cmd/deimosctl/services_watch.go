package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/marsevilspirit/deimos-client/discovery"
)

func (a *app) servicesWatchCommand(f *servicesFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "watch <service>",
		Short: "Print the instances of a service as they change, until interrupted",
		Long: `Follow service with a resolver, as a client of the service does, and print
what changes until SIGINT or SIGTERM (exit 0). Heartbeats (the TTL refreshes
of registered instances) change nothing and print nothing. While the cluster
cannot be reached the last known instances are kept and the output says it
is stale; an instance whose TTL ran out is removed even if the server reaps
it late. --timeout bounds reaching the cluster at start.

Table: one line per change: INDEX followed by
  + ID ADDR STATE [weight=N]   an instance appeared
  ~ ID ADDR STATE [weight=N]   an instance changed (address, state, weight...)
  - ID                         an instance left
  stale: ERROR / fresh         the resolver lost or regained the cluster
  emptied                      every instance left at once
JSON: one snapshot object (see "services ls --help") per change, with
"stale", "emptied" and "error" when they apply.`,
		Args: cobra.ExactArgs(1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			l, err := f.layout(cmd)
			if err != nil {
				return err
			}
			return a.watchService(cmd.Context(), l, args[0])
		}),
	}
}

func (a *app) watchService(ctx context.Context, l discovery.Layout, service string) error {
	cctx, cancel := a.connectContext(ctx)
	c, err := a.connect(cctx)
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := discovery.NewResolver(ctx, c, service, discovery.WithLayout(l), discovery.WithListTimeout(a.flags.attemptTimeout()))
	if err != nil {
		return layoutInput(err)
	}
	defer r.Close()
	p := a.printer()
	var prev *discovery.Snapshot
	for s := range r.Updates() { // the first: the first listing, or why it failed
		if err := p.snapshotChange(prev, s); err != nil {
			return err
		}
		prev = &s
	}
	return r.Err()
}

// snapshotChange prints what s changes after prev (nil: the first).
func (p *printer) snapshotChange(prev *discovery.Snapshot, s discovery.Snapshot) error {
	if p.json {
		return p.object(snapshotOf(s))
	}
	var lines []string
	was := discovery.Snapshot{}
	if prev != nil {
		was = *prev
	}
	if s.Stale != was.Stale {
		if s.Stale {
			lines = append(lines, fmt.Sprintf("stale: %v", s.Err))
		} else {
			lines = append(lines, "fresh")
		}
	}
	for _, inst := range s.Instances {
		old, ok := was.Lookup(inst.ID)
		switch {
		case !ok:
			lines = append(lines, "+ "+describe(inst))
		case !old.Equal(inst):
			lines = append(lines, "~ "+describe(inst))
		}
	}
	for _, old := range was.Instances {
		if _, ok := s.Lookup(old.ID); !ok {
			lines = append(lines, "- "+old.ID)
		}
	}
	if s.Emptied && !was.Emptied {
		lines = append(lines, "emptied")
	}
	for _, line := range lines {
		if _, err := fmt.Fprintf(p.w, "%-8d %s\n", s.Index, line); err != nil {
			return err
		}
	}
	return nil
}

// describe is an instance's line in a watch.
func describe(inst discovery.Instance) string {
	parts := []string{inst.ID, inst.Addr, inst.State.String()}
	if inst.Weight > 0 {
		parts = append(parts, fmt.Sprintf("weight=%d", inst.Weight))
	}
	if inst.Version != "" {
		parts = append(parts, "version="+inst.Version)
	}
	if len(inst.Metadata) > 0 {
		parts = append(parts, metadataCell(inst.Metadata))
	}
	return strings.Join(parts, " ")
}
