package observe_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/marsevilspirit/deimos-client/observe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOutcome_StringIsStableAndDistinct(t *testing.T) {
	want := map[observe.Outcome]string{
		observe.OK:             "ok",
		observe.ServerError:    "server_error",
		observe.Retried:        "retried",
		observe.UnknownOutcome: "unknown_outcome",
		observe.Unavailable:    "unavailable",
		observe.Canceled:       "canceled",
		observe.Failed:         "failed",
		observe.Superseded:     "superseded",
	}
	for o, s := range want {
		assert.Equal(t, s, o.String())
	}
	assert.Equal(t, "outcome(200)", observe.Outcome(200).String())
}

func TestKindAndState_String(t *testing.T) {
	assert.Equal(t, []string{"read", "write", "watch", "kind(9)"},
		[]string{observe.Read.String(), observe.Write.String(), observe.Watch.String(), observe.Kind(9).String()})
	assert.Equal(t, []string{"healthy", "cooldown", "probing", "state(9)"},
		[]string{observe.Healthy.String(), observe.CoolingDown.String(), observe.Probing.String(), observe.EndpointState(9).String()})
}

func TestHooks_Empty(t *testing.T) {
	assert.True(t, observe.Hooks{}.Empty())
	assert.False(t, observe.Hooks{Membership: func(observe.MembershipChange) {}}.Empty())
	assert.False(t, observe.Hooks{AttemptEnd: func(_ context.Context, _ observe.Attempt, _ observe.AttemptResult) {}}.Empty())
}
