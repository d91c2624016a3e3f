package main

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
)

// errInterrupted is the cause of the command context when SIGINT or SIGTERM
// arrived.
var errInterrupted = errors.New("interrupted")

// interrupts turns the signals deimosctl receives into two things: the end of
// the command's context (the first signal, or the end of the parent context),
// and a channel of every signal, which lock and elect forward to the command
// they run.
type interrupts struct {
	forward chan os.Signal
	done    chan struct{}
	wg      sync.WaitGroup
}

// watchSignals starts following sigs; stop ends that.
func watchSignals(parent context.Context, sigs <-chan os.Signal) (context.Context, *interrupts) {
	ctx, cancel := context.WithCancelCause(parent)
	in := &interrupts{forward: make(chan os.Signal, 8), done: make(chan struct{})}
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		defer cancel(nil)
		for {
			select {
			case s := <-sigs:
				cancel(errInterrupted)
				in.send(s)
			case <-parent.Done():
				// The caller gave up: treat it like SIGTERM.
				in.send(syscall.SIGTERM)
				return
			case <-in.done:
				return
			}
		}
	}()
	return ctx, in
}

// send forwards s without blocking; a flood of signals beyond the buffer is
// dropped, as the kernel would merge them.
func (in *interrupts) send(s os.Signal) {
	select {
	case in.forward <- s:
	default:
	}
}

// signals delivers every signal received, for forwarding.
func (in *interrupts) signals() <-chan os.Signal { return in.forward }

func (in *interrupts) stop() {
	close(in.done)
	in.wg.Wait()
}
