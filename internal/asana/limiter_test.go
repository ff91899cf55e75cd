package asana

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLimiterLeavesInteractiveReserve: background calls stop at half the
// burst; interactive calls still get the rest, so a queue of jobs never
// makes a user's request wait for the token's quota.
func TestLimiterLeavesInteractiveReserve(t *testing.T) {
	t.Parallel()
	l := NewLimiter(LimiterOptions{PerMinute: 100}) // burst 10, reserve 5
	frozen := time.Now()
	l.now = func() time.Time { return frozen } // no refill during the test

	bg := Background(t.Context())
	took := 0
	for {
		ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
		err := l.take(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if took++; took > 10 {
			t.Fatal("background calls took more than the burst")
		}
	}
	if took != 5 {
		t.Errorf("background calls took %d tokens, want 5 (the burst less the interactive reserve)", took)
	}
	for i := range 5 {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		err := l.take(ctx)
		cancel()
		if err != nil {
			t.Fatalf("interactive call %d waited although the reserve was left: %v", i+1, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := l.take(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an interactive call beyond the burst: %v, want it to wait", err)
	}
}

func TestBackgroundMark(t *testing.T) {
	t.Parallel()
	if IsBackground(t.Context()) || !IsBackground(Background(t.Context())) {
		t.Error("Background does not mark the context")
	}
}
