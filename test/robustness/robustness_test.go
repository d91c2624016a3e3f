package robustness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/internal/wait"
	"github.com/marsevilspirit/deimos-client/watch"
)

// runConfig is the shape of one robustness run.
type runConfig struct {
	duration       time.Duration // how long the traffic runs
	seed           uint64
	prefix         string // every key of the run lives below it
	clients        int    // key-value clients; every other one is pinned to one node
	watchers       int
	lockers        int           // contenders for one mutex
	lockTTL        time.Duration // their session TTL (also of semaphore holders and candidates)
	semHolders     int           // contenders for one semaphore
	permits        int           // its permits
	candidates     int           // candidates of one election (plus one observer)
	keys           int           // keys per epoch
	think          time.Duration // mean pause of a client between operations
	epoch          time.Duration // how often the key set changes
	requestTimeout time.Duration // the clients' per-attempt timeout
	opTimeout      time.Duration // the deadline of each operation
	serverTimeout  time.Duration // in-process: how long requests hang without quorum
	watchTimeout   time.Duration // in-process: how long a long poll is held
	watchLag       time.Duration // in-process: how far each node's watches trail the store
	checkTimeout   time.Duration // porcupine's budget per key
	artifacts      string        // where visualisations go
}

func loadConfig(t *testing.T) runConfig {
	t.Helper()
	cfg := runConfig{
		duration:       12 * time.Second,
		seed:           uint64(time.Now().UnixNano()),
		clients:        6,
		watchers:       3,
		lockers:        3,
		lockTTL:        2 * time.Second,
		semHolders:     4,
		permits:        2,
		candidates:     3,
		keys:           4,
		think:          5 * time.Millisecond,
		epoch:          3 * time.Second,
		requestTimeout: 400 * time.Millisecond,
		opTimeout:      1500 * time.Millisecond,
		serverTimeout:  250 * time.Millisecond,
		watchTimeout:   2 * time.Second,
		watchLag:       10 * time.Millisecond,
		checkTimeout:   time.Minute,
		artifacts:      os.Getenv("ROBUSTNESS_ARTIFACTS"),
	}
	if v := os.Getenv("ROBUSTNESS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("ROBUSTNESS_DURATION=%q: want a positive duration such as 5m", v)
		}
		cfg.duration = d
	}
	if v := os.Getenv("ROBUSTNESS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ROBUSTNESS_SEED=%q: want an unsigned integer", v)
		}
		cfg.seed = s
	}
	cfg.prefix = fmt.Sprintf("/robustness/r%d", cfg.seed%1_000_000_007)
	return cfg
}

// TestRobustness runs random traffic with faults and checks the recorded history:
// linearizability of the key-value operations, the real-time order of the indexes,
// and the completeness and order of every watch stream.
func TestRobustness(t *testing.T) {
	cfg := loadConfig(t)
	t.Logf("seed %d (ROBUSTNESS_SEED=%d reproduces the schedule), duration %v, prefix %s", cfg.seed, cfg.seed, cfg.duration, cfg.prefix)
	res := run(t, cfg)
	t.Log(res.summary())
	for _, v := range res.violations {
		t.Errorf("violation: %s", v)
	}
	goleak.VerifyNone(t)
}

// runResult is what a run found.
type runResult struct {
	kv            kvCheckStats
	watch         watchCheckStats
	locks         lockStats
	sem           semStats
	elect         electStats
	observed      int // states the election observer received
	requiredTerms int // long leaderships the observer had to report
	faults        map[string]int
	byKind        map[opKind]int
	violations    []violation
	finalIndex    uint64
	indexRaces    int64 // write answers whose X-Deimos-Index named a later write
	cfg           runConfig
}

func (r runResult) summary() string {
	var fs []string
	total := 0
	for k, v := range r.faults {
		fs = append(fs, fmt.Sprintf("%s=%d", k, v))
		total += v
	}
	sort.Strings(fs)
	return fmt.Sprintf("ROBUSTNESS SUMMARY: operations=%d checked-by-porcupine=%d keys=%d unknown-outcomes=%d not-applied=%d rejected=%d | faults=%d (%s) | lock attempts=%d grants=%d lost-while-held=%d sessions-lost=%d | semaphore permits=%d attempts=%d grants=%d lost-while-held=%d sessions-lost=%d | election campaigns=%d terms=%d proclaimed=%d lost-while-leading=%d orphaned=%d sessions-lost=%d observer-changes=%d long-terms-required=%d | watch segments=%d events=%d compared-with-server=%d restarts=%d | final index %d write-index-races=%d | violations=%d",
		r.kv.Ops, r.kv.Checked, r.kv.Keys, r.kv.Unknown, r.kv.NotApplied, r.kv.Rejected,
		total, strings.Join(fs, " "), r.locks.Attempts, r.locks.Grants, r.locks.Lost, r.locks.SessionsLost,
		r.cfg.permits, r.sem.Attempts, r.sem.Grants, r.sem.Lost, r.sem.SessionsLost,
		r.elect.Campaigns, r.elect.Terms, r.elect.Proclaimed, r.elect.Lost, r.elect.Orphaned, r.elect.SessionsLost, r.observed, r.requiredTerms,
		r.watch.Segments, r.watch.Events, r.watch.Compared, r.watch.Restarts,
		r.finalIndex, r.indexRaces, len(r.violations))
}

func run(t *testing.T, cfg runConfig) runResult {
	tg := newTarget(t, cfg)
	defer tg.close()
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))

	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	newClient := func(eps ...string) *deimos.Client {
		c := deimos.New(deimos.WithEndpoints(eps...), deimos.WithRequestTimeout(cfg.requestTimeout))
		closers = append(closers, func() { _ = c.Close() })
		return c
	}
	// Even clients use every endpoint, odd ones are pinned to a single node.
	endpointsOf := func(i int) []string {
		if i%2 == 0 {
			return tg.endpoints
		}
		return []string{tg.endpoints[(i/2)%len(tg.endpoints)]}
	}

	rec := newRecorder()
	var final struct {
		sync.Mutex
		index uint64
	}
	until := func() uint64 { final.Lock(); defer final.Unlock(); return final.index }

	// Watchers start first so that they cover the whole run.
	watchCtx, stopWatch := context.WithTimeout(context.Background(), cfg.duration+time.Minute)
	defer stopWatch()
	stop := make(chan struct{})
	var wwg sync.WaitGroup
	var watchers []*watcher
	for i := 0; i < cfg.watchers; i++ {
		w := &watcher{id: i, client: newClient(endpointsOf(i)...), prefix: cfg.prefix}
		watchers = append(watchers, w)
		wwg.Add(1)
		go func() { defer wwg.Done(); w.run(watchCtx, stop, until) }()
	}

	trafficCtx, stopTraffic := context.WithTimeout(context.Background(), cfg.duration)
	defer stopTraffic()
	var twg sync.WaitGroup
	for i := 0; i < cfg.clients; i++ {
		c := &kvClient{
			id: i, kv: newClient(endpointsOf(i)...).KV(), rec: rec, cfg: cfg, seen: map[string]string{},
			rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
		}
		twg.Add(1)
		go func() { defer twg.Done(); c.run(trafficCtx) }()
	}
	res := &resource{}
	var lockers []*locker
	for i := 0; i < cfg.lockers; i++ {
		l := &locker{
			id: i, client: newClient(endpointsOf(i + 1)...), prefix: cfg.prefix + "/lock", ttl: cfg.lockTTL,
			rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), rec: rec, res: res,
		}
		lockers = append(lockers, l)
		twg.Add(1)
		go func() { defer twg.Done(); l.run(trafficCtx) }()
	}
	var semHolders []*semHolder
	for i := 0; i < cfg.semHolders; i++ {
		h := &semHolder{
			id: i, client: newClient(endpointsOf(i)...), prefix: cfg.prefix + "/sem", permits: cfg.permits, ttl: cfg.lockTTL,
			rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), rec: rec,
		}
		semHolders = append(semHolders, h)
		twg.Add(1)
		go func() { defer twg.Done(); h.run(trafficCtx) }()
	}
	// The observer starts before the candidates and stops once it has reported the
	// final sentinel leader, so it covers every term.
	obsCtx, stopObserver := context.WithCancel(context.Background())
	defer stopObserver()
	observer := &electionObserver{client: newClient(tg.endpoints...), prefix: cfg.prefix + "/election", rec: rec}
	obsDone := make(chan struct{})
	go func() { defer close(obsDone); observer.run(obsCtx) }()
	var candidates []*candidate
	for i := 0; i < cfg.candidates; i++ {
		c := &candidate{
			id: i, client: newClient(endpointsOf(i + 1)...), prefix: cfg.prefix + "/election", ttl: cfg.lockTTL,
			rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), rec: rec,
		}
		candidates = append(candidates, c)
		twg.Add(1)
		go func() { defer twg.Done(); c.run(trafficCtx) }()
	}
	nemRng := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	nemDone := make(chan struct{})
	go func() { defer close(nemDone); tg.nemesis.run(trafficCtx, nemRng) }()
	twg.Wait()
	<-nemDone

	// A final write after healing: its index is the last event the watchers must see.
	closer := newClient(tg.endpoints...)
	endCtx, cancelEnd := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelEnd()
	for {
		resp, err := closer.Set(endCtx, cfg.prefix+"/end", "end")
		if err == nil {
			final.Lock()
			final.index = resp.Index
			final.Unlock()
			break
		}
		if !wait.Sleep(endCtx, 100*time.Millisecond) {
			t.Fatalf("final write never succeeded: %v", err)
		}
	}
	close(stop)
	wwg.Wait()
	var sentinelErr error
	if cfg.candidates > 0 {
		sentinelErr = sentinel(closer, cfg, observer)
	}
	stopObserver()
	<-obsDone

	ops := rec.history()
	result := runResult{faults: tg.nemesis.counts(), byKind: map[opKind]int{}, finalIndex: until(), cfg: cfg}
	for _, o := range ops {
		result.byKind[o.Kind]++
	}
	result.kv, result.violations = checkKV(ops, cfg.checkTimeout, cfg.artifacts)
	var sections []section
	for _, l := range lockers {
		secs, st := l.result()
		sections = append(sections, secs...)
		result.locks.Attempts += st.Attempts
		result.locks.Grants += st.Grants
		result.locks.Lost += st.Lost
		result.locks.SessionsLost += st.SessionsLost
	}
	result.violations = append(result.violations, checkLocks(sections)...)
	if cfg.lockers > 0 && result.locks.Grants == 0 {
		result.violations = append(result.violations, violation{Check: "lock", Detail: "no lock was ever granted"})
	}
	var holds []hold
	for _, h := range semHolders {
		hs, st := h.result()
		holds = append(holds, hs...)
		result.sem.Attempts += st.Attempts
		result.sem.Grants += st.Grants
		result.sem.Lost += st.Lost
		result.sem.SessionsLost += st.SessionsLost
	}
	result.violations = append(result.violations, checkCapacity("semaphore", holds, cfg.permits)...)
	if cfg.semHolders > 0 && result.sem.Grants == 0 {
		result.violations = append(result.violations, violation{Check: "semaphore", Detail: "no permit was ever granted"})
	}
	var terms []term
	var termHolds []hold
	for _, c := range candidates {
		ts, st := c.result()
		terms = append(terms, ts...)
		for _, tm := range ts {
			termHolds = append(termHolds, tm.hold)
		}
		result.elect.Campaigns += st.Campaigns
		result.elect.Terms += st.Terms
		result.elect.Proclaimed += st.Proclaimed
		result.elect.Lost += st.Lost
		result.elect.Orphaned += st.Orphaned
		result.elect.SessionsLost += st.SessionsLost
	}
	changes := observer.result()
	result.observed = len(changes)
	if cfg.candidates > 0 {
		result.violations = append(result.violations, checkCapacity("election", termHolds, 1)...)
		if result.elect.Terms == 0 {
			result.violations = append(result.violations, violation{Check: "election", Detail: "nobody was ever elected"})
		}
		if sentinelErr != nil {
			result.violations = append(result.violations, violation{Check: "election-observer", Detail: sentinelErr.Error()})
		} else if len(changes) > 0 {
			// Every term ended before the sentinel, which the observer reported last.
			required, vs := checkObserver(changes, terms, changes[0].At, changes[len(changes)-1].At)
			result.requiredTerms = required
			result.violations = append(result.violations, vs...)
		}
	}

	result.violations = append(result.violations, tg.crashHazards()...)
	result.indexRaces = tg.writeIndexRaces()
	var segs []segment
	for _, w := range watchers {
		segs = append(segs, w.result()...)
	}
	truth, truthFrom, haveTruth := serverHistory(tg, closer, cfg.prefix, segs, until())
	wst, wvs := checkWatches(segs, truth, haveTruth, truthFrom, ops)
	result.watch = wst
	result.violations = append(result.violations, wvs...)
	for _, w := range watchers {
		if len(w.result()) == 0 {
			result.violations = append(result.violations, violation{Check: "watch", Detail: fmt.Sprintf("watcher %d never started a stream", w.id)})
		}
	}
	if n, ok := tg.nemesis.(*commandNemesis); ok {
		for _, f := range n.failures() {
			t.Logf("nemesis command failed: %s", f)
		}
	}
	return result
}

// serverHistory returns the server's events under prefix after the returned index:
// the in-process cluster's whole log, or on a real cluster a replay by a fresh watch
// from the earliest segment start, or, when the server's 1000-event history no longer
// reaches back that far, from as far back as it does (false if even that fails).
func serverHistory(tg *target, c *deimos.Client, prefix string, segs []segment, final uint64) ([]wEvent, uint64, bool) {
	if tg.cluster != nil {
		var out []wEvent
		for _, ev := range tg.cluster.History(prefix) {
			out = append(out, fromServer(ev))
		}
		return out, 0, true
	}
	if len(segs) == 0 {
		return nil, 0, false
	}
	from := segs[0].Start
	for _, s := range segs {
		from = min(from, s.Start)
	}
	if out, ok := replay(c, prefix, from, final); ok {
		return out, from, true
	}
	if final > 950 && final-950 > from {
		from = final - 950
		if out, ok := replay(c, prefix, from, final); ok {
			return out, from, true
		}
	}
	return nil, 0, false
}

// replay watches prefix from after index from until the event at final.
func replay(c *deimos.Client, prefix string, from, final uint64) ([]wEvent, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := watch.Watch(ctx, c, prefix, watch.WithRecursive(), watch.WithAfterIndex(from))
	if err != nil {
		return nil, false
	}
	defer s.Close()
	var out []wEvent
	for ev := range s.Events() {
		out = append(out, fromWatch(ev))
		if ev.Index() >= final {
			return out, true
		}
	}
	return nil, false
}
