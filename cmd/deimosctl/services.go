package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/discovery"
)

// servicesFlags select the registry layout the services commands read.
type servicesFlags struct {
	namespace  string
	phobosBase string
}

func (a *app) servicesCommand() *cobra.Command {
	var f servicesFlags
	cmd := &cobra.Command{
		Use:   "services",
		Short: "List and follow the instances registered for service discovery",
		Long: `Read the service registry that package discovery of the Go SDK writes
(discovery.Register) and reads (discovery.NewResolver): by default versioned
JSON values under /<namespace>/services/<service>/<id>; with --phobos-base,
the keys <base>/<service>/<network@address> of the Phobos RPC framework.

Instances whose TTL ran out are not shown, even before the server reaps them
(which it does seconds late). Draining instances are shown with the state
"draining": they are still registered but get no new calls.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.namespace, "namespace", discovery.DefaultNamespace, "namespace of the default layout (/<namespace>/services/...)")
	pf.StringVar(&f.phobosBase, "phobos-base", "", "read the Phobos layout under this base path (e.g. /mrpc_example) instead")
	cmd.AddCommand(a.servicesLsCommand(&f), a.servicesGetCommand(&f), a.servicesWatchCommand(&f))
	return cmd
}

// layout returns the layout the flags select.
func (f *servicesFlags) layout(cmd *cobra.Command) (discovery.Layout, error) {
	if f.phobosBase == "" {
		return discovery.JSONLayout(f.namespace), nil
	}
	if cmd.Flags().Changed("namespace") {
		return nil, usageError{errors.New("--namespace and --phobos-base select different layouts: give one")}
	}
	return discovery.PhobosLayout(f.phobosBase), nil
}

func (a *app) servicesLsCommand(f *servicesFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "ls [service]",
		Short: "List the registered services, or the instances of one",
		Long: `Without a service, list the services that have instances registered, with
how many are registered and how many take calls (not draining). With a
service, list its instances, sorted by ID.

Table: SERVICE INSTANCES UP, or ID ADDR VERSION WEIGHT STATE METADATA.
JSON: {"services": [{"service", "instances", "up"}]}, or one snapshot
{"service", "index", "instances": [instance]} where an instance is
{"id", "addr", "version", "weight", "state", "metadata"} ("weight" is 1 when
unset; "version" and "metadata" only when set).`,
		Args: cobra.RangeArgs(0, 1),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			l, err := f.layout(cmd)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return a.listServices(cmd.Context(), l)
			}
			return a.oneShot(cmd.Context(), func(ctx context.Context, c *deimos.Client) error {
				s, err := a.resolveOnce(ctx, c, l, args[0])
				if err != nil {
					return err
				}
				return a.printer().instances(s)
			})
		}),
	}
}

func (a *app) servicesGetCommand(f *servicesFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get <service> <id>",
		Short: "Show one instance of a service",
		Long: `Show the instance id of service (exit 3 when it is not registered, or its
TTL ran out).

Table: one "FIELD  value" line each for SERVICE, ID, ADDR, VERSION, WEIGHT,
STATE, METADATA and KEY.
JSON: the instance object of "services ls", with "service" and "key".`,
		Args: cobra.ExactArgs(2),
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			l, err := f.layout(cmd)
			if err != nil {
				return err
			}
			return a.oneShot(cmd.Context(), func(ctx context.Context, c *deimos.Client) error {
				s, err := a.resolveOnce(ctx, c, l, args[0])
				if err != nil {
					return err
				}
				inst, ok := s.Lookup(args[1])
				if !ok {
					return fmt.Errorf("services get %s %s: no such instance: %w", args[0], args[1], deimos.ErrKeyNotFound)
				}
				key, err := l.Key(inst)
				if err != nil {
					return err
				}
				return a.printer().instance(inst, key)
			})
		}),
	}
}

// resolveOnce lists service through a resolver, as a client would see it.
func (a *app) resolveOnce(ctx context.Context, c *deimos.Client, l discovery.Layout, service string) (discovery.Snapshot, error) {
	r, err := discovery.NewResolver(ctx, c, service, discovery.WithLayout(l),
		discovery.WithRequireFirstList(), discovery.WithListTimeout(a.flags.attemptTimeout()))
	if err != nil {
		return discovery.Snapshot{}, layoutInput(err)
	}
	defer r.Close()
	return r.Snapshot(), nil
}

// layoutInput marks the layout's refusal of a name as bad input.
func layoutInput(err error) error {
	if errors.Is(err, discovery.ErrInvalidInstance) {
		return usageError{err}
	}
	return err
}

// serviceCount is one row of "services ls".
type serviceCount struct {
	Service   string `json:"service"`
	Instances int    `json:"instances"`
	Up        int    `json:"up"`
}

// listServices reads the registry's root once and counts the live instances
// of each service in it.
func (a *app) listServices(ctx context.Context, l discovery.Layout) error {
	root, err := registryRoot(l)
	if err != nil {
		return err
	}
	return a.oneShot(ctx, func(ctx context.Context, c *deimos.Client) error {
		resp, err := c.Get(ctx, root, deimos.WithRecursive())
		var counts []serviceCount
		switch {
		case errors.Is(err, deimos.ErrKeyNotFound): // nothing registered yet
		case err != nil:
			return err
		default:
			counts = countInstances(l, resp.Node, time.Now())
		}
		return a.printer().services(counts)
	})
}

// registryRoot is the directory holding one directory per service.
func registryRoot(l discovery.Layout) (string, error) {
	dir, err := l.Dir("x")
	if err != nil {
		return "", layoutInput(err)
	}
	return path.Dir(dir), nil
}

// countInstances counts the instances below root that l can decode and
// whose TTL has not run out, by service.
func countInstances(l discovery.Layout, root *deimos.Node, now time.Time) []serviceCount {
	by := map[string]*serviceCount{}
	var walk func(n *deimos.Node)
	walk = func(n *deimos.Node) {
		for _, child := range n.Nodes {
			walk(child)
		}
		if n.Dir || n.Expired(now) {
			return
		}
		inst, err := l.Decode(n.Key, n.Value)
		if err != nil {
			return
		}
		sc := by[inst.Service]
		if sc == nil {
			sc = &serviceCount{Service: inst.Service}
			by[inst.Service] = sc
		}
		sc.Instances++
		if inst.State == discovery.StateUp {
			sc.Up++
		}
	}
	walk(root)
	out := make([]serviceCount, 0, len(by))
	for _, sc := range by {
		out = append(out, *sc)
	}
	slices.SortFunc(out, func(x, y serviceCount) int { return strings.Compare(x.Service, y.Service) })
	return out
}

// jsonInstance is the stable JSON form of an instance.
type jsonInstance struct {
	Service  string            `json:"service,omitempty"`
	ID       string            `json:"id"`
	Addr     string            `json:"addr"`
	Version  string            `json:"version,omitempty"`
	Weight   int               `json:"weight"`
	State    string            `json:"state"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Key      string            `json:"key,omitempty"`
}

func instanceOf(inst discovery.Instance) jsonInstance {
	return jsonInstance{
		ID: inst.ID, Addr: inst.Addr, Version: inst.Version, Weight: inst.EffectiveWeight(),
		State: inst.State.String(), Metadata: inst.Metadata,
	}
}

// jsonSnapshot is the stable JSON form of a resolver's snapshot.
type jsonSnapshot struct {
	Service   string         `json:"service"`
	Index     uint64         `json:"index"`
	Stale     bool           `json:"stale,omitempty"`
	Emptied   bool           `json:"emptied,omitempty"`
	Error     string         `json:"error,omitempty"`
	Instances []jsonInstance `json:"instances"`
}

func snapshotOf(s discovery.Snapshot) jsonSnapshot {
	j := jsonSnapshot{Service: s.Service, Index: s.Index, Stale: s.Stale, Emptied: s.Emptied, Instances: []jsonInstance{}}
	if s.Err != nil {
		j.Error = s.Err.Error()
	}
	for _, inst := range s.Instances {
		j.Instances = append(j.Instances, instanceOf(inst))
	}
	return j
}

func (p *printer) services(counts []serviceCount) error {
	if p.json {
		if counts == nil {
			counts = []serviceCount{}
		}
		return p.object(struct {
			Services []serviceCount `json:"services"`
		}{counts})
	}
	tw := p.table()
	fmt.Fprintln(tw, "SERVICE\tINSTANCES\tUP")
	for _, sc := range counts {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", sc.Service, sc.Instances, sc.Up)
	}
	return tw.Flush()
}

func (p *printer) instances(s discovery.Snapshot) error {
	if p.json {
		return p.object(snapshotOf(s))
	}
	tw := p.table()
	fmt.Fprintln(tw, "ID\tADDR\tVERSION\tWEIGHT\tSTATE\tMETADATA")
	for _, inst := range s.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", inst.ID, inst.Addr, orDash(inst.Version),
			inst.EffectiveWeight(), inst.State, metadataCell(inst.Metadata))
	}
	return tw.Flush()
}

func (p *printer) instance(inst discovery.Instance, key string) error {
	if p.json {
		j := instanceOf(inst)
		j.Service, j.Key = inst.Service, key
		return p.object(j)
	}
	tw := p.table()
	for _, row := range [][2]string{
		{"SERVICE", inst.Service}, {"ID", inst.ID}, {"ADDR", inst.Addr}, {"VERSION", orDash(inst.Version)},
		{"WEIGHT", fmt.Sprint(inst.EffectiveWeight())}, {"STATE", inst.State.String()},
		{"METADATA", metadataCell(inst.Metadata)}, {"KEY", key},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

// metadataCell prints metadata as sorted k=v pairs, "-" when there is none.
func metadataCell(md map[string]string) string {
	if len(md) == 0 {
		return "-"
	}
	pairs := make([]string, 0, len(md))
	for k, v := range md {
		pairs = append(pairs, displayValue(k)+"="+displayValue(v))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
