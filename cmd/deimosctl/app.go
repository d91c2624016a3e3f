package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	deimos "github.com/marsevilspirit/deimos-client"
)

// process is what deimosctl takes from the operating system. main passes the
// real one; tests pass their own to drive the real commands in-process.
type process struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        func() []string  // inherited by the commands lock and elect run
	signals        <-chan os.Signal // SIGINT and SIGTERM sent to deimosctl
}

// app is one invocation: the process, the global flags, and whether a
// command's own code started (errors before that are cobra's usage errors).
type app struct {
	proc    process
	intr    *interrupts
	flags   globalFlags
	started bool
}

// run executes deimosctl with args (without the program name) and returns
// its exit code. Errors go to stderr as "deimosctl: <message>".
func run(ctx context.Context, args []string, p process) int {
	ctx, intr := watchSignals(ctx, p.signals)
	defer intr.stop()
	a := &app{proc: p, intr: intr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(p.stdin)
	root.SetOut(p.stdout)
	root.SetErr(p.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	switch {
	case !a.started:
		err = usageError{err}
	case errors.Is(context.Cause(ctx), errInterrupted) && errors.Is(err, context.Canceled) && !errors.Is(err, deimos.ErrUnknownOutcome):
		err = exitStatus{code: exitError, msg: "interrupted"}
	}
	a.report(cmd, err)
	return exitCode(err)
}

// report prints err the way every deimosctl error is printed.
func (a *app) report(cmd *cobra.Command, err error) {
	var st exitStatus
	if errors.As(err, &st) && st.msg == "" {
		return
	}
	fmt.Fprintf(a.proc.stderr, "deimosctl: %s\n", strings.TrimPrefix(err.Error(), "deimosctl: "))
	var ue usageError
	if errors.As(err, &ue) && cmd != nil {
		fmt.Fprintf(a.proc.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
}

// runE marks the start of a command's own code, so that run can tell its
// errors from cobra's usage errors, and checks the global flags first.
func (a *app) runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.started = true
		if err := a.flags.validate(); err != nil {
			return usageError{err}
		}
		return fn(cmd, args)
	}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "deimosctl",
		Short:         "A command line for the Deimos key-value store",
		Long:          rootHelp,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// Without a subcommand deimosctl prints its help.
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	a.flags.register(root, a.proc.getenv)
	root.AddCommand(
		a.getCommand(), a.setCommand(), a.rmCommand(), a.mkdirCommand(), a.lsCommand(),
		a.watchCommand(), a.lockCommand(), a.electCommand(), a.membersCommand(),
		a.endpointCommand(), a.servicesCommand(),
	)
	return root
}

const rootHelp = `deimosctl reads and writes the keys of a Deimos cluster, watches them, runs
commands under a lock or while leader, and checks the cluster's health.

It reaches the cluster through --endpoints (or DEIMOS_ENDPOINTS), learns the
other members from the cluster's /machines list unless --no-sync, and fails
over between nodes like any client of the Go SDK.

Output: -o table (default) prints aligned tables for people; -o json prints
one JSON object per line for scripts (streams such as watch print one per
event). JSON field names are stable:
  node    {"key", "value", "dir", "ttl", "expiration", "createdIndex",
           "modifiedIndex", "nodes"}
          "value" is absent for directories and deleted keys, "dir" only set
          for directories, "ttl" (whole seconds left) and "expiration"
          (RFC 3339) only for keys that expire, "nodes" only for listed
          directories.
  result  {"action", "index", "node", "prevNode"}  (get, ls, set, rm, mkdir,
          and each watch event)
          "index" is the store index: for reads the index the read was applied
          at (watch --after-index it to follow on), for writes and events the
          index of that change.
See each command's help for the rest.

` + exitCodesHelp

// version is the module version deimosctl was built from: the tag for go
// install ...@vX.Y.Z, "(devel)" for a build in a checkout.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(unknown)"
}
