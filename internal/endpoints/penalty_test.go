package endpoints

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// One soft failure (a plain 500, a cut body) must push an endpoint back only
// for a while: when its penalty never fades, power-of-two choices never picks
// it again while the others stay fast, and it never gets the chance to
// answer and clear its failure count.
func TestPick_SoftFailurePenaltyFades(t *testing.T) {
	s, err := New([]string{"http://a:1", "http://b:1", "http://c:1"}, Options{})
	require.NoError(t, err)
	defer s.Close()
	list := *s.list.Load()
	a := list[0]
	for _, e := range list {
		e.ObserveLatency(200 * time.Microsecond)
	}
	s.Failure(a, errors.New("500"), false)
	for i := 0; i < 300; i++ {
		require.NotSame(t, a, s.Pick(nil), "a fresh failure is avoided")
	}

	// Ten seconds later (simulated), the failure is old news.
	a.mu.Lock()
	a.lastFail = a.lastFail.Add(-10 * time.Second)
	a.mu.Unlock()
	for _, e := range list[1:] {
		e.ObserveLatency(200 * time.Microsecond)
	}
	picked := false
	for i := 0; i < 300 && !picked; i++ {
		picked = s.Pick(nil) == a
	}
	require.True(t, picked, "an endpoint with an old soft failure takes traffic again")
}
