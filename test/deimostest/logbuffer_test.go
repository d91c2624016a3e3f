package deimostest_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/marsevilspirit/deimos-client/test/deimostest"
)

func TestLogBuffer_TakesWritesFromManyGoroutines(t *testing.T) {
	var logs deimostest.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				logger.Info("tick")
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 400, strings.Count(logs.String(), "msg=tick"))
}
