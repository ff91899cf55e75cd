package jobs

import (
	"testing"
	"time"
)

// A sync_link job that failed, or whose process died, runs again within
// half a minute whatever its attempt: later changes of its link wait for it.
func TestSyncRetryDelay(t *testing.T) {
	t.Parallel()
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 4 * time.Second, 5: 25 * time.Second, 6: 30 * time.Second, 25: 30 * time.Second, 1 << 20: 30 * time.Second} {
		if got := syncRetryDelay(attempt); got != want {
			t.Errorf("attempt %d: wait %v, want %v", attempt, got, want)
		}
	}
}
