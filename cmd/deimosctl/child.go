package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Exit codes of a command that could not be run, as shells and env(1) use
// them.
const (
	exitCannotRun = 126 // found but could not be started
	exitNoCommand = 127 // no such command
)

const (
	// stopGrace is how long a command stopped because the lock or the
	// leadership was lost has to exit after SIGTERM before SIGKILL.
	stopGrace = 10 * time.Second
	// ioGrace bounds waiting for the output of processes the command left
	// behind after it exited (they may hold its stdout).
	ioGrace = 2 * time.Second
)

// child is the command lock and elect run. It has its own process group, so
// a terminal's Ctrl-C reaches it once, through deimosctl, and every signal
// deimosctl forwards reaches the processes it started too.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // of Wait, once done is closed
}

// startChild starts argv with the environment of deimosctl plus env.
func (a *app) startChild(argv []string, env []string) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.proc.stdin, a.proc.stdout, a.proc.stderr
	cmd.Env = append(a.proc.environ(), env...)
	cmd.WaitDelay = ioGrace
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		code := exitCannotRun
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = exitNoCommand
		}
		return nil, exitStatus{code: code, msg: fmt.Sprintf("cannot run %s: %v", argv[0], err)}
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// supervise forwards deimosctl's signals to the child until it exits, or
// stops it when lost closes first. It returns the child's exit status and
// whether lost closed.
func (a *app) supervise(c *child, lost <-chan struct{}) (status int, wasLost bool) {
	for {
		select {
		case <-c.done:
			return c.status(), false
		case s := <-a.intr.signals():
			signalGroup(c.cmd.Process, s)
		case <-lost:
			c.stop()
			return c.status(), true
		}
	}
}

// stop ends the child: SIGTERM, then SIGKILL after stopGrace.
func (c *child) stop() {
	signalGroup(c.cmd.Process, terminateSignal)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		signalGroup(c.cmd.Process, os.Kill)
		<-c.done
	}
}

// status is the exit code of the ended child, 128+n when signal n ended it.
func (c *child) status() int {
	if code, ok := signalStatus(c.cmd.ProcessState); ok {
		return code
	}
	if code := c.cmd.ProcessState.ExitCode(); code >= 0 {
		return code
	}
	return exitError
}
