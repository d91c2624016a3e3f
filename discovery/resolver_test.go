package discovery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/internal/transport"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestResolver_ListsThenFollows(t *testing.T) {
	c := cluster(t)
	k := newKV(t, c.Endpoints()...)
	register(t, k, instance("api", "b"), 0)
	register(t, k, instance("api", "a"), 0)

	r := newResolver(t, k, "api")
	s := waitForIDs(t, r, "a", "b")
	assert.Equal(t, "api", s.Service)
	assert.Equal(t, "a.local:80", s.Instances[0].Addr)

	register(t, k, instance("api", "c"), 0)
	resp, err := k.Delete(t.Context(), keyOf(t, instance("api", "a")))
	require.NoError(t, err)
	s = waitForIDs(t, r, "b", "c")
	assert.GreaterOrEqual(t, s.Index, resp.Index)
	assert.False(t, s.Stale)
	assert.NoError(t, s.Err)

	changed := instance("api", "b")
	changed.Weight, changed.Metadata = 7, map[string]string{"zone": "z1"}
	register(t, k, changed, 0)
	s = waitFor(t, r, "the new value of b", func(s discovery.Snapshot) bool {
		b, ok := s.Lookup("b")
		return ok && b.Weight == 7
	})
	b, _ := s.Lookup("b")
	assert.True(t, b.Equal(changed), "got %+v", b)
}

func TestResolver_IgnoresOtherServicesAndForeignKeys(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c.Endpoints()...)
	register(t, k, instance("api", "a"), 0)
	register(t, k, instance("apix", "z"), 0)
	_, err := k.Set(t.Context(), "/deimos/services/api/garbage", "not json")
	require.NoError(t, err)
	_, err = k.Set(t.Context(), "/deimos/services/api/nested/deeper", `{"v":1,"addr":"x:1"}`)
	require.NoError(t, err)

	r := newResolver(t, k, "api")
	waitForIDs(t, r, "a")
}

func TestResolver_StartsStaleWithoutTheClusterAndFillsIn(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c.Endpoints()...)
	c.Node(0).Stop()

	r := newResolver(t, k, "api")
	s := r.Snapshot()
	assert.True(t, s.Stale, "no listing yet")
	assert.Empty(t, s.Instances)
	waitFor(t, r, "the failure is reported", func(s discovery.Snapshot) bool { return s.Err != nil })

	require.NoError(t, c.Node(0).Start())
	register(t, k, instance("api", "a"), 0)
	waitForIDs(t, r, "a")
	assert.NoError(t, r.Snapshot().Err)
}

func TestResolver_RequireFirstListFailsWithoutTheCluster(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c.Endpoints()...)
	c.Node(0).Stop()
	_, err := discovery.NewResolver(t.Context(), k, "api",
		discovery.WithRequireFirstList(), discovery.WithListTimeout(200*time.Millisecond))
	require.Error(t, err)
	assert.ErrorIs(t, err, kv.ErrClusterUnavailable)

	require.NoError(t, c.Node(0).Start())
	register(t, k, instance("api", "a"), 0)
	r, err := discovery.NewResolver(t.Context(), k, "api", discovery.WithRequireFirstList())
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, []string{"a"}, ids(r.Snapshot()), "the first list is in before NewResolver returns")
	assert.False(t, r.Snapshot().Stale)
}

func TestResolver_HeartbeatsPublishNothing(t *testing.T) {
	c := cluster(t)
	k := newKV(t, c.Endpoints()...)
	inst := instance("api", "a")
	key := keyOf(t, inst)
	first := register(t, k, inst, 30*time.Second)
	r := newResolver(t, k, "api")
	waitForIDs(t, r, "a")
	before := discovery.PublishedCount(r)

	value := first.Node.Value
	var last *kv.Response
	var err error
	for range 5 {
		// A refresh resends the value with a TTL: an update event each time.
		_, err = k.Update(t.Context(), key, value, kv.WithTTL(30*time.Second))
		require.NoError(t, err)
		last, err = k.CompareAndSwap(t.Context(), key, value, kv.WithPrevValue(value), kv.WithTTL(30*time.Second))
		require.NoError(t, err)
	}
	require.Equal(t, first.Node.CreatedIndex, last.Node.CreatedIndex)

	// A real change after the heartbeats: once it is visible, the resolver
	// has seen every heartbeat before it.
	marker := register(t, k, instance("api", "b"), 0)
	s := waitForIDs(t, r, "a", "b")
	assert.GreaterOrEqual(t, s.Index, marker.Index)
	assert.Equal(t, before+1, discovery.PublishedCount(r), "only the marker was published")
}

func TestResolver_HidesAnExpiredKeyTheServerHasNotReaped(t *testing.T) {
	c := cluster(t, deimostest.WithReapDelay(time.Hour, time.Hour))
	k := newKV(t, c.Endpoints()...)
	register(t, k, instance("api", "stays"), 0)
	crashed := register(t, k, instance("api", "crashed"), time.Second)
	r := newResolver(t, k, "api")
	waitForIDs(t, r, "crashed", "stays")

	s := waitForIDs(t, r, "stays")
	assert.True(t, s.Index >= crashed.Index)
	// The server still holds the key: only the client-side check removed it.
	resp, err := k.Get(t.Context(), keyOf(t, instance("api", "crashed")))
	require.NoError(t, err)
	assert.LessOrEqual(t, resp.Node.TTL, int64(0))
	assert.True(t, resp.Node.Expired(time.Now()))

	// A key listed when already expired is hidden from the start.
	r2 := newResolver(t, k, "api")
	waitForIDs(t, r2, "stays")
}

func TestResolver_AKeyRefreshedAfterItsExpirationComesBack(t *testing.T) {
	c := deimostest.NewCluster(t, 1, deimostest.WithReapDelay(time.Hour, time.Hour))
	k := newKV(t, c.Endpoints()...)
	inst := instance("api", "late")
	first := register(t, k, inst, time.Second)
	r := newResolver(t, k, "api")
	waitForIDs(t, r, "late")
	waitForIDs(t, r)

	_, err := k.CompareAndSwap(t.Context(), keyOf(t, inst), first.Node.Value,
		kv.WithPrevValue(first.Node.Value), kv.WithTTL(time.Minute))
	require.NoError(t, err)
	waitForIDs(t, r, "late")
}

func TestResolver_FlagsAListThatEmpties(t *testing.T) {
	c := cluster(t)
	k := newKV(t, c.Endpoints()...)
	register(t, k, instance("api", "a"), 0)
	register(t, k, instance("api", "b"), 0)
	r := newResolver(t, k, "api")
	assert.False(t, waitForIDs(t, r, "a", "b").Emptied)

	_, err := k.Delete(t.Context(), "/deimos/services/api", kv.WithRecursive())
	require.NoError(t, err)
	s := waitForIDs(t, r)
	assert.True(t, s.Emptied, "N > 0 to 0 is flagged")

	register(t, k, instance("api", "c"), 0)
	assert.False(t, waitForIDs(t, r, "c").Emptied)
}

func TestResolver_UpdatesHoldsOnlyTheLatestSnapshot(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c.Endpoints()...)
	r := newResolver(t, k, "api")
	for _, id := range []string{"a", "b", "c"} {
		register(t, k, instance("api", id), 0)
		waitFor(t, r, id, func(s discovery.Snapshot) bool { _, ok := s.Lookup(id); return ok })
	}
	// Nobody read Updates: it holds just the newest, without blocking the
	// resolver.
	s := <-r.Updates()
	assert.Equal(t, []string{"a", "b", "c"}, ids(s))
	select {
	case s := <-r.Updates():
		t.Fatalf("a second, older snapshot was queued: %v", ids(s))
	default:
	}
}

func TestResolver_SurvivesTheLossOfAnyNode(t *testing.T) {
	c := cluster(t)
	k := newKV(t, c.Endpoints()...)
	for _, id := range []string{"a", "b", "c"} {
		register(t, k, instance("api", id), 0)
	}
	r := newResolver(t, k, "api")
	waitForIDs(t, r, "a", "b", "c")
	rec := record(r)

	faults := []struct {
		name       string
		fail, heal func(*deimostest.Node)
	}{
		{"stop", (*deimostest.Node).Stop, func(n *deimostest.Node) { require.NoError(t, n.Start()) }},
		{"pause", (*deimostest.Node).Pause, (*deimostest.Node).Resume},
	}
	for _, f := range faults {
		for i, n := range c.Nodes() {
			var others []string
			for _, o := range c.Nodes() {
				if o != n {
					others = append(others, o.URL())
				}
			}
			writer := newKV(t, others...)
			f.fail(n)
			id := f.name + string(rune('0'+i))
			register(t, writer, instance("api", id), 0)
			waitFor(t, r, "follows "+id+" with "+n.Name()+" down", func(s discovery.Snapshot) bool {
				_, ok := s.Lookup(id)
				return ok
			})
			f.heal(n)
		}
	}
	r.Close()
	<-rec.done
	assert.Equal(t, 3, rec.minCountAfter(3), "no instance disappeared")
}

// An outage of the resolver's only node that lasts longer than the TTL: the
// resolver turns stale and keeps its list even though, on its clock, every
// key has expired; only after the outage does it learn which did.
func TestResolver_KeepsItsListThroughAnOutageLongerThanTheTTL(t *testing.T) {
	c := cluster(t, deimostest.WithReapDelay(time.Hour, time.Hour))
	k := newKV(t, c.Node(0).URL())
	writer := newKV(t, c.Node(1).URL())
	register(t, writer, instance("api", "alive"), 2*time.Second)
	register(t, writer, instance("api", "crashed"), 2*time.Second)
	r := newResolver(t, k, "api")
	waitForIDs(t, r, "alive", "crashed")
	rec := record(r)

	// "alive" keeps heartbeating through another node; "crashed" does not.
	ctx, stop := context.WithCancel(t.Context())
	beats := heartbeat(ctx, writer, instance("api", "alive"), 2*time.Second, 300*time.Millisecond)
	c.Node(0).Stop()
	s := waitFor(t, r, "stale", func(s discovery.Snapshot) bool { return s.Stale })
	assert.Error(t, s.Err)
	<-time.After(3 * time.Second) // beyond the TTL, by every clock
	s = r.Snapshot()
	assert.True(t, s.Stale)
	assert.Equal(t, []string{"alive", "crashed"}, ids(s), "a stale resolver keeps its list")

	require.NoError(t, c.Node(0).Start())
	s = waitForIDs(t, r, "alive")
	assert.False(t, s.Stale)
	stop()
	<-beats
	r.Close()
	<-rec.done
	assert.True(t, rec.sawStale())
	for _, s := range rec.snapshots() {
		if s.Stale {
			assert.Len(t, s.Instances, 2, "nothing disappears while stale")
		}
	}
}

func TestResolver_LosingQuorumForLessThanTheTTLRemovesNothing(t *testing.T) {
	c := cluster(t, deimostest.WithServerTimeout(time.Second))
	k := newKV(t, c.Endpoints()...)
	ctx, stop := context.WithCancel(t.Context())
	var beats []<-chan struct{}
	for _, id := range []string{"a", "b", "c"} {
		register(t, k, instance("api", id), 5*time.Second)
		beats = append(beats, heartbeat(ctx, k, instance("api", id), 5*time.Second, time.Second))
	}
	r := newResolver(t, k, "api")
	waitForIDs(t, r, "a", "b", "c")
	rec := record(r)

	c.LoseQuorum()
	<-time.After(2 * time.Second) // heartbeats hang meanwhile
	c.RestoreQuorum()
	register(t, k, instance("api", "marker"), 0)
	waitForIDs(t, r, "a", "b", "c", "marker")
	stop()
	for _, b := range beats {
		<-b
	}
	r.Close()
	<-rec.done
	assert.Equal(t, 3, rec.minCountAfter(3), "no instance disappeared")
}

// Without quorum nobody can refresh a key, and the check read that would
// confirm an expiry hangs: the resolver turns stale and keeps the list.
func TestResolver_LosingQuorumForLongerThanTheTTLKeepsTheListStale(t *testing.T) {
	c := cluster(t, deimostest.WithServerTimeout(time.Second))
	k := newKV(t, c.Endpoints()...)
	register(t, k, instance("api", "a"), 2*time.Second)
	register(t, k, instance("api", "b"), 2*time.Second)
	r := newResolver(t, k, "api")
	waitForIDs(t, r, "a", "b")

	c.LoseQuorum()
	s := waitFor(t, r, "stale once an expiry cannot be confirmed", func(s discovery.Snapshot) bool { return s.Stale })
	assert.Equal(t, []string{"a", "b"}, ids(s))
	assert.Error(t, s.Err)
	c.RestoreQuorum()
	// Nothing refreshed the keys: with quorum back they expire for real.
	waitForIDs(t, r)
}

func TestResolver_SpreadsTheRelistsOfResolversThatFellBehindTogether(t *testing.T) {
	const resolvers, window = 100, 2 * time.Second
	c := deimostest.NewCluster(t, 3, deimostest.WithWatchTimeout(1500*time.Millisecond))
	k := newKV(t, c.Endpoints()...)
	register(t, k, instance("herd", "a"), 0)
	var all []*discovery.Resolver
	for range resolvers {
		all = append(all, newResolver(t, k, "herd", discovery.WithRelistJitter(window)))
	}
	for _, r := range all {
		waitForIDs(t, r, "a")
	}

	lists := deimostest.NewRecorder(deimostest.Listings("/deimos/services/herd"))
	for _, n := range c.Nodes() {
		n.SetHook(lists.Hook())
	}
	// A burst of writes elsewhere flushes the history of every idle watcher.
	for i := range 1100 {
		_, err := k.Set(t.Context(), "/elsewhere", string(rune('a'+i%26)))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(lists.Times()) >= resolvers },
		30*time.Second, 10*time.Millisecond, "every resolver lists again")

	at := lists.Times()
	p10, p90 := at[len(at)/10], at[len(at)*9/10]
	assert.GreaterOrEqual(t, p90.Sub(p10), window/4,
		"the middle 80%% of %d re-lists over a %v jitter window came within %v", len(at), window, p90.Sub(p10))
	assert.GreaterOrEqual(t, at[len(at)-1].Sub(at[0]), window/2)
	for _, r := range all {
		assert.Equal(t, []string{"a"}, ids(r.Snapshot()), "nothing changed for the service")
	}
}

func TestResolver_StopsWithItsClient(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	tr, err := transport.New(transport.Config{Endpoints: c.Endpoints(), RequestTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	r, err := discovery.NewResolver(t.Context(), kv.New(tr), "api")
	require.NoError(t, err)
	defer r.Close()
	waitFor(t, r, "fresh", func(s discovery.Snapshot) bool { return !s.Stale })

	require.NoError(t, tr.Close())
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the resolver kept running on a closed client")
	}
	assert.ErrorIs(t, r.Err(), kv.ErrClosed)
	_, open := <-r.Updates()
	for open {
		_, open = <-r.Updates()
	}
}

func TestResolver_CloseEndsItCleanly(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c.Endpoints()...)
	r, err := discovery.NewResolver(t.Context(), k, "api")
	require.NoError(t, err)
	assert.NoError(t, r.Err())
	r.Close()
	<-r.Done()
	assert.NoError(t, r.Err())
	r.Close() // idempotent
}

func TestResolver_RejectsBadInput(t *testing.T) {
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c.Endpoints()...)
	for name, tc := range map[string]struct {
		service string
		opts    []discovery.ResolverOption
		want    error
	}{
		"empty service":    {"", nil, discovery.ErrInvalidInstance},
		"slash in service": {"a/b", nil, kv.ErrInvalidKey},
		"hidden service":   {"_a", nil, kv.ErrInvalidKey},
		"dot service":      {"..", nil, kv.ErrInvalidKey},
		"nil layout":       {"a", []discovery.ResolverOption{discovery.WithLayout(nil)}, discovery.ErrInvalidOption},
		"bad timeout":      {"a", []discovery.ResolverOption{discovery.WithListTimeout(0)}, kv.ErrInvalidOption},
		"bad jitter":       {"a", []discovery.ResolverOption{discovery.WithRelistJitter(-1)}, discovery.ErrInvalidOption},
		"bad grace":        {"a", []discovery.ResolverOption{discovery.WithExpiryGrace(-1)}, discovery.ErrInvalidOption},
		"nil clock":        {"a", []discovery.ResolverOption{discovery.WithClock(nil)}, discovery.ErrInvalidOption},
		"reserved base":    {"a", []discovery.ResolverOption{discovery.WithLayout(discovery.PhobosLayout("/_deimos"))}, kv.ErrInvalidKey},
	} {
		_, err := discovery.NewResolver(t.Context(), k, tc.service, tc.opts...)
		assert.ErrorIs(t, err, tc.want, name)
		var ie *discovery.InstanceError
		if errors.Is(err, discovery.ErrInvalidInstance) {
			assert.ErrorAs(t, err, &ie, name)
		}
	}
}
