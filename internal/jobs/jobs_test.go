package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

type backend struct {
	name string
	open func(t *testing.T) (store.Store, *jobs.Queue)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) (store.Store, *jobs.Queue) {
			path := filepath.Join(t.TempDir(), "asanajira.db")
			st, err := sqlite.Open(t.Context(), path, storetest.NewSealer(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			riverDB, err := sqlite.OpenDB(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			riverDB.SetMaxOpenConns(1)
			t.Cleanup(func() { _ = riverDB.Close() })
			return st, newQueue(t, st, "sqlite", riverDB, "")
		}},
		{"postgres", func(t *testing.T) (store.Store, *jobs.Queue) {
			url := pgtest.URL(t)
			st, err := postgres.Open(t.Context(), url, storetest.NewSealer(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st, newQueue(t, st, "postgres", st.DB(), url)
		}},
	}
}

func newQueue(t *testing.T, st store.Store, dialect string, riverDB *sql.DB, url string) *jobs.Queue {
	t.Helper()
	driver, listener, err := jobs.Driver(t.Context(), dialect, riverDB, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(t.Context(), driver); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(driver, riverDB, listener, st, discard(), jobs.Options{CleanupInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func countJobs(t *testing.T, st store.Store, kind string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM river_job WHERE kind = $1`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A store write and the job it causes commit or roll back together, and a
// committed job runs once the queue starts.
func TestWriteAndEnqueueShareATransaction(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st, q := b.open(t)
			ctx := t.Context()
			kind := jobs.CleanupArgs{}.Kind()

			boom := errors.New("rolled back on purpose")
			err := st.InTx(ctx, func(tx store.Tx) error {
				if err := tx.PutWorkspace(ctx, store.Workspace{GID: "ws-rollback", Name: "x"}); err != nil {
					return err
				}
				if err := q.InsertTx(ctx, tx.SQL(), jobs.CleanupArgs{}, nil); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v", err)
			}
			if n := countJobs(t, st, kind); n != 0 {
				t.Fatalf("%d jobs exist after rollback, want 0", n)
			}
			if _, err := st.GetWorkspace(ctx, "ws-rollback"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("rolled-back workspace: %v", err)
			}

			// An expired state the committed cleanup job must remove.
			if err := st.PutAuthState(ctx, store.AuthState{State: "stale", Kind: "k", ExpiresAt: time.Now().Add(-time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if err := st.InTx(ctx, func(tx store.Tx) error {
				if err := tx.PutWorkspace(ctx, store.Workspace{GID: "ws-commit", Name: "x"}); err != nil {
					return err
				}
				return q.InsertTx(ctx, tx.SQL(), jobs.CleanupArgs{}, nil)
			}); err != nil {
				t.Fatal(err)
			}
			if n := countJobs(t, st, kind); n != 1 {
				t.Fatalf("%d jobs after commit, want 1", n)
			}

			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				if err := q.Stop(stopCtx); err != nil {
					t.Errorf("Stop: %v", err)
				}
			})
			deadline := time.Now().Add(30 * time.Second)
			for {
				var n int
				if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM auth_states`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the committed cleanup job never ran")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
