package robustness

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
	"github.com/marsevilspirit/deimos-client/watch"
)

// wEvent is an event reduced to what the checkers compare.
type wEvent struct {
	Index     uint64
	Action    string
	Key       string
	Value     string
	Created   uint64
	HasPrev   bool
	PrevValue string
	PrevMod   uint64
}

func (e wEvent) String() string {
	s := fmt.Sprintf("%d %s %s=%q created=%d", e.Index, e.Action, e.Key, e.Value, e.Created)
	if e.HasPrev {
		s += fmt.Sprintf(" prev=%q@%d", e.PrevValue, e.PrevMod)
	}
	return s
}

func fromWatch(ev watch.Event) wEvent {
	e := wEvent{Index: ev.Index(), Action: ev.Action}
	if ev.Node != nil {
		e.Key, e.Value, e.Created = ev.Node.Key, ev.Node.Value, ev.Node.CreatedIndex
	}
	if ev.PrevNode != nil {
		e.HasPrev, e.PrevValue, e.PrevMod = true, ev.PrevNode.Value, ev.PrevNode.ModifiedIndex
	}
	return e
}

func fromServer(ev deimostest.Event) wEvent {
	e := wEvent{Index: ev.Node.ModifiedIndex, Action: ev.Action, Key: ev.Node.Key, Created: ev.Node.CreatedIndex}
	if ev.Node.Value != nil {
		e.Value = *ev.Node.Value
	}
	if ev.PrevNode != nil {
		e.HasPrev, e.PrevMod = true, ev.PrevNode.ModifiedIndex
		if ev.PrevNode.Value != nil {
			e.PrevValue = *ev.PrevNode.Value
		}
	}
	return e
}

// segment is what one watch stream delivered: the events after Start, up to Last.
type segment struct {
	Watcher int
	Start   uint64
	Last    uint64
	Events  []wEvent
	Err     error // why the stream ended early, if it did
}

// watcher keeps a recursive watch on the run's prefix, starting a new stream (a new
// segment) when one ends with an error, until it is told to finish.
type watcher struct {
	id     int
	client watch.Client
	prefix string

	mu       sync.Mutex
	segments []segment
}

// run watches until ctx ends or until stop is closed and the stream has delivered the
// event at index until() (the final write of the run).
func (w *watcher) run(ctx context.Context, stop <-chan struct{}, until func() uint64) {
	for ctx.Err() == nil {
		s, err := watch.Watch(ctx, w.client, w.prefix, watch.WithRecursive())
		if err != nil {
			if !wait.Sleep(ctx, 100*time.Millisecond) {
				return
			}
			continue
		}
		seg := segment{Watcher: w.id, Start: s.LastIndex()}
		finished := w.drain(ctx, s, stop, until, &seg)
		w.mu.Lock()
		w.segments = append(w.segments, seg)
		w.mu.Unlock()
		if finished {
			return
		}
	}
}

// drain reads s into seg; it reports whether the watcher is done (as opposed to the
// stream having ended with an error worth a new stream).
func (w *watcher) drain(ctx context.Context, s *watch.Stream, stop <-chan struct{}, until func() uint64, seg *segment) bool {
	defer s.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				seg.Err = s.Err()
				seg.Last = s.LastIndex()
				return seg.Err == nil
			}
			seg.Events = append(seg.Events, fromWatch(ev))
		case <-tick.C:
			select {
			case <-stop:
				if u := until(); u > 0 && s.LastIndex() >= u {
					s.Close()
					for ev := range s.Events() {
						seg.Events = append(seg.Events, fromWatch(ev))
					}
					seg.Last = s.LastIndex()
					return true
				}
			default:
			}
		case <-ctx.Done():
			s.Close()
			for ev := range s.Events() {
				seg.Events = append(seg.Events, fromWatch(ev))
			}
			seg.Last = s.LastIndex()
			return true
		}
	}
}

func (w *watcher) result() []segment {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]segment(nil), w.segments...)
}

// watchCheckStats are the figures of a watch check.
type watchCheckStats struct {
	Segments, Events, Compared, Restarts int
}

// checkWatches checks each segment: indexes strictly increase (ordered, no duplicate),
// and the events equal truth (the server's event log for the prefix, complete after
// index truthFrom) over the range the segment covered. Every successful write of ops whose index falls in that range
// must be in it with its key and value, which holds even without truth (a real
// cluster whose history was no longer available).
func checkWatches(segs []segment, truth []wEvent, haveTruth bool, truthFrom uint64, ops []kvOp) (watchCheckStats, []violation) {
	var st watchCheckStats
	var vs []violation
	writes := map[uint64]kvOp{}
	for _, o := range ops {
		if o.Kind != opGet && o.Result == resOK && o.Index > 0 {
			writes[o.Index] = o
		}
	}
	for _, sg := range segs {
		st.Segments++
		st.Events += len(sg.Events)
		if sg.Err != nil {
			st.Restarts++
			if !errors.Is(sg.Err, kv.ErrEventIndexCleared) {
				vs = append(vs, violation{Check: "watch", Detail: fmt.Sprintf("watcher %d: stream after %d ended with an unexpected error", sg.Watcher, sg.Start), Evidence: []string{clipString(sg.Err.Error(), 300)}})
			}
		}
		last := sg.Start
		got := map[uint64]wEvent{}
		for _, e := range sg.Events {
			if e.Index <= last {
				vs = append(vs, violation{Check: "watch", Detail: fmt.Sprintf("watcher %d: index %d after %d (out of order or duplicate)", sg.Watcher, e.Index, last), Evidence: []string{e.String()}})
			}
			last = max(last, e.Index)
			got[e.Index] = e
		}
		if from := max(sg.Start, truthFrom); haveTruth && from < sg.Last {
			var want, have []wEvent
			for _, e := range truth {
				if e.Index > from && e.Index <= sg.Last {
					want = append(want, e)
				}
			}
			for _, e := range sg.Events {
				if e.Index > from {
					have = append(have, e)
				}
			}
			st.Compared += len(want)
			if d := diffEvents(want, have); d != nil {
				vs = append(vs, violation{Check: "watch", Detail: fmt.Sprintf("watcher %d: stream (%d, %d] differs from the server's history", sg.Watcher, from, sg.Last), Evidence: d})
			}
		}
		var missing []string
		for idx, w := range writes {
			if idx <= sg.Start || idx > sg.Last {
				continue
			}
			e, ok := got[idx]
			if !ok || e.Key != w.Key || (w.Kind != opCAD && w.Kind != opDelete && e.Value != w.Value) {
				missing = append(missing, fmt.Sprintf("write %s; stream has %v", w.String(), e))
			}
		}
		if len(missing) > 0 {
			vs = append(vs, violation{Check: "watch", Detail: fmt.Sprintf("watcher %d: %d acknowledged writes missing from stream (%d, %d]", sg.Watcher, len(missing), sg.Start, sg.Last), Evidence: missing[:min(5, len(missing))]})
		}
	}
	return st, vs
}

// diffEvents returns the first differences between want and got (nil if equal).
func diffEvents(want, got []wEvent) []string {
	var out []string
	i, j := 0, 0
	for (i < len(want) || j < len(got)) && len(out) < 5 {
		switch {
		case j >= len(got) || i < len(want) && want[i].Index < got[j].Index:
			out = append(out, "missing:  "+want[i].String())
			i++
		case i >= len(want) || got[j].Index < want[i].Index:
			out = append(out, "extra:    "+got[j].String())
			j++
		default:
			if want[i] != got[j] {
				out = append(out, "server:   "+want[i].String(), "stream:   "+got[j].String())
			}
			i++
			j++
		}
	}
	return out
}
