package deimostest

import (
	"container/heap"
	"time"
)

// minExpiration is the server's floor: an expiration before it means "permanent".
var minExpiration = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// expirationFor turns a ttl parameter into an absolute expiration taken at request time,
// reproducing the server's nanosecond overflow (docs/protocol.md §11.1): the sum wraps around
// int64, and anything before 2000 is treated as permanent (zero time).
func expirationFor(now time.Time, ttl uint64) time.Time {
	ns := now.UnixNano() + int64(ttl)*int64(time.Second) // wraps like the server
	exp := time.Unix(0, ns)
	if exp.Before(minExpiration) {
		return time.Time{}
	}
	return exp
}

// ttlItem schedules the reaping of one entry. It is stale when the entry was removed or
// got another expiration since.
type ttlItem struct {
	e   *entry
	exp time.Time
	due time.Time
}

func (it ttlItem) stale() bool { return it.e.removed || !it.e.expireAt.Equal(it.exp) }

// ttlQueue is a min-heap of ttlItems by due time.
type ttlQueue []ttlItem

func (q ttlQueue) Len() int           { return len(q) }
func (q ttlQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q ttlQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *ttlQueue) Push(x any)        { *q = append(*q, x.(ttlItem)) }
func (q *ttlQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// track schedules e for reaping if it has a TTL. The caller holds s.mu.
func (s *store) track(e *entry) {
	if e.permanent() {
		return
	}
	due := e.expireAt.Add(s.reapDelay())
	heap.Push(&s.ttl, ttlItem{e: e, exp: e.expireAt, due: due})
	if s.ttl[0].e == e {
		s.wake()
	}
}

// wake nudges the reaper without blocking.
func (s *store) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// nextDue drops stale items and returns the earliest due time (ok=false if none).
func (s *store) nextDue() (time.Time, bool) {
	for s.ttl.Len() > 0 && s.ttl[0].stale() {
		heap.Pop(&s.ttl)
	}
	if s.ttl.Len() == 0 {
		return time.Time{}, false
	}
	return s.ttl[0].due, true
}

// reapDue expires every entry due at or before now, one expire event each.
func (s *store) reapDue(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		due, ok := s.nextDue()
		if !ok || due.After(now) {
			return
		}
		it := heap.Pop(&s.ttl).(ttlItem)
		s.expire(it.e)
	}
}

// expire removes e with an expire event: the node has no dir flag (QUIRK) and prevNode
// carries the ttl computed now.
func (s *store) expire(e *entry) {
	idx := s.index + 1
	prev := e.repr(s.now())
	detach(e)
	s.index = idx
	s.emit(&Event{Action: actionExpire, Node: e.bare(idx, false), PrevNode: prev}, nil, dirOrNil(e))
}

// reaper runs until done is closed. It reaps through guard, which refuses (returns false)
// while quorum is lost; the quorum code wakes the reaper when it comes back.
func (s *store) reaper(done <-chan struct{}, guard func(func()) bool) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		due, ok := s.nextDue()
		s.mu.Unlock()
		wait := time.Hour
		if ok {
			wait = time.Until(due)
			if wait <= 0 {
				if guard(func() { s.reapDue(s.now()) }) {
					continue
				}
				wait = time.Hour
			}
		}
		timer.Reset(wait)
		select {
		case <-done:
			return
		case <-s.kick:
		case <-timer.C:
		}
	}
}
