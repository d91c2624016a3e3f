package discovery_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// What a registration costs the cluster while nothing happens: requests
// per instance per minute, against the floor of one refresh every third of
// the TTL.
func BenchmarkRegistration_RequestsPerInstancePerMinute(b *testing.B) {
	const instances = 20
	for _, ttl := range []time.Duration{discovery.MinTTL, discovery.DefaultTTL} {
		b.Run(fmt.Sprintf("ttl=%v", ttl), func(b *testing.B) {
			var perMinute float64
			for range b.N {
				c := cluster(b)
				k := newKV(b, c.Endpoints()...)
				for i := range instances {
					registerT(b, k, instance("api", fmt.Sprint(i)), discovery.WithTTL(ttl))
				}
				before, start := c.Requests(""), time.Now()
				<-time.After(ttl) // the measuring window
				sent := c.Requests("") - before
				perMinute += float64(sent) / instances / time.Since(start).Minutes()
			}
			b.ReportMetric(perMinute/float64(b.N), "req/instance/min")
			b.ReportMetric(time.Minute.Seconds()/(ttl/3).Seconds(), "floor-req/instance/min")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// How long a new registration takes to appear in every one of n resolvers,
// from the call of Register (whose create is one round trip) to the last
// resolver's snapshot, against the floor: a plain set seen by n long polls
// that were already waiting.
func BenchmarkRegister_VisibleInEveryResolver(b *testing.B) {
	const n = 10
	b.Run(fmt.Sprintf("register/resolvers=%d", n), func(b *testing.B) {
		c := cluster(b)
		k := newKV(b, c.Endpoints()...)
		seen := newSightings(b, c, n)
		var took []time.Duration
		for i := range b.N {
			id := fmt.Sprint("i", i)
			seen.expect(id)
			start := time.Now()
			reg := registerT(b, k, instance("api", id))
			took = append(took, seen.wait(b).Sub(start))
			reg.Orphan()
		}
		reportMillis(b, took)
	})
	b.Run(fmt.Sprintf("floor/polls=%d", n), func(b *testing.B) {
		c := cluster(b)
		k := newKV(b, c.Endpoints()...)
		var pollers []*kv.KV
		for i := range n {
			pollers = append(pollers, newKV(b, c.Node(i%3).URL()))
		}
		var took []time.Duration
		for i := range b.N {
			took = append(took, oneWatchPoll(b, c, k, pollers, fmt.Sprint("/floor/", i)))
		}
		reportMillis(b, took)
	})
}

// oneWatchPoll sets key while every poller waits on it and returns how long
// the last poller took to return.
func oneWatchPoll(b *testing.B, c *deimostest.Cluster, k *kv.KV, pollers []*kv.KV, key string) time.Duration {
	index := c.Index() + 1
	var wg sync.WaitGroup
	done := make([]time.Time, len(pollers))
	for i, p := range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.WaitEvent(context.Background(), "/floor", index, true); err != nil {
				b.Error(err)
			}
			done[i] = time.Now()
		}()
	}
	for c.Watchers() < len(pollers) { // in place before the write, so it is seen live
		time.Sleep(100 * time.Microsecond)
	}
	start := time.Now()
	if _, err := k.Set(context.Background(), key, "v"); err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	return slices.MaxFunc(done, time.Time.Compare).Sub(start)
}

// sightings follows n resolvers (spread over the nodes) and tells when all
// of them list an awaited instance.
type sightings struct {
	mu     sync.Mutex
	want   string
	seenBy map[int]bool
	all    chan time.Time
}

func newSightings(b *testing.B, c *deimostest.Cluster, n int) *sightings {
	s := &sightings{all: make(chan time.Time, 1)}
	for i := range n {
		r := newResolver(b, newKV(b, c.Node(i%3).URL()), "api")
		go func() {
			for snap := range r.Updates() {
				s.saw(i, snap, n)
			}
		}()
	}
	return s
}

func (s *sightings) expect(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want, s.seenBy = id, map[int]bool{}
}

func (s *sightings) saw(i int, snap discovery.Snapshot, n int) {
	at := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := snap.Lookup(s.want); !ok || s.seenBy[i] {
		return
	}
	s.seenBy[i] = true
	if len(s.seenBy) == n {
		s.all <- at
	}
}

func (s *sightings) wait(b *testing.B) time.Time {
	select {
	case at := <-s.all:
		return at
	case <-time.After(10 * time.Second):
		b.Fatal("not visible in every resolver")
		return time.Time{}
	}
}

// How long a crashed instance (no Deregister) keeps receiving traffic: from
// the crash, and from its key's expiration, to its removal from every
// resolver, with a reaper an hour late (only the resolvers' own expiry
// check removes it). A crash comes up to a third of the TTL after the last
// heartbeat, so crash-to-removal lies between TTL×2/3 and TTL plus the
// resolvers' grace and check read; expiry-to-removal is that grace and read.
func BenchmarkRegistration_CrashToRemoval(b *testing.B) {
	const instances = 10
	var fromCrash, fromExpiry []time.Duration
	for range b.N {
		c := cluster(b, deimostest.WithReapDelay(time.Hour, time.Hour))
		k := newKV(b, c.Endpoints()...)
		var regs []*discovery.Registration
		for i := range instances {
			regs = append(regs, registerT(b, k, instance("api", fmt.Sprint(i))))
		}
		rs := resolverPerNode(b, c, "api")
		waitAll(b, rs, 5*time.Second, "registered", func(s discovery.Snapshot) bool { return len(s.Instances) == instances })
		<-time.After(rand.N(discovery.MinTTL / 3)) // crash anywhere between two heartbeats
		crashed := time.Now()
		for _, reg := range regs {
			reg.Orphan()
		}
		gone := make(map[int]time.Time)
		for len(gone) < instances {
			for i := range instances {
				if _, ok := gone[i]; !ok && goneFromAll(rs, fmt.Sprint(i)) {
					gone[i] = time.Now()
				}
			}
			time.Sleep(time.Millisecond)
		}
		for i, at := range gone {
			fromCrash = append(fromCrash, at.Sub(crashed))
			fromExpiry = append(fromExpiry, at.Sub(lastExpiration(b, c, regs[i].Key())))
		}
	}
	reportMillis(b, fromCrash)
	b.ReportMetric(percentile(fromExpiry, 0.50), "expiry-to-removal-p50-ms")
	b.ReportMetric(percentile(fromExpiry, 0.99), "expiry-to-removal-p99-ms")
}

// lastExpiration is the expiration the last write on key gave it.
func lastExpiration(b *testing.B, c *deimostest.Cluster, key string) time.Time {
	h := c.History(key)
	exp := h[len(h)-1].Node.Expiration
	if exp == nil {
		b.Fatalf("%s: the last write set no TTL", key)
	}
	return *exp
}

func goneFromAll(rs []*discovery.Resolver, id string) bool {
	for _, r := range rs {
		if _, ok := r.Snapshot().Lookup(id); ok {
			return false
		}
	}
	return true
}

// reportMillis reports the p50 and p99 of d in milliseconds, the scale of
// registration delays, and hides the meaningless ns/op of these runs.
func reportMillis(b *testing.B, d []time.Duration) {
	b.ReportMetric(percentile(d, 0.50), "p50-ms")
	b.ReportMetric(percentile(d, 0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// percentile returns the p-th percentile of d in milliseconds.
func percentile(d []time.Duration, p float64) float64 {
	d = slices.Sorted(slices.Values(d))
	return float64(d[min(len(d)-1, int(p*float64(len(d))))]) / float64(time.Millisecond)
}
