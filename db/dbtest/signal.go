package dbtest

import (
	"testing"
	"time"

	"github.com/crmhub/crmhub/db"
)

// SignalWait bounds a wait for background work that takes milliseconds;
// it is long only so that a loaded machine does not fail the test.
const SignalWait = 30 * time.Second

// Await waits for the next occurrence of s (which must have been Init'ed
// before the work could happen) and fails the test if none comes.
func Await(t testing.TB, s *db.TestSignal, what string) {
	t.Helper()
	if !s.Wait(SignalWait) {
		t.Fatalf("timed out waiting until %s", what)
	}
}
