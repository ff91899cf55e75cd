package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

// TestGateOrder: a request's write waiting for the writer takes it before
// background writes that waited longer, unless one of those has waited
// backgroundMaxWait; a caller that gives up leaves the queue.
func TestGateOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		aged    time.Duration // how long the background waiter has waited when the gate is freed
		giveUp  bool          // the background waiter's context ends before the gate is freed
		want    []string
		wantErr bool
	}{
		{name: "request first", want: []string{"fg", "bg"}},
		{name: "background waited too long", aged: backgroundMaxWait, want: []string{"bg", "fg"}},
		{name: "background gave up", giveUp: true, want: []string{"fg"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			now := time.Unix(0, 0)
			g := &gate{now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
			if err := g.lock(t.Context(), false); err != nil {
				t.Fatal(err)
			}
			var (
				order  []string
				omu    sync.Mutex
				wg     sync.WaitGroup
				bgErr  error
				bgCtx  context.Context
				cancel context.CancelFunc
			)
			bgCtx, cancel = context.WithCancel(t.Context())
			defer cancel()
			take := func(ctx context.Context, name string, fg bool) error {
				if err := g.lock(ctx, fg); err != nil {
					return err
				}
				omu.Lock()
				order = append(order, name)
				omu.Unlock()
				g.unlock()
				return nil
			}
			wg.Go(func() { bgErr = take(bgCtx, "bg", false) })
			waitFor(t, g, 0, 1)
			wg.Go(func() {
				if err := take(t.Context(), "fg", true); err != nil {
					t.Error(err)
				}
			})
			waitFor(t, g, 1, 1)
			mu.Lock()
			now = now.Add(tc.aged)
			mu.Unlock()
			if tc.giveUp {
				cancel()
				waitFor(t, g, 1, 0)
			}
			g.unlock()
			wg.Wait()
			if diff := cmp.Diff(tc.want, order); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if got := errors.Is(bgErr, context.Canceled); got != tc.wantErr {
				t.Errorf("background error = %v, want canceled: %v", bgErr, tc.wantErr)
			}
			if fg, bg := g.waiting(); fg != 0 || bg != 0 || g.held {
				t.Errorf("after all: %d, %d waiting, held %v", fg, bg, g.held)
			}
		})
	}
}

// waitFor waits until the gate has fg and bg callers waiting.
func waitFor(t *testing.T, g *gate, fg, bg int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, b := g.waiting()
		if f == fg && b == bg {
			return
		}
		if time.Now().After(deadline) { // the bound only turns a hang into a failure
			t.Fatalf("waiting %d, %d; want %d, %d", f, b, fg, bg)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestForegroundWritesFirst: through the store, while another connection
// holds the writer, a request's write (store.Foreground) that arrives
// after a background write goes before it.
func TestForegroundWritesFirst(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "asanajira.db")
	s, err := Open(ctx, path, storetest.NewSealer(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	g := s.DB().Driver().(*gatedDriver).gate
	// The gate's clock stands still: on a loaded machine the background
	// write could otherwise wait backgroundMaxWait before the holder
	// commits, and rightly go first.
	g.mu.Lock()
	frozen := time.Now()
	g.now = func() time.Time { return frozen }
	g.mu.Unlock()
	other, err := openDB(ctx, path, g, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, 'job', 'holder', '', '')`, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	write := func(ctx context.Context, action string) {
		if err := s.AppendAudit(ctx, store.AuditEntry{Actor: "t", Action: action}); err != nil {
			t.Error(err)
		}
	}
	wg.Go(func() { write(ctx, "background") })
	waitFor(t, g, 0, 1)
	wg.Go(func() { write(store.Foreground(ctx), "request") })
	waitFor(t, g, 1, 1)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	entries, err := s.ListAudit(ctx, store.AuditFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(entries) - 1; i >= 0; i-- { // oldest first
		got = append(got, entries[i].Action)
	}
	if diff := cmp.Diff([]string{"holder", "request", "background"}, got); diff != "" {
		t.Errorf("order of the writes (-want +got):\n%s", diff)
	}
}
