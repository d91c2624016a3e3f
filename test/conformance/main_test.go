package conformance

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain starts the target once for the whole package (an in-process cluster
// unless DEIMOS_ENDPOINTS names a real one), runs the tests, tears the target
// down, failing the run if a real node would have crashed, and then checks
// that no goroutine leaked.
func TestMain(m *testing.M) { goleak.VerifyTestMain(suite{m}) }

// suite wraps testing.M so that setup and teardown happen inside the run that
// goleak checks afterwards.
type suite struct{ m *testing.M }

func (s suite) Run() int {
	closeTarget, err := openTarget()
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance: cannot start the target:", err)
		return 1
	}
	code := s.m.Run()
	if err := closeTarget(); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
