//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// Without Unix signals, an interrupt or a lost lock ends the child at once.
var terminateSignal = os.Kill

func ownProcessGroup(*exec.Cmd) {}

func signalGroup(p *os.Process, _ os.Signal) { _ = p.Kill() }

func signalStatus(*os.ProcessState) (int, bool) { return 0, false }
