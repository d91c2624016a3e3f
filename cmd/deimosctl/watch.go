package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/watch"
)

func (a *app) watchCommand() *cobra.Command {
	var recursive bool
	var after uint64
	cmd := &cobra.Command{
		Use:   "watch <key>",
		Short: "Print every change of a key or subtree until interrupted",
		Long: `Print each change of key (with --recursive, of every key below it too), in
order, without gaps or repeats across node failures and reconnects, until
SIGINT or SIGTERM (exit 0). Without --after-index it starts from now;
--after-index N replays the changes after index N the server still holds.

The stream ends with a non-zero exit when it cannot go on: exit 1 when the
events it needs have left the server's history (it keeps the last 1000), with
how to resume; exit 2 for a bad key. --timeout bounds reaching the cluster at
start; afterwards the watch waits through outages.

Watch directories recursively rather than single keys inside a directory that
may be deleted or expire: that crashes real Deimos nodes (see rm --help).

Table: one line per event: INDEX ACTION KEY [= VALUE] [(was PREVIOUS)].
JSON: one result object per line; "index" is the event's index.`,
		Args: cobra.ExactArgs(1),
	}
	cmd.Flags().BoolVar(&recursive, "recursive", false, "also report changes below the key")
	cmd.Flags().Uint64Var(&after, "after-index", 0, "report the changes after this index, replaying those that already happened")
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		key := args[0]
		ctx := cmd.Context()
		c, start, err := a.startWatch(ctx, key, cmd.Flags().Changed("after-index"), after)
		if err != nil {
			return err
		}
		defer c.Close()
		opts := []deimos.WatchOption{deimos.WithAfterIndex(start)}
		if recursive {
			opts = append(opts, deimos.WithRecursive())
		}
		s, err := c.WatchStream(ctx, key, opts...)
		if err != nil {
			return err
		}
		defer s.Close()
		p := a.printer()
		for ev := range s.Events() {
			if err := p.event(ev); err != nil {
				return err
			}
		}
		return watchEnd(key, s.Err(), s.LastIndex())
	})
	return cmd
}

// startWatch connects and finds the index to start after: the one given, or
// the store index of a read of the key now (a missing key is fine: the
// server reports the index with the error), all within --timeout.
func (a *app) startWatch(ctx context.Context, key string, given bool, after uint64) (*deimos.Client, uint64, error) {
	cctx, cancel := a.connectContext(ctx)
	defer cancel()
	c, err := a.connect(cctx)
	if err != nil {
		return nil, 0, err
	}
	if given {
		return c, after, nil
	}
	resp, err := c.Get(cctx, key)
	var se *deimos.Error
	switch {
	case err == nil:
		return c, resp.Index, nil
	case errors.As(err, &se) && (errors.Is(err, deimos.ErrKeyNotFound) || errors.Is(err, deimos.ErrNotDir)):
		return c, se.Index, nil
	}
	c.Close()
	return nil, 0, err
}

// watchEnd explains why a stream stopped; nil when it was interrupted.
func watchEnd(key string, err error, last uint64) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, deimos.ErrEventIndexCleared) {
		return fmt.Errorf("watch %s: the events after index %d have left the server's history "+
			"(it keeps the last 1000): re-read the key (deimosctl get --recursive %s -o json) "+
			"and resume with --after-index set to that read's \"index\"; changes in between are not replayed: %w",
			key, last, key, err)
	}
	return err
}

// event prints one watch event.
func (p *printer) event(ev watch.Event) error {
	if p.json {
		return p.object(resultOf(ev.Action, ev.Index(), ev.Node, ev.PrevNode))
	}
	key := ev.Node.Key
	if ev.Dir() {
		key += "/"
	}
	line := fmt.Sprintf("%-8d %-16s %s", ev.Index(), ev.Action, key)
	if !ev.Dir() && !ev.IsDelete() {
		line += " = " + displayValue(ev.Node.Value)
	}
	if ev.PrevNode != nil && !ev.PrevNode.Dir {
		line += " (was " + displayValue(ev.PrevNode.Value) + ")"
	}
	_, err := fmt.Fprintln(p.w, line)
	return err
}
