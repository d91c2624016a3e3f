package concurrency_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	deimos "github.com/marsevilspirit/deimos-client"
	"github.com/marsevilspirit/deimos-client/concurrency"
	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

// expectedLeaders replays the election directory's history: the key (and
// value) at the head of the queue after each event, "" for no leader.
func expectedLeaders(c *deimostest.Cluster, dir string) []string {
	var queue []string // keys in creation order
	values := map[string]string{}
	var out []string
	last := "\x00"
	for _, ev := range c.History(dir) {
		k := ev.Node.Key
		if k == dir {
			continue
		}
		switch ev.Action {
		case "create":
			queue = append(queue, k)
			values[k] = candidateValue(*ev.Node.Value)
		case "compareAndSwap":
			values[k] = candidateValue(*ev.Node.Value)
		case "delete", "compareAndDelete", "expire":
			queue = slices.DeleteFunc(queue, func(q string) bool { return q == k })
		}
		head := ""
		if len(queue) > 0 {
			head = queue[0] + "=" + values[queue[0]]
		}
		if head != last {
			out = append(out, head)
			last = head
		}
	}
	return out
}

// candidateValue decodes the value field of a stored queue entry.
func candidateValue(raw string) string {
	var env struct{ Value string }
	_ = json.Unmarshal([]byte(raw), &env)
	return env.Value
}

func TestElection_ObserversSeeEveryLeaderInOrder(t *testing.T) {
	const dir = "/elections/svc"
	c := deimostest.NewCluster(t, 3)
	client := newClient(t, c, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	obs := concurrency.Observe(ctx, client, dir)
	first := <-obs
	require.Nil(t, first.Leader, "nobody campaigns yet")

	var got []concurrency.Leadership
	collected := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(collected)
		for l := range obs {
			got = append(got, l)
			if l.Leader == nil {
				select {
				case <-stop:
					return
				default:
				}
			}
		}
	}()

	sessions := make([]*concurrency.Session, 3)
	elections := make([]*concurrency.Election, 3)
	for i := range elections {
		sessions[i] = newSession(t, client, 2*time.Second)
		elections[i] = concurrency.NewElection(sessions[i], dir, concurrency.WithOwner("n"+string(rune('a'+i))))
	}
	_, err := elections[0].Leader(ctx)
	require.ErrorIs(t, err, concurrency.ErrNoLeader)

	require.NoError(t, elections[0].Campaign(ctx, "addr-a"))
	waiting := make(chan error, 2)
	go func() { waiting <- elections[1].Campaign(ctx, "addr-b") }()
	require.Eventually(t, func() bool { return len(queueKeys(t, client, dir)) == 2 }, 5*time.Second, 10*time.Millisecond)
	go func() { waiting <- elections[2].Campaign(ctx, "addr-c") }()
	require.Eventually(t, func() bool { return len(queueKeys(t, client, dir)) == 3 }, 5*time.Second, 10*time.Millisecond)

	require.NoError(t, elections[0].Proclaim(ctx, "addr-a2"))
	l, err := elections[1].Leader(ctx)
	require.NoError(t, err)
	require.Equal(t, "addr-a2", l.Value)
	require.Equal(t, "na", l.Owner)
	require.ErrorIs(t, elections[1].Proclaim(ctx, "x"), concurrency.ErrNotLeader)

	require.NoError(t, elections[0].Resign(ctx)) // b leads
	require.NoError(t, <-waiting)
	require.True(t, elections[1].Held())
	sessions[1].Orphan() // b crashes; c takes over once its entry expires
	require.NoError(t, <-waiting)
	require.True(t, elections[2].Held())
	close(stop)
	require.NoError(t, elections[2].Resign(ctx)) // nobody leads
	<-collected

	want := expectedLeaders(c, dir)
	var seen []string
	for _, l := range got {
		s := ""
		if l.Leader != nil {
			s = l.Leader.Key + "=" + l.Leader.Value
		}
		seen = append(seen, s)
	}
	require.Equal(t, want, seen, "every head of the queue, in order, ending with no leader")
	require.Len(t, want, 5, "a, a proclaimed, b, c, none")
	_, err = elections[0].Leader(ctx)
	require.ErrorIs(t, err, concurrency.ErrNoLeader)
}

func TestElection_ProclaimWithUnknownOutcomeDoesNotLoseTheSession(t *testing.T) {
	const dir = "/elections/unknown"
	c := deimostest.NewCluster(t, 3)
	client := deimos.New(deimos.WithEndpoints(c.Node(0).URL()), deimos.WithRequestTimeout(300*time.Millisecond))
	defer client.Close()
	ctx := t.Context()
	s := newSession(t, client, 10*time.Second)
	e := concurrency.NewElection(s, dir)
	require.NoError(t, e.Campaign(ctx, "v1"))

	// The proclaim is applied but its answer is lost; every retry then hangs
	// until the caller gives up: the client cannot know which value is stored.
	release := make(chan struct{})
	var puts atomic.Int32
	c.Node(0).SetHook(func(r deimostest.Request) deimostest.Fault {
		if r.Method != "PUT" || !strings.HasPrefix(r.Path, "/keys"+dir+"/") {
			return deimostest.FaultNone
		}
		if puts.Add(1) == 1 {
			return deimostest.FaultDropResponse
		}
		<-release
		return deimostest.FaultReset
	})
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	require.Error(t, e.Proclaim(pctx, "v2"))
	close(release)
	c.Node(0).SetHook(nil)
	l, err := e.Leader(ctx)
	require.NoError(t, err)
	require.Equal(t, "v2", l.Value, "the first proclaim was applied")

	// The next refresh compares against the value actually stored: the
	// session, and the leadership, survive the unknown outcome.
	require.NoError(t, s.Refresh(ctx))
	require.NoError(t, s.Err())
	require.True(t, e.Held())
	require.NoError(t, e.Proclaim(ctx, "v3"))
	l, err = e.Leader(ctx)
	require.NoError(t, err)
	require.Equal(t, "v3", l.Value)
	require.NoError(t, e.Resign(ctx))
	require.Empty(t, queueKeys(t, client, dir))
}
