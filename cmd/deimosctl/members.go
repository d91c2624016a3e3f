package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	deimos "github.com/marsevilspirit/deimos-client"
)

// jsonMember is the stable JSON form of one member.
type jsonMember struct {
	URL        string `json:"url"`
	Configured bool   `json:"configured"`
}

func (a *app) membersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "members",
		Short: "List the cluster's members",
		Long: `List the client URLs of the cluster's members: the cluster's /machines list
(which also names members that are down) together with --endpoints, which
the client never forgets. CONFIGURED says whether a URL was given in
--endpoints; an endpoint spelled differently from the member's own URL (a
host name for an address) appears twice. Use "endpoint health" to see which
members answer.

Table: URL CONFIGURED.
JSON: {"members": [{"url", "configured"}]}, sorted by URL.`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			members, err := a.members(cmd.Context())
			if err != nil {
				return err
			}
			p := a.printer()
			if p.json {
				return p.object(struct {
					Members []jsonMember `json:"members"`
				}{members})
			}
			tw := p.table()
			fmt.Fprintln(tw, "URL\tCONFIGURED")
			for _, m := range members {
				fmt.Fprintf(tw, "%s\t%s\n", m.URL, yesNo(m.Configured))
			}
			return tw.Flush()
		}),
	}
}

// members asks the cluster for its member list (even with --no-sync: that
// is the command's point) and returns it sorted by URL.
func (a *app) members(ctx context.Context) ([]jsonMember, error) {
	ctx, cancel := a.commandContext(ctx)
	defer cancel()
	opts, err := a.flags.clientOptions(a.flags.endpointList())
	if err != nil {
		return nil, err
	}
	c, err := deimos.Connect(ctx, opts...)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	configured := a.configuredURLs()
	var out []jsonMember
	for _, e := range c.Endpoints() {
		out = append(out, jsonMember{URL: e.URL, Configured: slices.Contains(configured, e.URL)})
	}
	slices.SortFunc(out, func(x, y jsonMember) int { return strings.Compare(x.URL, y.URL) })
	return out, nil
}

// configuredURLs returns --endpoints in the client's canonical spelling
// (lower-case scheme and host, no trailing slash), as the SDK reports it for
// a client that has sent nothing.
func (a *app) configuredURLs() []string {
	var out []string
	for _, e := range a.flags.endpointList() {
		c := deimos.New(deimos.WithEndpoints(e))
		for _, ep := range c.Endpoints() {
			out = append(out, ep.URL)
		}
		c.Close()
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
