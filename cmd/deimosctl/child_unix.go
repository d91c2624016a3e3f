//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

var terminateSignal os.Signal = syscall.SIGTERM

func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends s to the child's whole process group, as a terminal
// would, so that what the child started gets it too.
func signalGroup(p *os.Process, s os.Signal) {
	if sig, ok := s.(syscall.Signal); ok {
		if syscall.Kill(-p.Pid, sig) == nil {
			return
		}
	}
	_ = p.Signal(s)
}

func signalStatus(st *os.ProcessState) (int, bool) {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), true
	}
	return 0, false
}
