package deimostest

import (
	"strings"
	"sync"
)

// LogBuffer collects log output that several goroutines write, such as a
// client's background loops logging through slog, for a test to read:
//
//	var logs deimostest.LogBuffer
//	client := deimos.New(deimos.WithEndpoints(c.Endpoints()...),
//		deimos.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
//	...
//	assert.Contains(t, logs.String(), "deimos all endpoints failing")
//
// The zero value is ready to use; it must not be copied after first use.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p; it never fails.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
