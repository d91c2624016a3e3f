// Command election runs three candidates for leadership while an observer
// prints every change: the first leader proclaims a new value and resigns,
// the next takes over, and when the last resigns the observer reports that
// nobody leads. It exits with status 1 if anything misbehaves.
//
//	go run ./examples/election
//
// It talks to the cluster in DEIMOS_ENDPOINTS when set, otherwise to a
// 3-node cluster it starts in-process.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/examples/internal/example"
)

func main() { example.Main(30*time.Second, "every step behaved as expected", run) }

func run(ctx context.Context, endpoints []string) error {
	var err error
	client := deimos.NewClient(endpoints)
	defer client.Close()
	dir := example.Key("election")

	octx, ostop := context.WithCancel(ctx)
	defer ostop()
	changes := concurrency.Observe(octx, client, dir)
	if first := <-changes; first.Leader != nil {
		return fmt.Errorf("a leader before anyone campaigned: %+v", first.Leader)
	}
	var seen []string
	observed := make(chan struct{})
	go func() {
		defer close(observed)
		for l := range changes {
			s := "(no leader)"
			if l.Leader != nil {
				s = l.Leader.Owner + "=" + l.Leader.Value
			}
			fmt.Println("  observer:", s)
			seen = append(seen, s)
			if len(seen) == 5 {
				return
			}
		}
	}()

	names := []string{"alpha", "beta", "gamma"}
	elections := make([]*concurrency.Election, len(names))
	for i, name := range names {
		s, err := concurrency.NewSession(client, concurrency.WithTTL(5*time.Second))
		if err != nil {
			return err
		}
		defer s.Close()
		elections[i] = concurrency.NewElection(s, dir, concurrency.WithOwner(name))
	}
	if err := elections[0].Campaign(ctx, "10.0.0.1"); err != nil {
		return err
	}
	fmt.Println("✓ alpha leads")
	won := make(chan string, 2)
	for _, i := range []int{1, 2} {
		go func() {
			if elections[i].Campaign(ctx, fmt.Sprintf("10.0.0.%d", i+1)) == nil {
				won <- names[i]
			}
		}()
		time.Sleep(100 * time.Millisecond) // queue beta before gamma (illustration only)
	}
	if err := elections[0].Proclaim(ctx, "10.0.0.100"); err != nil {
		return err
	}
	if err := elections[0].Resign(ctx); err != nil {
		return err
	}
	if w := <-won; w != "beta" {
		return fmt.Errorf("%s won, want beta (first in line)", w)
	}
	fmt.Println("✓ beta took over")
	if err := elections[1].Resign(ctx); err != nil {
		return err
	}
	if w := <-won; w != "gamma" {
		return fmt.Errorf("%s won, want gamma", w)
	}
	fmt.Println("✓ gamma took over")
	if err := elections[2].Resign(ctx); err != nil {
		return err
	}
	<-observed
	want := []string{"alpha=10.0.0.1", "alpha=10.0.0.100", "beta=10.0.0.2", "gamma=10.0.0.3", "(no leader)"}
	if err := example.Check(strings.Join(seen, ",") == strings.Join(want, ","), "observer saw %v, want %v", seen, want); err != nil {
		return err
	}
	_, err = elections[0].Leader(ctx)
	return example.Check(errors.Is(err, concurrency.ErrNoLeader), "Leader after everyone resigned: want ErrNoLeader, got %v", err)
}
