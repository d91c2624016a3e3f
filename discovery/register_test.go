package discovery_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// shortTTL is the shortest TTL Register accepts: a heartbeat every second.
const shortTTL = discovery.MinTTL

// registerT registers inst with shortTTL unless opts say otherwise; the
// registration is orphaned with the test if it is still running.
func registerT(t testing.TB, k *kv.KV, inst discovery.Instance, opts ...discovery.RegisterOption) *discovery.Registration {
	t.Helper()
	opts = append([]discovery.RegisterOption{discovery.WithTTL(shortTTL)}, opts...)
	reg, err := discovery.Register(t.Context(), k, inst, opts...)
	require.NoError(t, err)
	t.Cleanup(reg.Orphan)
	return reg
}

// closableKV is newKV with its close function, for a client closed in the
// middle of a test.
func closableKV(t testing.TB, endpoints ...string) (*kv.KV, func()) {
	t.Helper()
	tr, err := transport.New(transport.Config{Endpoints: endpoints, RequestTimeout: 300 * time.Millisecond, DisableHedging: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tr.Close() })
	return kv.New(tr), func() { _ = tr.Close() }
}

// resolverPerNode starts one resolver of service on each node, reaching only
// that node: every node's view, lag included, is watched.
func resolverPerNode(t testing.TB, c *deimostest.Cluster, service string, opts ...discovery.ResolverOption) []*discovery.Resolver {
	t.Helper()
	var out []*discovery.Resolver
	for _, n := range c.Nodes() {
		out = append(out, newResolver(t, newKV(t, n.URL()), service, opts...))
	}
	return out
}

// has reports whether s holds every id, fresh or stale.
func has(s discovery.Snapshot, want ...string) bool {
	for _, id := range want {
		if _, ok := s.Lookup(id); !ok {
			return false
		}
	}
	return true
}

// lists reports whether s is fresh and holds every id.
func lists(s discovery.Snapshot, want ...string) bool { return !s.Stale && has(s, want...) }

// waitAll waits until every resolver's snapshot satisfies cond.
func waitAll(t testing.TB, rs []*discovery.Resolver, within time.Duration, what string, cond func(discovery.Snapshot) bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, r := range rs {
			if !cond(r.Snapshot()) {
				return false
			}
		}
		return true
	}, within, 5*time.Millisecond, what)
}

// statusLog records every status a registration reports.
type statusLog struct {
	mu    sync.Mutex
	kinds []discovery.StatusKind
	done  chan struct{}
}

func logStatuses(reg *discovery.Registration) *statusLog {
	l := &statusLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for st := range reg.StatusChanges() {
			l.mu.Lock()
			l.kinds = append(l.kinds, st.Kind)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *statusLog) seen() []discovery.StatusKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.kinds)
}

func waitStatus(t testing.TB, reg *discovery.Registration, want discovery.StatusKind, within time.Duration) discovery.Status {
	t.Helper()
	require.Eventually(t, func() bool { return reg.Status().Kind == want }, within, 5*time.Millisecond,
		"status %v (now %v)", want, reg.Status().Kind)
	return reg.Status()
}

// actions returns the actions of key's history and the values they wrote.
func actions(c *deimostest.Cluster, key string) (acts, values []string) {
	for _, ev := range c.History(key) {
		acts = append(acts, ev.Action)
		v := ""
		if ev.Node.Value != nil {
			v = *ev.Node.Value
		}
		values = append(values, v)
	}
	return acts, values
}

func TestRegister_IsVisibleInAResolver(t *testing.T) {
	c := cluster(t)
	k := newKV(t, c.Endpoints()...)
	inst := discovery.Instance{Service: "api", ID: "n1", Addr: "10.0.0.1:80", Version: "1.2.3", Weight: 5,
		Metadata: map[string]string{"zone": "a"}}
	reg := registerT(t, k, inst)
	assert.Equal(t, "/deimos/services/api/n1", reg.Key())
	st := reg.Status()
	assert.Equal(t, discovery.StatusRegistered, st.Kind)
	assert.NotZero(t, st.Index)
	assert.True(t, reg.Instance().Equal(inst))

	s := waitForIDs(t, newResolver(t, k, "api"), "n1")
	got, _ := s.Lookup("n1")
	assert.True(t, got.Equal(inst), "got %+v", got)

	resp, err := k.Get(t.Context(), reg.Key())
	require.NoError(t, err)
	assert.Contains(t, resp.Node.Value, `"reg":"`, "the value carries the registration's token")
	assert.NotNil(t, resp.Node.Expiration, "a TTL key")
	acts, _ := actions(c, reg.Key())
	assert.Equal(t, "create", acts[0], "created where absent, never set over a key")
}

func TestRegistration_UpdateIsACompareAndSwapOfItsOwnValue(t *testing.T) {
	c := cluster(t)
	k := newKV(t, c.Endpoints()...)
	reg := registerT(t, k, instance("api", "n1"))
	r := newResolver(t, k, "api")
	waitForIDs(t, r, "n1")

	require.NoError(t, reg.Update(t.Context(), func(i *discovery.Instance) {
		i.Weight = 9
		i.Metadata = map[string]string{"zone": "b"}
	}))
	waitFor(t, r, "the update", func(s discovery.Snapshot) bool {
		got, ok := s.Lookup("n1")
		return ok && got.Weight == 9 && got.Metadata["zone"] == "b"
	})
	assert.Equal(t, 9, reg.Instance().Weight)
	acts, _ := actions(c, reg.Key())
	assert.NotContains(t, acts, "set", "every write after the create compares")
	assert.NotContains(t, acts, "update")

	err := reg.Update(t.Context(), func(i *discovery.Instance) { i.ID = "n2" })
	require.ErrorIs(t, err, discovery.ErrInvalidInstance)
	err = reg.Update(t.Context(), func(i *discovery.Instance) { i.Weight = -1 })
	require.ErrorIs(t, err, discovery.ErrInvalidInstance)
	assert.Equal(t, 9, reg.Instance().Weight, "a refused update changes nothing")
}

// Once a resolver shows an instance draining, its balancers never pick it,
// while the instance stays listed for the calls still in flight.
func TestRegistration_DrainedInstanceIsNeverPicked(t *testing.T) {
	c := cluster(t, deimostest.WithWatchLag(20*time.Millisecond))
	k := newKV(t, c.Endpoints()...)
	registerT(t, k, instance("api", "a"))
	drained := registerT(t, k, instance("api", "b"))
	r := newResolver(t, newKV(t, c.Node(1).URL()), "api")
	b, err := discovery.NewBalancer(r, discovery.RoundRobin)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	waitForIDs(t, r, "a", "b")

	require.NoError(t, drained.Drain(t.Context()))
	assert.Equal(t, discovery.StateDraining, drained.Instance().State)
	s := waitFor(t, r, "b draining", func(s discovery.Snapshot) bool {
		got, ok := s.Lookup("b")
		return ok && got.State == discovery.StateDraining
	})
	assert.Equal(t, []string{"a", "b"}, ids(s), "a draining instance stays listed")
	require.Eventually(t, func() bool { return len(b.Pickable()) == 1 }, time.Second, time.Millisecond, "the balancer follows its resolver")
	for range 1000 {
		inst, done, err := b.Pick(t.Context())
		require.NoError(t, err)
		require.Equal(t, "a", inst.ID, "picked the draining instance")
		done(nil)
	}
}

// Deregister drains, then deletes by compare-and-delete: the instance is
// gone at once, not a TTL later.
func TestRegistration_DeregisterDeletesAtOnce(t *testing.T) {
	c := cluster(t, deimostest.WithWatchLag(20*time.Millisecond), deimostest.WithReapDelay(time.Hour, time.Hour))
	k := newKV(t, c.Endpoints()...)
	reg := registerT(t, k, instance("api", "n1"), discovery.WithTTL(10*time.Second))
	statuses := logStatuses(reg)
	rs := resolverPerNode(t, c, "api")
	waitAll(t, rs, 5*time.Second, "registered", func(s discovery.Snapshot) bool { return lists(s, "n1") })

	require.NoError(t, reg.Deregister(t.Context()))
	acts, values := actions(c, reg.Key())
	require.GreaterOrEqual(t, len(acts), 3)
	assert.Equal(t, "compareAndDelete", acts[len(acts)-1], "deleted, not left to the TTL: %v", acts)
	assert.Equal(t, "compareAndSwap", acts[len(acts)-2])
	assert.Contains(t, values[len(values)-2], `"state":"draining"`, "drained before the delete")
	// The reaper would take an hour: only the delete can empty the lists.
	waitAll(t, rs, 5*time.Second, "gone", func(s discovery.Snapshot) bool { return !s.Stale && len(s.Instances) == 0 })

	assert.Equal(t, discovery.StatusStopped, reg.Status().Kind)
	assert.NoError(t, reg.Status().Err)
	<-statuses.done // StatusChanges closed
	assert.Equal(t, discovery.StatusStopped, statuses.seen()[len(statuses.seen())-1])

	puts := c.Requests(http.MethodPut) + c.Requests(http.MethodDelete)
	require.NoError(t, reg.Deregister(t.Context()), "idempotent")
	assert.Equal(t, puts, c.Requests(http.MethodPut)+c.Requests(http.MethodDelete), "a second Deregister sends nothing")
	require.ErrorIs(t, reg.Drain(t.Context()), discovery.ErrNotRegistered)
}

// A key someone else rewrote is not ours any more: Deregister leaves it.
func TestRegistration_DeregisterLeavesAKeySomeoneElseRewrote(t *testing.T) {
	for name, opts := range map[string][]discovery.RegisterOption{
		"drained first": nil,
		"no drain":      {discovery.WithDrainWait(0)},
	} {
		t.Run(name, func(t *testing.T) {
			c := cluster(t)
			k := newKV(t, c.Endpoints()...)
			reg := registerT(t, k, instance("api", "n1"), opts...)
			other := `{"v":1,"addr":"elsewhere:80"}`
			_, err := k.Set(t.Context(), reg.Key(), other)
			require.NoError(t, err)

			err = reg.Deregister(t.Context())
			if err != nil {
				require.ErrorIs(t, err, kv.ErrTestFailed, "the only failure allowed: the compare")
			}
			resp, err := k.Get(t.Context(), reg.Key())
			require.NoError(t, err)
			assert.Equal(t, other, resp.Node.Value)
			acts, _ := actions(c, reg.Key())
			assert.Equal(t, "set", acts[len(acts)-1], "nothing written after the other owner's set: %v", acts)
		})
	}
}

func TestRegister_DuplicateIDIsRefusedAndNeverOverwritten(t *testing.T) {
	c := cluster(t)
	k := newKV(t, c.Endpoints()...)
	first := registerT(t, k, instance("api", "n1"))
	before, _ := actions(c, first.Key())

	for name, inst := range map[string]discovery.Instance{
		"same instance": instance("api", "n1"),
		"other address": {Service: "api", ID: "n1", Addr: "10.9.9.9:80"},
	} {
		_, err := discovery.Register(t.Context(), newKV(t, c.Node(2).URL()), inst, discovery.WithTTL(shortTTL))
		require.ErrorIs(t, err, discovery.ErrDuplicateInstance, name)
		require.ErrorIs(t, err, concurrency.ErrKeyTaken, name)
		require.ErrorIs(t, err, kv.ErrNodeExist, name)
	}
	acts, _ := actions(c, first.Key())
	for _, a := range acts[len(before):] {
		assert.Equal(t, "compareAndSwap", a, "only the first registrar's heartbeats: %v", acts)
	}
	assert.Equal(t, discovery.StatusRegistered, first.Status().Kind)
}

// The first registrar loses its key in an outage and a second takes it
// meanwhile: the first reports the conflict and never writes over the
// second; once the second leaves, the first gets its key back.
func TestRegistration_ConflictAfterALossNeverOverwritesTheNewOwner(t *testing.T) {
	t.Parallel()
	c := cluster(t, deimostest.WithReapDelay(0, 0), deimostest.WithServerTimeout(200*time.Millisecond))
	first := registerT(t, newKV(t, c.Node(0).URL()), instance("api", "n1"))
	key := first.Key()

	c.Node(0).Stop() // the first registrar is cut off; its key expires and is reaped
	require.Eventually(t, func() bool { a, _ := actions(c, key); return slices.Contains(a, "expire") },
		shortTTL+3*time.Second, 10*time.Millisecond)
	second := registerT(t, newKV(t, c.Node(1).URL()), discovery.Instance{Service: "api", ID: "n1", Addr: "second:80"})
	taken, _ := actions(c, key)
	require.NoError(t, c.Node(0).Start())

	st := waitStatus(t, first, discovery.StatusConflict, 5*time.Second)
	require.ErrorIs(t, st.Err, discovery.ErrDuplicateInstance)
	// It keeps trying (creates refused with 105) and writes nothing.
	puts := c.Node(0).Requests(http.MethodPut)
	require.Eventually(t, func() bool { return c.Node(0).Requests(http.MethodPut) >= puts+3 }, 5*time.Second, 10*time.Millisecond)
	acts, values := actions(c, key)
	for i := len(taken); i < len(acts); i++ {
		assert.Equal(t, "compareAndSwap", acts[i], "only the second's heartbeats: %v", acts)
		assert.Contains(t, values[i], "second:80")
	}
	assert.Equal(t, discovery.StatusRegistered, second.Status().Kind)

	require.NoError(t, second.Deregister(t.Context()))
	waitStatus(t, first, discovery.StatusRegistered, 5*time.Second)
	s := waitFor(t, newResolver(t, newKV(t, c.Endpoints()...), "api"), "the first is back", func(s discovery.Snapshot) bool {
		got, ok := s.Lookup("n1")
		return ok && got.Addr == "n1.local:80"
	})
	assert.Len(t, s.Instances, 1)
}

// Faults shorter than the TTL never take a registered instance out of any
// resolver, on nodes whose watches lag and whose reaper is late.
func TestRegister_NoFlapThroughOutagesShorterThanTheTTL(t *testing.T) {
	t.Parallel()
	faults := map[string]struct {
		start, stop func(*deimostest.Cluster)
		outage      time.Duration
		quiet       bool // the session never reports a loss
	}{
		"node stopped": {
			func(c *deimostest.Cluster) { c.Node(0).Stop() },
			func(c *deimostest.Cluster) { require.NoError(t, c.Node(0).Start()) },
			2 * time.Second, true,
		},
		"node paused": {
			func(c *deimostest.Cluster) { c.Node(0).Pause() },
			func(c *deimostest.Cluster) { c.Node(0).Resume() },
			2 * time.Second, true,
		},
		// Writes hang; the ones held are applied when quorum returns, so the
		// session may not learn in time that its refresh worked, report a
		// loss and adopt its own key back: resolvers never see a gap.
		"quorum lost": {
			func(c *deimostest.Cluster) { c.LoseQuorum() },
			func(c *deimostest.Cluster) { c.RestoreQuorum() },
			1500 * time.Millisecond, false,
		},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := cluster(t, deimostest.WithWatchLag(20*time.Millisecond),
				deimostest.WithReapDelay(500*time.Millisecond, 5*time.Second), deimostest.WithServerTimeout(200*time.Millisecond))
			k := newKV(t, c.Endpoints()...)
			want := []string{"a", "b", "c"}
			var logs []*statusLog
			for _, id := range want {
				logs = append(logs, logStatuses(registerT(t, k, instance("api", id))))
			}
			rs := resolverPerNode(t, c, "api")
			waitAll(t, rs, 5*time.Second, "registered", func(s discovery.Snapshot) bool { return lists(s, want...) })
			var recs []*recorder
			for _, r := range rs {
				recs = append(recs, record(r))
			}

			began := time.Now()
			f.start(c)
			<-time.After(f.outage) // the fault's length, not a synchronisation
			f.stop(c)
			// Outlast every expiry the fault could have caused, then prove
			// each resolver caught up.
			<-time.After(time.Until(began.Add(shortTTL + time.Second)))
			registerT(t, k, instance("api", "marker"))
			waitAll(t, rs, 5*time.Second, "caught up", func(s discovery.Snapshot) bool { return lists(s, "a", "b", "c", "marker") })

			for i, r := range rs {
				r.Close()
				<-recs[i].done
				for _, s := range recs[i].snapshots() {
					assert.True(t, has(s, want...), "resolver %d lost an instance: %v (stale %v)", i, ids(s), s.Stale)
				}
			}
			for i, l := range logs {
				if f.quiet {
					assert.Equal(t, []discovery.StatusKind{discovery.StatusRegistered}, l.seen(), "registration %d", i)
				}
			}
		})
	}
}

// Quorum lost for longer than the TTL loses the key (by the registration's
// clock; without quorum nothing is reaped, and the writes held meanwhile are
// applied when it returns, as on an isolated leader): it is back in every
// resolver within one heartbeat of quorum's return. The reaped case is
// TestRegister_RecreatesAReapedKeyWhenTheClusterReturns.
func TestRegister_BackWithinAHeartbeatAfterAnOutageLongerThanTheTTL(t *testing.T) {
	t.Parallel()
	c := cluster(t, deimostest.WithReapDelay(0, 0), deimostest.WithServerTimeout(200*time.Millisecond))
	k := newKV(t, c.Endpoints()...)
	var logged deimostest.LogBuffer
	reg := registerT(t, k, instance("api", "n1"), discovery.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	rs := resolverPerNode(t, c, "api")
	waitAll(t, rs, 5*time.Second, "registered", func(s discovery.Snapshot) bool { return lists(s, "n1") })

	c.LoseQuorum()
	// Retrying: by the registration's clock the key has expired.
	st := waitStatus(t, reg, discovery.StatusRetrying, shortTTL+3*time.Second)
	require.ErrorIs(t, st.Err, concurrency.ErrClaimLost)
	c.RestoreQuorum()
	restored := time.Now()

	// One heartbeat (a third of the TTL) plus a margin for a loaded machine.
	waitAll(t, rs, shortTTL/3+time.Second, "back in every resolver", func(s discovery.Snapshot) bool { return lists(s, "n1") })
	t.Logf("back in every resolver %v after quorum returned (heartbeat %v)", time.Since(restored).Round(time.Millisecond), shortTTL/3)
	waitStatus(t, reg, discovery.StatusRegistered, shortTTL/3+time.Second)
	resp, err := k.Get(t.Context(), reg.Key())
	require.NoError(t, err)
	assert.False(t, resp.Node.Expired(time.Now()), "kept alive again")
	assert.Contains(t, logged.String(), `level=WARN msg="discovery: registration lost its key; creating it again" key=/deimos/services/api/n1`)
	assert.Contains(t, logged.String(), `level=INFO msg="discovery: instance registered"`)
}

func TestRegistration_StatusChangesHoldsOnlyTheLatest(t *testing.T) {
	c := cluster(t)
	reg := registerT(t, newKV(t, c.Endpoints()...), instance("api", "n1"))
	require.NoError(t, reg.Deregister(t.Context()))
	st, ok := <-reg.StatusChanges()
	require.True(t, ok)
	assert.Equal(t, discovery.StatusStopped, st.Kind, "the unread registered status was replaced")
	_, ok = <-reg.StatusChanges()
	assert.False(t, ok, "closed after the final status")
}

// Every node down for longer than the TTL: the key expires and is reaped;
// the registration creates it again as soon as the nodes are back.
func TestRegister_RecreatesAReapedKeyWhenTheClusterReturns(t *testing.T) {
	t.Parallel()
	c := cluster(t, deimostest.WithReapDelay(0, 0))
	k := newKV(t, c.Endpoints()...)
	reg := registerT(t, k, instance("api", "n1"))
	r := newResolver(t, newKV(t, c.Endpoints()...), "api")
	waitForIDs(t, r, "n1")

	for _, n := range c.Nodes() {
		n.Stop()
	}
	waitStatus(t, reg, discovery.StatusRetrying, shortTTL+3*time.Second)
	require.Eventually(t, func() bool { a, _ := actions(c, reg.Key()); return slices.Contains(a, "expire") }, 5*time.Second, 10*time.Millisecond)
	for _, n := range c.Nodes() {
		require.NoError(t, n.Start())
	}
	restored := time.Now()
	require.Eventually(t, func() bool { a, _ := actions(c, reg.Key()); return a[len(a)-1] == "create" },
		shortTTL/3+time.Second, 5*time.Millisecond, "created again (where absent) within a heartbeat")
	t.Logf("re-created %v after the nodes returned", time.Since(restored).Round(time.Millisecond))
	waitStatus(t, reg, discovery.StatusRegistered, time.Second)
	waitForIDs(t, r, "n1")
}

// A crashed instance (no Deregister) leaves every resolver about a TTL
// after its last heartbeat, however late the server reaps it.
func TestRegistration_CrashedInstanceLeavesResolversWithinTTLPlusASecond(t *testing.T) {
	t.Parallel()
	crashes := map[string]func(*discovery.Registration, func()){
		"orphaned":      func(reg *discovery.Registration, _ func()) { reg.Orphan() },
		"client closed": func(_ *discovery.Registration, closeClient func()) { closeClient() },
	}
	for name, crash := range crashes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := cluster(t, deimostest.WithReapDelay(time.Hour, time.Hour))
			k, closeClient := closableKV(t, c.Endpoints()...)
			registerT(t, newKV(t, c.Endpoints()...), instance("api", "alive"))
			reg := registerT(t, k, instance("api", "crashed"))
			rs := resolverPerNode(t, c, "api")
			waitAll(t, rs, 5*time.Second, "registered", func(s discovery.Snapshot) bool { return lists(s, "alive", "crashed") })

			crashed := time.Now()
			crash(reg, closeClient)
			waitAll(t, rs, shortTTL+2*time.Second, "dropped", func(s discovery.Snapshot) bool {
				_, ok := s.Lookup("crashed")
				return !ok && lists(s, "alive")
			})
			t.Logf("dropped by every resolver %v after the crash (TTL %v)", time.Since(crashed).Round(time.Millisecond), shortTTL)
			resp, err := newKV(t, c.Endpoints()...).Get(t.Context(), reg.Key())
			require.NoError(t, err, "the server has not reaped it: the resolvers' own check removed it")
			assert.True(t, resp.Node.Expired(time.Now()))

			if name == "client closed" {
				st := waitStatus(t, reg, discovery.StatusStopped, 5*time.Second)
				require.ErrorIs(t, st.Err, kv.ErrClosed, "the registration stops with its client")
			}
		})
	}
}

// The first create's answer is lost after the server applied it: the
// registration finds its own value there and adopts it; nothing is
// overwritten.
func TestRegister_AdoptsItsOwnCreateWhoseAnswerWasLost(t *testing.T) {
	c := cluster(t)
	inst := instance("api", "n1")
	key := keyOf(t, inst)
	c.Node(0).SetHook(deimostest.FailNext(http.MethodPut, kv.KeyPath(key), deimostest.FaultDropResponse, 1))
	reg := registerT(t, newKV(t, c.Node(0).URL()), inst)

	acts, _ := actions(c, key)
	assert.Equal(t, "create", acts[0])
	for _, a := range acts[1:] {
		assert.Equal(t, "compareAndSwap", a, "adopted by compare-and-swap: %v", acts)
	}
	assert.Equal(t, discovery.StatusRegistered, reg.Status().Kind)
}

func TestRegister_RejectsTTLsThatWouldFlapAndBadInput(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c.Endpoints()...)
	good := instance("api", "n1")
	opts := func(o ...discovery.RegisterOption) []discovery.RegisterOption { return o }
	cases := map[string]struct {
		inst discovery.Instance
		opts []discovery.RegisterOption
		want []error
		msg  string
	}{
		"TTL under 3 s":          {good, opts(discovery.WithTTL(2 * time.Second)), []error{kv.ErrInvalidTTL, discovery.ErrInvalidOption, kv.ErrInvalidOption}, "want 3s to"},
		"TTL over the maximum":   {good, opts(discovery.WithTTL(kv.MaxTTL + time.Second)), []error{kv.ErrInvalidTTL}, ""},
		"TTL too short for skew": {good, opts(discovery.WithTTL(5*time.Second), discovery.WithClockSkew(500*time.Millisecond)), []error{kv.ErrInvalidTTL}, "want at least 6s"},
		"negative skew":          {good, opts(discovery.WithClockSkew(-time.Second)), []error{discovery.ErrInvalidOption}, ""},
		"negative drain wait":    {good, opts(discovery.WithDrainWait(-time.Second)), []error{discovery.ErrInvalidOption}, ""},
		"nil layout":             {good, opts(discovery.WithRegistrationLayout(nil)), []error{discovery.ErrInvalidOption}, ""},
		"no address":             {discovery.Instance{Service: "api", ID: "n1"}, nil, []error{discovery.ErrInvalidInstance}, ""},
		"ID of two segments":     {discovery.Instance{Service: "api", ID: "a/b", Addr: "h:1"}, nil, []error{discovery.ErrInvalidInstance, kv.ErrInvalidKey}, ""},
		"negative weight":        {discovery.Instance{Service: "api", ID: "n1", Addr: "h:1", Weight: -1}, nil, []error{discovery.ErrInvalidInstance}, ""},
		"Phobos ID without @": {discovery.Instance{Service: "api", ID: "h:1", Addr: "h:1"},
			opts(discovery.WithRegistrationLayout(discovery.PhobosLayout("/p"))), []error{discovery.ErrInvalidInstance}, ""},
	}
	for name, tc := range cases {
		_, err := discovery.Register(t.Context(), k, tc.inst, tc.opts...)
		for _, target := range tc.want {
			require.ErrorIs(t, err, target, name)
		}
		assert.Contains(t, err.Error(), tc.msg, name)
	}
	assert.Zero(t, c.Requests(""), "nothing was sent for bad input")

	for name, o := range map[string][]discovery.RegisterOption{
		"the minimum TTL":                {discovery.WithTTL(discovery.MinTTL)},
		"a TTL that fits a 500 ms skew":  {discovery.WithTTL(6 * time.Second), discovery.WithClockSkew(500 * time.Millisecond)},
		"a fractional TTL, rounded up":   {discovery.WithTTL(3500 * time.Millisecond)},
		"the default TTL and clock skew": nil,
	} {
		reg, err := discovery.Register(t.Context(), k, good, o...)
		require.NoError(t, err, name)
		require.NoError(t, reg.Deregister(t.Context()), name)
	}
}

func TestRegister_PhobosLayoutWritesWhatPhobosWrites(t *testing.T) {
	c := cluster(t)
	k := newKV(t, c.Endpoints()...)
	layout := discovery.PhobosLayout("/mrpc_example")
	reg := registerT(t, k, discovery.Instance{Service: "HelloWorld", ID: "tcp@localhost:30000", Addr: "localhost:30000",
		Weight: 10, Metadata: map[string]string{"group": "a"}}, discovery.WithRegistrationLayout(layout))
	require.Equal(t, "/mrpc_example/HelloWorld/tcp@localhost:30000", reg.Key())
	value := func() string {
		resp, err := k.Get(t.Context(), reg.Key())
		require.NoError(t, err)
		return resp.Node.Value
	}
	assert.Equal(t, "group=a&weight=10", value(), "Phobos's metadata string, nothing added")

	r := newResolver(t, k, "HelloWorld", discovery.WithLayout(layout))
	s := waitForIDs(t, r, "tcp@localhost:30000")
	assert.Equal(t, 10, s.Instances[0].EffectiveWeight())
	require.NoError(t, reg.Drain(t.Context()))
	assert.Equal(t, "group=a&state=inactive&weight=10", value(), "rpcx's inactive state")
	require.NoError(t, reg.Deregister(t.Context()))
	waitForIDs(t, r)
}

// Deregister cut short by an outage stops the registration all the same;
// called again once the cluster is back, it deletes what of ours is left,
// whichever of its values the writes held during the outage put there.
func TestRegistration_DeregisterAgainAfterAnOutageDeletesWhatIsLeft(t *testing.T) {
	t.Parallel()
	c := cluster(t, deimostest.WithServerTimeout(200*time.Millisecond))
	k := newKV(t, c.Endpoints()...)
	reg := registerT(t, k, instance("api", "n1"))
	c.LoseQuorum()
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	require.Error(t, reg.Deregister(ctx), "nothing can be written without quorum")
	assert.Equal(t, discovery.StatusStopped, reg.Status().Kind, "stopped all the same")
	c.RestoreQuorum()

	require.NoError(t, reg.Deregister(t.Context()))
	_, err := k.Get(t.Context(), reg.Key())
	require.ErrorIs(t, err, kv.ErrKeyNotFound)
	acts, _ := actions(c, reg.Key())
	assert.Equal(t, "compareAndDelete", acts[len(acts)-1], "%v", acts)
}
