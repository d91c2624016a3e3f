package watch

import (
	"context"
	"sync"

	"github.com/marsevilspirit/deimos-client/kv"
)

// Where a stream's polls go.
//
// A watch is answered from the contacted node's own store, without
// consensus, so a follower that trails the leader delivers events late
// (docs/protocol.md §13.2): a stream that spread its polls over the cluster
// got most events through trailing followers, 20 ms late with two of three
// nodes 20 ms behind, where a poll on the leader got them at once. Nothing
// in the protocol names the leader or a node's lag, so the stream finds out
// by racing: every so often one poll goes to every endpoint, the first event
// to arrive wins, and the following polls stick to the endpoint that
// delivered it. The losing polls run on in the background to their answer,
// the same event, which is dropped; they are not cut, which would cost their
// connections. A failed poll, or an endpoint gone from rotation, ends the
// stickiness until the next race.
//
// Sticking to the freshest node puts a process's watches on the leader,
// which a real cluster serves anyway (every write goes through it).

// raceEvery is how many polls a stream sends to its chosen endpoint before
// it races again: a race costs one poll per other endpoint.
const raceEvery = 100

// route is a stream's choice of endpoint; it belongs to the stream's
// goroutine.
type route struct {
	pref   string         // the endpoint polls stick to; "" until a race chose one
	since  int            // polls since the last race
	racers sync.WaitGroup // losing polls still running
}

type raced struct {
	resp *kv.Response
	ep   string
	err  error
}

// poll sends the stream's next poll, at waitIndex: to the chosen endpoint,
// or, when none is chosen or it is time to check again, to every endpoint.
func (s *Stream) poll(ctx context.Context, waitIndex uint64) (*kv.Response, error) {
	r := &s.route
	if r.pref == "" || r.since >= raceEvery {
		if eps := s.src.endpoints(); len(eps) > 1 {
			return s.race(ctx, eps, waitIndex)
		}
	}
	r.since++
	resp, ep, err := s.src.poll(ctx, r.pref, s.key, waitIndex, s.cfg.recursive)
	switch {
	case err != nil:
		r.pref = ""
	case r.pref != "" && ep != r.pref:
		r.pref = "" // the chosen endpoint left rotation: race again
	}
	return resp, err
}

// race sends the poll to every endpoint and returns the first event; the
// endpoint that delivered it is chosen. It returns an empty answer when
// every poll ended without an event, and the first error when every one
// failed.
func (s *Stream) race(ctx context.Context, eps []string, waitIndex uint64) (*kv.Response, error) {
	r := &s.route
	r.since, r.pref = 0, ""
	answers := make(chan raced, len(eps)) // losers answer into it and are never read
	for _, ep := range eps {
		r.racers.Add(1)
		go func() {
			defer r.racers.Done()
			resp, got, err := s.src.poll(ctx, ep, s.key, waitIndex, s.cfg.recursive)
			answers <- raced{resp, got, err}
		}()
	}
	var first error
	for range eps {
		a := <-answers
		switch {
		case a.err != nil:
			if first == nil {
				first = a.err
			}
		case a.resp != nil:
			r.pref = a.ep
			return a.resp, nil
		}
	}
	if first != nil && ctx.Err() == nil {
		return nil, first
	}
	return nil, nil
}
