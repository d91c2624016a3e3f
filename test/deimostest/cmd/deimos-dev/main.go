// Command deimos-dev serves an in-process Deimos cluster on loopback until interrupted.
//
//	go run ./test/deimostest/cmd/deimos-dev -nodes 3 -port 4001
//
// It prints the client URLs of its nodes, one per line, then serves until SIGINT or
// SIGTERM. With -port 0 every node gets a random free port. -watch-lag makes the nodes'
// watches trail the store like followers' and -write-index-race reproduces the server's
// X-Deimos-Index race; at exit it lists the moments a real node would have crashed
// (a directory deleted or expired with a watch inside it).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func main() {
	nodes := flag.Int("nodes", 3, "number of nodes")
	port := flag.Int("port", 4001, "port of the first node; the others take the next ports (0: random ports)")
	reapMin := flag.Duration("reap-delay", 0, "minimum delay between a key's expiration and its reaping")
	reapMax := flag.Duration("reap-delay-max", 0, "maximum reaping delay (default: -reap-delay); 10s mimics the real server")
	watchTimeout := flag.Duration("watch-timeout", 5*time.Minute, "how long a watch is held before an empty 200")
	serverTimeout := flag.Duration("server-timeout", 10*time.Second, "how long requests hang without quorum")
	startIndex := flag.Uint64("start-index", 6, "store index of the fresh cluster")
	watchLag := flag.Duration("watch-lag", 0, "how long every node's watches trail the committed store (0: no lag)")
	race := flag.Bool("write-index-race", false, "reproduce the race that gives a write a later X-Deimos-Index")
	raceWindow := flag.Duration("write-index-race-window", 2*time.Millisecond, "with -write-index-race: how long a write waits between its apply and its headers")
	flag.Parse()

	if *reapMax < *reapMin {
		*reapMax = *reapMin
	}
	opts := []deimostest.Option{
		deimostest.WithBasePort(*port),
		deimostest.WithReapDelay(*reapMin, *reapMax),
		deimostest.WithWatchTimeout(*watchTimeout),
		deimostest.WithServerTimeout(*serverTimeout),
		deimostest.WithStartIndex(*startIndex),
		deimostest.WithWatchLag(*watchLag),
	}
	if *race {
		opts = append(opts, deimostest.WithWriteIndexRaceWindow(*raceWindow))
	}
	c, err := deimostest.StartCluster(*nodes, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deimos-dev:", err)
		os.Exit(1)
	}
	defer c.Close()
	for _, u := range c.Endpoints() {
		fmt.Println(u)
	}
	fmt.Printf("DEIMOS_ENDPOINTS=%s\n", strings.Join(c.Endpoints(), ","))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	fmt.Fprintln(os.Stderr, "deimos-dev: shutting down")
	for _, h := range c.CrashHazards() {
		fmt.Fprintln(os.Stderr, "deimos-dev: crash hazard:", h)
	}
	if *race {
		fmt.Fprintln(os.Stderr, "deimos-dev: write answers with a later X-Deimos-Index:", c.WriteIndexRaces())
	}
}
