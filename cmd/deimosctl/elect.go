package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/spf13/cobra"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/kv"
)

// Environment variables of the command elect runs.
const (
	envElectionKey   = "DEIMOS_ELECTION_KEY"   // the election's prefix
	envElectionValue = "DEIMOS_ELECTION_VALUE" // this candidate's value
	envElectionEntry = "DEIMOS_ELECTION_ENTRY" // this candidate's entry
	envElectionToken = "DEIMOS_ELECTION_TOKEN" // the leadership's fencing token
)

func (a *app) electCommand() *cobra.Command {
	var ttl flagDuration
	var owner string
	cmd := &cobra.Command{
		Use:   "elect <prefix> <value> -- <command> [args...]",
		Short: "Run a command while leader of an election",
		Long: `Campaign in the election at prefix with value (an address, a name: what
followers read as the leader's value), wait until elected, run the command
while leader, and resign when it exits, letting the next candidate lead.

If the leadership is lost while the command runs (the candidacy expired or
was deleted, say after a long partition), the command is sent SIGTERM
(SIGKILL 10s later) and deimosctl exits 1.

The command gets, besides deimosctl's environment:
  ` + envElectionKey + `    the election's prefix
  ` + envElectionValue + `  the value it campaigned with
  ` + envElectionEntry + `  its candidacy, a key under the prefix
  ` + envElectionToken + `  a number that grows from one leader to the next
SIGINT and SIGTERM are forwarded to the command's process group. deimosctl
exits with the command's status (128+n if signal n ended it, 127 if it was
not found, 126 if it could not be started), or 1 if interrupted before it
was elected. --timeout bounds reaching the cluster and each request, not
the wait for leadership. The prefix is never deleted.`,
		Args: electArgs,
	}
	cmd.Flags().Var(&ttl, "ttl", "time to live of the candidacy; a crashed leader blocks the election this long (default 15s)")
	cmd.Flags().StringVar(&owner, "owner", defaultOwner(), "who campaigns, as other candidates see it")
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		var opts []concurrency.SessionOption
		if ttl.set {
			opts = append(opts, concurrency.WithTTL(ttl.d))
		}
		return a.elect(cmd.Context(), args[0], args[1], args[2:], owner, opts)
	})
	return cmd
}

// electArgs requires "<prefix> <value> -- <command>".
func electArgs(cmd *cobra.Command, args []string) error {
	if cmd.ArgsLenAtDash() != 2 || len(args) < 3 {
		return fmt.Errorf("want %s", cmd.Use)
	}
	return nil
}

func (a *app) elect(ctx context.Context, prefix, value string, argv []string, owner string, opts []concurrency.SessionOption) error {
	prefix, err := kv.CleanKey(prefix)
	if err != nil {
		return err
	}
	cctx, cancel := a.connectContext(ctx)
	c, err := a.connect(cctx)
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := concurrency.NewSession(c, opts...)
	if err != nil {
		return err
	}
	defer s.Close()
	e := concurrency.NewElection(s, prefix, concurrency.WithOwner(owner))
	if err := e.Campaign(ctx, value); err != nil {
		if errors.Is(context.Cause(ctx), errInterrupted) {
			return exitStatus{code: exitError, msg: fmt.Sprintf("elect %s: interrupted while campaigning; the command did not run", prefix)}
		}
		return err
	}
	status, lost, err := a.lead(ctx, c, s, e, prefix, value, argv)
	rctx, rcancel := a.connectContext(context.WithoutCancel(ctx))
	defer rcancel()
	if rerr := e.Resign(rctx); rerr != nil && !lost {
		fmt.Fprintf(a.proc.stderr, "deimosctl: elect %s: resigning: %v (the candidacy expires within its TTL)\n", prefix, rerr)
	}
	switch {
	case err != nil:
		return err
	case lost:
		return exitStatus{code: exitError, msg: fmt.Sprintf("elect %s: leadership lost while the command ran (another leader may have taken over); the command was stopped (status %d)", prefix, status)}
	}
	return exitStatus{code: status}
}

// lead runs the command while e leads.
func (a *app) lead(ctx context.Context, c *deimos.Client, s *concurrency.Session, e *concurrency.Election, prefix, value string, argv []string) (status int, lost bool, err error) {
	key := e.Key()
	lctx, cancel := a.connectContext(ctx)
	leader, err := e.Leader(lctx)
	cancel()
	if err != nil {
		return 0, false, fmt.Errorf("elect %s: reading the leader: %w", prefix, err)
	}
	if leader.Key != key {
		return 0, false, exitStatus{code: exitError, msg: fmt.Sprintf("elect %s: leadership lost before the command started", prefix)}
	}
	guard := watchLeadership(context.WithoutCancel(ctx), c, s, prefix, key)
	defer guard.stop()
	ch, err := a.startChild(argv, []string{
		envElectionKey + "=" + prefix,
		envElectionValue + "=" + value,
		envElectionEntry + "=" + key,
		envElectionToken + "=" + strconv.FormatUint(leader.CreatedIndex, 10),
	})
	if err != nil {
		return 0, false, err
	}
	status, lost = a.supervise(ch, guard.lost)
	return status, lost, nil
}

// leadershipGuard closes lost when the candidacy key stops leading: the
// session lost it, or the election's observer saw another state.
type leadershipGuard struct {
	lost   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func watchLeadership(ctx context.Context, c *deimos.Client, s *concurrency.Session, prefix, key string) *leadershipGuard {
	ctx, cancel := context.WithCancel(ctx)
	g := &leadershipGuard{lost: make(chan struct{}), cancel: cancel}
	changes := concurrency.Observe(ctx, c, prefix)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() {
			for range changes { // until Observe has ended
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.Done():
				close(g.lost)
				return
			case l, ok := <-changes:
				if !ok {
					return
				}
				if l.Leader == nil || l.Leader.Key != key {
					close(g.lost)
					return
				}
			}
		}
	}()
	return g
}

func (g *leadershipGuard) stop() {
	g.cancel()
	g.wg.Wait()
}
