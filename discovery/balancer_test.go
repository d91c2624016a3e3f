package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/discovery"
	"github.com/marsevilspirit/deimos-client/kv"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

var errBoom = errors.New("connection refused")

// service registers insts on a fresh cluster and returns a resolver that
// lists them all.
type service struct {
	k *kv.KV
	r *discovery.Resolver
}

func newService(t *testing.T, insts ...discovery.Instance) service {
	t.Helper()
	c := deimostest.NewCluster(t, 1)
	k := newKV(t, c.Endpoints()...)
	var want []string
	for _, inst := range insts {
		register(t, k, inst, 0)
		want = append(want, inst.ID)
	}
	r := newResolver(t, k, "svc")
	waitFor(t, r, "every instance listed", func(s discovery.Snapshot) bool { return len(s.Instances) == len(want) })
	return service{k: k, r: r}
}

func (s service) balancer(t *testing.T, strategy discovery.Strategy, opts ...discovery.BalancerOption) *discovery.Balancer {
	t.Helper()
	b, err := discovery.NewBalancer(s.r, strategy, opts...)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	return b
}

func svcInstances(ids ...string) []discovery.Instance {
	var out []discovery.Instance
	for _, id := range ids {
		out = append(out, instance("svc", id))
	}
	return out
}

func weighted(id string, w int) discovery.Instance {
	inst := instance("svc", id)
	inst.Weight = w
	return inst
}

// picks picks n times (done with nil) and counts by ID.
func picks(t *testing.T, b *discovery.Balancer, ctx context.Context, n int) (map[string]int, []string) {
	t.Helper()
	counts := map[string]int{}
	var order []string
	for range n {
		inst, done, err := b.Pick(ctx)
		require.NoError(t, err)
		done(nil)
		counts[inst.ID]++
		order = append(order, inst.ID)
	}
	return counts, order
}

func TestBalancer_RoundRobinIsExact(t *testing.T) {
	b := newService(t, svcInstances("a", "b", "c")...).balancer(t, discovery.RoundRobin)
	counts, order := picks(t, b, t.Context(), 300)
	assert.Equal(t, map[string]int{"a": 100, "b": 100, "c": 100}, counts)
	for i := 3; i < len(order); i++ {
		require.Equal(t, order[i-3], order[i], "the rotation repeats every 3 picks")
	}
	assert.ElementsMatch(t, []string{"a", "b", "c"}, order[:3])
}

func TestBalancer_RandomIsUniform(t *testing.T) {
	b := newService(t, svcInstances("a", "b", "c")...).balancer(t, discovery.Random)
	counts, _ := picks(t, b, t.Context(), 30000)
	for id, n := range counts {
		assert.InDelta(t, 10000, n, 1000, id)
	}
	assert.Len(t, counts, 3)
}

func TestBalancer_WeightedRoundRobinIsExactAndSmooth(t *testing.T) {
	b := newService(t, weighted("a", 1), weighted("b", 2), weighted("c", 3)).balancer(t, discovery.WeightedRoundRobin)
	counts, _ := picks(t, b, t.Context(), 600)
	assert.Equal(t, map[string]int{"a": 100, "b": 200, "c": 300}, counts)

	// nginx's example: weights 5, 1, 1 interleave rather than run.
	b = newService(t, weighted("a", 5), weighted("b", 1), weighted("c", 1)).balancer(t, discovery.WeightedRoundRobin)
	_, order := picks(t, b, t.Context(), 14)
	assert.Equal(t, []string{"a", "a", "b", "a", "c", "a", "a", "a", "a", "b", "a", "c", "a", "a"}, order)
}

func TestBalancer_PowerOfTwoChoicesAvoidsTheBusyInstance(t *testing.T) {
	b := newService(t, svcInstances("a", "b", "c")...).balancer(t, discovery.PowerOfTwoChoices)
	ctx := t.Context()
	// 30 calls that do not end spread evenly: each pick takes the less
	// loaded of two.
	held := map[string][]func(error){}
	for range 30 {
		inst, done, err := b.Pick(ctx)
		require.NoError(t, err)
		held[inst.ID] = append(held[inst.ID], done)
	}
	for id, calls := range held {
		assert.InDelta(t, 10, len(calls), 2, id)
	}
	// Only "a" keeps its calls.
	for _, id := range []string{"b", "c"} {
		for _, done := range held[id] {
			done(nil)
		}
	}
	counts, _ := picks(t, b, ctx, 1000)
	assert.Zero(t, counts["a"], "two distinct draws always include a less loaded instance")
	// Each wins at least its draws against "a" (a third of all draws).
	assert.Greater(t, counts["b"], 200)
	assert.Greater(t, counts["c"], 200)
	for _, done := range held["a"] {
		done(nil)
	}
}

func TestBalancer_ConsistentHashKeepsKeysAndMovesFewWhenOneJoins(t *testing.T) {
	var ids []string
	for i := range 10 {
		ids = append(ids, fmt.Sprintf("node-%02d", i))
	}
	s := newService(t, svcInstances(ids...)...)
	b := s.balancer(t, discovery.ConsistentHash)
	ctx := t.Context()

	_, _, err := b.Pick(ctx)
	require.ErrorIs(t, err, discovery.ErrNoHashKey)

	const keys = 10000
	owner := func() map[string]string {
		out := make(map[string]string, keys)
		for i := range keys {
			inst, done, err := b.Pick(discovery.WithHashKey(ctx, fmt.Sprint("user-", i)))
			require.NoError(t, err)
			done(nil)
			out[fmt.Sprint("user-", i)] = inst.ID
		}
		return out
	}
	before := owner()
	assert.Equal(t, before, owner(), "the same key goes to the same instance")
	share := map[string]int{}
	for _, id := range before {
		share[id]++
	}
	for _, id := range ids {
		assert.InDelta(t, keys/10, share[id], keys/20, "share of %s", id)
	}

	register(t, s.k, instance("svc", "node-new"), 0)
	require.Eventually(t, func() bool { return len(b.Pickable()) == 11 }, 10*time.Second, 5*time.Millisecond)
	after := owner()
	moved := 0
	for k, id := range after {
		if id != before[k] {
			moved++
			assert.Equal(t, "node-new", id, "a key only moves to the new instance")
		}
	}
	assert.InDelta(t, keys/11, moved, keys/22, "about 1/N of the keys move")
}

func TestBalancer_NeverPicksADrainingInstance(t *testing.T) {
	draining := instance("svc", "b")
	draining.State = discovery.StateDraining
	s := newService(t, instance("svc", "a"), draining, instance("svc", "c"))
	for _, strategy := range []discovery.Strategy{discovery.RoundRobin, discovery.Random,
		discovery.WeightedRoundRobin, discovery.PowerOfTwoChoices, discovery.ConsistentHash} {
		b := s.balancer(t, strategy)
		ctx := discovery.WithHashKey(t.Context(), "k")
		for i := range 500 {
			inst, done, err := b.Pick(discovery.WithHashKey(ctx, fmt.Sprint(i)))
			require.NoError(t, err)
			done(nil)
			require.NotEqual(t, "b", inst.ID, strategy.String())
		}
	}

	only := newService(t, draining)
	_, done, err := only.balancer(t, discovery.RoundRobin).Pick(t.Context())
	assert.ErrorIs(t, err, discovery.ErrNoInstances)
	assert.Nil(t, done)
}

func TestBalancer_EjectsAfterErrorsAndReadmitsAfterThePeriod(t *testing.T) {
	b := newService(t, svcInstances("a", "b", "c")...).balancer(t, discovery.RoundRobin,
		discovery.WithEjection(discovery.Ejection{Errors: 2, BaseDuration: 300 * time.Millisecond}))
	ctx := t.Context()
	fail := func(id string) {
		for {
			inst, done, err := b.Pick(ctx)
			require.NoError(t, err)
			if inst.ID == id {
				done(errBoom)
				return
			}
			done(nil)
		}
	}
	fail("a")
	assert.Empty(t, b.Ejected(), "one error is not enough")
	fail("a")
	assert.Equal(t, []string{"a"}, b.Ejected())
	counts, _ := picks(t, b, ctx, 100)
	assert.Zero(t, counts["a"])

	require.Eventually(t, func() bool { return len(b.Ejected()) == 0 }, 10*time.Second, 10*time.Millisecond)
	counts, _ = picks(t, b, ctx, 99)
	assert.Equal(t, 33, counts["a"], "back in the rotation")
}

func TestBalancer_ASuccessBetweenErrorsPreventsEjection(t *testing.T) {
	b := newService(t, svcInstances("a", "b")...).balancer(t, discovery.RoundRobin)
	ctx := t.Context()
	for i := range 20 { // every other call of "a" fails
		inst, done, err := b.Pick(ctx)
		require.NoError(t, err)
		if inst.ID == "a" && i%4 == 0 {
			done(errBoom)
		} else {
			done(nil)
		}
	}
	assert.Empty(t, b.Ejected())
}

func TestBalancer_NeverEjectsMoreThanTheMaxFraction(t *testing.T) {
	b := newService(t, svcInstances("a", "b", "c", "d")...).balancer(t, discovery.RoundRobin)
	ctx := t.Context()
	for range 40 { // every instance fails, over and over
		_, done, err := b.Pick(ctx)
		require.NoError(t, err)
		done(errBoom)
	}
	assert.Len(t, b.Ejected(), 2, "half of 4 at most")
	assert.Len(t, b.Pickable(), 2)
}

func TestBalancer_KeepsTheLastListWhenTheResolverEmpties(t *testing.T) {
	s := newService(t, svcInstances("a", "b")...)
	b := s.balancer(t, discovery.RoundRobin, discovery.WithEjection(discovery.Ejection{BaseDuration: time.Hour, MaxDuration: time.Hour}))
	ctx := t.Context()
	_, err := s.k.Delete(ctx, "/deimos/services/svc", kv.WithRecursive())
	require.NoError(t, err)
	waitFor(t, s.r, "emptied", func(s discovery.Snapshot) bool { return s.Emptied })

	counts, _ := picks(t, b, ctx, 10)
	assert.Equal(t, map[string]int{"a": 5, "b": 5}, counts, "the last non-empty list is kept")

	// The kept instances are really gone: ejection removes them all.
	for range 4 {
		_, done, err := b.Pick(ctx)
		require.NoError(t, err)
		done(errBoom)
	}
	_, _, err = b.Pick(ctx)
	assert.ErrorIs(t, err, discovery.ErrNoInstances)

	register(t, s.k, instance("svc", "c"), 0)
	require.Eventually(t, func() bool { return len(b.Pickable()) == 1 }, 10*time.Second, 5*time.Millisecond)
	counts, _ = picks(t, b, ctx, 3)
	assert.Equal(t, map[string]int{"c": 3}, counts)
}

func TestBalancer_FollowsTheResolver(t *testing.T) {
	s := newService(t, svcInstances("a")...)
	b := s.balancer(t, discovery.Random)
	register(t, s.k, instance("svc", "b"), 0)
	require.Eventually(t, func() bool { return len(b.Pickable()) == 2 }, 10*time.Second, 5*time.Millisecond)
	_, err := s.k.Delete(t.Context(), keyOf(t, instance("svc", "a")))
	require.NoError(t, err)
	require.Eventually(t, func() bool { p := b.Pickable(); return len(p) == 1 && p[0].ID == "b" }, 10*time.Second, 5*time.Millisecond)
}

func TestBalancer_WithoutInstancesReportsErrNoInstances(t *testing.T) {
	b := newService(t).balancer(t, discovery.PowerOfTwoChoices)
	_, done, err := b.Pick(t.Context())
	assert.ErrorIs(t, err, discovery.ErrNoInstances)
	assert.ErrorContains(t, err, "svc")
	assert.Nil(t, done)
}

func TestBalancer_PicksConcurrentlyWhileTheSetChanges(t *testing.T) {
	s := newService(t, svcInstances("a", "b", "c")...)
	var bs []*discovery.Balancer
	for _, strategy := range []discovery.Strategy{discovery.RoundRobin, discovery.Random,
		discovery.WeightedRoundRobin, discovery.PowerOfTwoChoices, discovery.ConsistentHash} {
		bs = append(bs, s.balancer(t, strategy))
	}
	ctx, stop := context.WithCancel(discovery.WithHashKey(t.Context(), "k"))
	var wg sync.WaitGroup
	for _, b := range bs {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					if _, done, err := b.Pick(ctx); err == nil {
						done([]error{nil, errBoom}[i%7/6])
					}
					runtime.Gosched()
				}
			}()
		}
	}
	for i := range 20 {
		register(t, s.k, instance("svc", fmt.Sprint("x", i)), 0)
	}
	waitFor(t, s.r, "23 instances", func(s discovery.Snapshot) bool { return len(s.Instances) == 23 })
	stop()
	wg.Wait()
	for _, b := range bs {
		assert.GreaterOrEqual(t, len(b.Pickable()), 12)
	}
}

func TestBalancer_RejectsBadOptions(t *testing.T) {
	s := newService(t)
	for name, tc := range map[string]struct {
		strategy discovery.Strategy
		opts     []discovery.BalancerOption
	}{
		"unknown strategy": {discovery.Strategy(99), nil},
		"no strategy":      {0, nil},
		"errors":           {discovery.RoundRobin, []discovery.BalancerOption{discovery.WithEjection(discovery.Ejection{Errors: -1})}},
		"fraction":         {discovery.RoundRobin, []discovery.BalancerOption{discovery.WithEjection(discovery.Ejection{MaxFraction: 2})}},
		"max below base":   {discovery.RoundRobin, []discovery.BalancerOption{discovery.WithEjection(discovery.Ejection{BaseDuration: time.Hour, MaxDuration: time.Minute})}},
		"virtual nodes":    {discovery.ConsistentHash, []discovery.BalancerOption{discovery.WithVirtualNodes(0)}},
	} {
		_, err := discovery.NewBalancer(s.r, tc.strategy, tc.opts...)
		assert.ErrorIs(t, err, discovery.ErrInvalidOption, name)
		assert.ErrorIs(t, err, kv.ErrInvalidOption, name)
	}
}
