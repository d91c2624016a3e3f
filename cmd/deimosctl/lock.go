package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/kv"
)

// Environment variables of the command lock runs.
const (
	envLockKey   = "DEIMOS_LOCK_KEY"   // the lock's key
	envLockToken = "DEIMOS_LOCK_TOKEN" // the fencing token
	envLockEntry = "DEIMOS_LOCK_ENTRY" // the holder's queue entry
)

func (a *app) lockCommand() *cobra.Command {
	var ttl flagDuration
	var acquire time.Duration
	var owner string
	cmd := &cobra.Command{
		Use:   "lock <key> -- <command> [args...]",
		Short: "Run a command while holding a lock",
		Long: `Wait for the fair, fenced lock on key, run the command while holding it,
and release it when the command exits. The lock is kept alive in the
background; if it is lost anyway (its key expired or was deleted, say after
a long partition), the command is sent SIGTERM (SIGKILL 10s later) and
deimosctl exits 1: another holder may already run.

The command gets, besides deimosctl's environment:
  ` + envLockKey + `    the lock's key
  ` + envLockToken + `  the fencing token: a number that grows from one holder
                     to the next; give it to what the lock protects so it
                     can refuse a holder that lost the lock without knowing
  ` + envLockEntry + `  the holder's queue entry under the key
SIGINT and SIGTERM are forwarded to the command's process group; the lock is
released once it has exited. deimosctl then exits with the command's status
(128+n if signal n ended it; 127 if it was not found, 126 if it could not be
started).

Flags: --timeout is, for lock, how long to wait before the command runs:
reaching the cluster (exit 6) and acquiring the lock (exit 1). With 0, the
default, deimosctl reaches the cluster within 5s and then waits for the lock
until interrupted. Releasing the lock is bounded by 5s. A crashed deimosctl
blocks the lock for --ttl. The key is a directory of contenders; it is never
deleted.`,
		Args: lockArgs,
	}
	f := cmd.Flags()
	f.Var(&ttl, "ttl", "time to live of the lock's key; a crashed holder blocks others this long (default 15s)")
	f.DurationVar(&acquire, "timeout", 0, "how long to wait for the cluster and the lock (0: 5s for the cluster, then until interrupted)")
	f.StringVar(&owner, "owner", defaultOwner(), "who holds the lock, as other contenders see it")
	cmd.RunE = a.runE(func(cmd *cobra.Command, args []string) error {
		if acquire < 0 {
			return usageError{fmt.Errorf("--timeout %v must not be negative", acquire)}
		}
		var opts []deimos.LockOption
		if ttl.set {
			opts = append(opts, deimos.WithTTL(ttl.d))
		}
		return a.lock(cmd.Context(), args[0], args[1:], owner, acquire, opts)
	})
	return cmd
}

// lockArgs requires "<key> -- <command>".
func lockArgs(cmd *cobra.Command, args []string) error {
	if cmd.ArgsLenAtDash() != 1 || len(args) < 2 {
		return fmt.Errorf("want %s", cmd.Use)
	}
	return nil
}

func (a *app) lock(ctx context.Context, key string, argv []string, owner string, acquire time.Duration, opts []deimos.LockOption) error {
	key, err := kv.CleanKey(key)
	if err != nil {
		return err
	}
	c, l, err := a.acquire(ctx, key, owner, acquire, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	info := l.Info()
	ch, err := a.startChild(argv, []string{
		envLockKey + "=" + key,
		envLockToken + "=" + strconv.FormatUint(info.FencingToken, 10),
		envLockEntry + "=" + info.EntryKey,
	})
	if err != nil {
		a.unlock(ctx, l, key)
		return err
	}
	status, lost := a.supervise(ch, l.Lost())
	if err := a.unlock(ctx, l, key); errors.Is(err, deimos.ErrLockLost) {
		lost = true
	}
	if lost {
		return exitStatus{code: exitError, msg: fmt.Sprintf("lock %s: the lock was lost while the command ran (another holder may have run meanwhile); the command was stopped or had exited with status %d", key, status)}
	}
	return exitStatus{code: status}
}

// acquire connects and waits for the lock: both within acquire when it is
// positive, else reaching the cluster within the default timeout and then
// waiting until interrupted.
func (a *app) acquire(ctx context.Context, key, owner string, acquire time.Duration, opts []deimos.LockOption) (*deimos.Client, *deimos.DistributedLock, error) {
	lctx, cancel := ctx, context.CancelFunc(func() {})
	if acquire > 0 {
		lctx, cancel = context.WithTimeout(ctx, acquire)
	}
	defer cancel()
	cctx, ccancel := lctx, context.CancelFunc(func() {})
	if acquire == 0 {
		cctx, ccancel = a.connectContext(ctx)
	}
	c, err := a.connect(cctx)
	ccancel()
	if err != nil {
		return nil, nil, err
	}
	l := c.NewDistributedLock(key, owner, opts...)
	err = l.Lock(lctx)
	switch {
	case err == nil:
		return c, l, nil
	case errors.Is(context.Cause(ctx), errInterrupted):
		err = exitStatus{code: exitError, msg: fmt.Sprintf("lock %s: interrupted while waiting for the lock; the command did not run", key)}
	case errors.Is(err, deimos.ErrLockTimeout):
		err = fmt.Errorf("lock %s: not acquired within %v; the command did not run: %w", key, acquire, err)
	}
	c.Close()
	return nil, nil, err
}

// unlock releases the lock, even after an interrupt. A failure is reported
// but does not change the exit status: the lock's key then expires within
// its TTL.
func (a *app) unlock(ctx context.Context, l *deimos.DistributedLock, key string) error {
	uctx, cancel := a.connectContext(context.WithoutCancel(ctx))
	defer cancel()
	err := l.Unlock(uctx)
	if err != nil && !errors.Is(err, deimos.ErrLockLost) {
		fmt.Fprintf(a.proc.stderr, "deimosctl: lock %s: releasing: %v (the lock expires within its TTL)\n", key, err)
	}
	return err
}

// defaultOwner names this process for other contenders: user@host:pid.
func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("deimosctl@%s:%d", host, os.Getpid())
}
