package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/marsevilspirit/deimos-client/concurrency"
)

const leaderScript = `sleep 30 & echo "$DEIMOS_ELECTION_KEY $DEIMOS_ELECTION_VALUE $DEIMOS_ELECTION_ENTRY $DEIMOS_ELECTION_TOKEN"; wait $!`

// leaderLine is what leaderScript prints once elected.
type leaderLine struct {
	prefix, value, entry string
	token                uint64
}

func readLeader(t *testing.T, r *running) leaderLine {
	t.Helper()
	f := strings.Fields(r.out.next(t))
	require.Len(t, f, 4)
	token, err := strconv.ParseUint(f[3], 10, 64)
	require.NoError(t, err)
	return leaderLine{f[0], f[1], f[2], token}
}

// Two candidates: the first runs its command while leader; when it ends
// (SIGTERM), it resigns and the second takes over with a larger token; when
// the second's candidacy is deleted behind its back, its command is stopped
// and it exits 1.
func TestElect_RunsWhileLeaderAndHandsOver(t *testing.T) {
	c := newCluster(t)
	client := sdk(t, c)
	ctx := testContext(t)
	a := start(t, c.Endpoints(), "elect", "/election/web", "alpha", "--", "sh", "-c", leaderScript)
	first := readLeader(t, a)
	assert.Equal(t, leaderLine{"/election/web", "alpha", first.entry, first.token}, first)
	observed := concurrency.Observe(ctx, client, "/election/web")
	require.Equal(t, "alpha", nextLeader(t, observed), "others read the leader's value")

	b := start(t, c.Endpoints(), "elect", "/election/web", "beta", "--", "sh", "-c", leaderScript)
	require.Eventually(t, func() bool {
		resp, err := client.Get(ctx, "/election/web")
		return err == nil && len(resp.Node.Nodes) == 2
	}, waitLong, 5*time.Millisecond, "beta campaigns")
	assert.Empty(t, b.out.all(), "beta waits while alpha leads")

	a.signals <- syscall.SIGTERM
	assert.Equal(t, 128+int(syscall.SIGTERM), a.wait(t), "alpha exits with its command's status")
	second := readLeader(t, b)
	assert.Equal(t, "beta", second.value)
	assert.Greater(t, second.token, first.token, "the token grows from one leader to the next")
	assert.Equal(t, "beta", nextLeader(t, observed))

	_, err := client.Delete(ctx, second.entry)
	require.NoError(t, err)
	assert.Equal(t, exitError, b.wait(t))
	assert.Contains(t, b.stderr.all(), "leadership lost while the command ran")
}

func TestElect_CommandStatusAndResign(t *testing.T) {
	c := newCluster(t)
	r := ctl(t, c.Endpoints(), "elect", "/election/once", "v", "--", "sh", "-c", "exit 5")
	requireCode(t, 5, r)
	resp, err := sdk(t, c).Get(testContext(t), "/election/once")
	require.NoError(t, err)
	assert.Empty(t, resp.Node.Nodes, "resigned: no candidacy left")
}

func TestElect_NeedsDashDash(t *testing.T) {
	c := newCluster(t)
	requireCode(t, exitUsage, ctl(t, c.Endpoints(), "elect", "/e", "v", "true"))
	requireCode(t, exitUsage, ctl(t, c.Endpoints(), "elect", "/e", "--", "true"))
}

// nextLeader returns the value of the next leader an observer reports,
// skipping moments without one.
func nextLeader(t *testing.T, observed <-chan concurrency.Leadership) string {
	t.Helper()
	for l := range observed {
		if l.Leader != nil {
			return l.Leader.Value
		}
	}
	t.Fatal("observer ended without a leader")
	return ""
}
