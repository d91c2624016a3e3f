package wait_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/marsevilspirit/deimos-client/internal/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSleep_ReturnsTrueAfterTheDuration(t *testing.T) {
	assert.True(t, wait.Sleep(context.Background(), time.Millisecond))
}

func TestSleep_ReturnsFalseWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, wait.Sleep(ctx, time.Hour), "a cancelled context ends the wait at once")
}
