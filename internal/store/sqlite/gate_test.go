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

// TestSharedConnection: the two write pools use one SQLite connection,
// which outlives the pool closed first and is opened again once both
// closed theirs; a statement prepared on one pool waits for the gate while
// the other holds a transaction.
func TestSharedConnection(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	bg, err := OpenWriter(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bg.Close() })
	g := bg.Driver().(*gatedDriver).gate
	if _, err := bg.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	fg, err := openDB(ctx, path, g, true)
	if err != nil {
		t.Fatal(err)
	}
	shared, refs := sharedConn(g)
	if shared == nil || refs != 2 {
		t.Fatalf("shared connection %p with %d references after both pools opened, want one with 2", shared, refs)
	}

	func() {
		ins, err := bg.PrepareContext(ctx, `INSERT INTO t (id) VALUES (?)`)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = ins.Close() }()
		tx, err := fg.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (id) VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := ins.ExecContext(ctx, 2)
			done <- err
		}()
		waitFor(t, g, 0, 1)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute): // the bound only turns a hang into a failure
			t.Fatal("the prepared statement never ran")
		}
	}()

	if err := fg.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := bg.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("after the foreground pool closed: %d rows, %v; want 2", n, err)
	}
	if err := bg.Close(); err != nil {
		t.Fatal(err)
	}
	if c, _ := sharedConn(g); c != nil {
		t.Fatal("the shared connection is still held after both pools closed")
	}
	again, err := openDB(ctx, path, g, false)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if c, _ := sharedConn(g); c == nil || c == shared {
		t.Fatal("reopening did not open a new connection")
	}
	if err := again.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("reopened: %d rows, %v; want 2", n, err)
	}
}

// sharedConn is the connection the gate's pools share and its references.
func sharedConn(g *gate) (*sqliteConn, int) {
	g.share.Lock()
	defer g.share.Unlock()
	if g.conn == nil {
		return nil, 0
	}
	return g.conn, g.conn.refs
}
