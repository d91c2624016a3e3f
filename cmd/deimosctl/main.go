// Command deimosctl is a command line for Deimos: read and write keys, watch
// them, run a command under a lock or while leader, and check the cluster.
//
//	go install github.com/marsevilspirit/deimos-client/cmd/deimosctl@latest
//	deimosctl --endpoints http://127.0.0.1:4001 set /config/db postgres://db
//	deimosctl get /config/db
//
// Run deimosctl help for the commands, flags, output formats and exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(context.Background(), os.Args[1:], process{
		stdin:   os.Stdin,
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		getenv:  os.Getenv,
		environ: os.Environ,
		signals: sigs,
	}))
}
