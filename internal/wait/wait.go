// Package wait holds the one way the SDK's background loops pause: for a
// duration, or until their context ends, whichever comes first.
package wait

import (
	"context"
	"time"
)

// Sleep waits for d and reports true, or reports false as soon as ctx ends.
// Unlike time.Sleep it never outlives a cancelled caller.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
