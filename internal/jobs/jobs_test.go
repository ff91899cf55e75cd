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
	open func(t *testing.T) *bed
}

// bed is one database with asanajira's and river's schemas, and the pool
// river uses on it.
type bed struct {
	st      store.Store
	dialect string
	riverDB *sql.DB
	url     string
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) *bed {
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
			return &bed{st: st, dialect: "sqlite", riverDB: riverDB}
		}},
		{"postgres", func(t *testing.T) *bed {
			url := pgtest.URL(t)
			st, err := postgres.Open(t.Context(), url, storetest.NewSealer(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return &bed{st: st, dialect: "postgres", riverDB: st.DB(), url: url}
		}},
	}
}

// queue builds a queue on the bed's database whose jobs see st (the bed's
// store, or one wrapping it). Zero options are the defaults, with hourly
// cleanup.
func (b *bed) queue(t *testing.T, st store.Store, opts jobs.Options) *jobs.Queue {
	t.Helper()
	driver, listener, err := jobs.Driver(t.Context(), b.dialect, b.riverDB, b.url)
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(t.Context(), driver); err != nil {
		t.Fatal(err)
	}
	if opts.CleanupInterval == 0 {
		opts.CleanupInterval = time.Hour
	}
	q, err := jobs.New(driver, b.riverDB, listener, st, discard(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// start starts q and stops it when the test ends.
func start(t *testing.T, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
		defer cancel()
		if err := q.Stop(stopCtx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// waitCleanedUp waits until a cleanup job has removed every auth state.
func waitCleanedUp(t *testing.T, st store.Store) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := st.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM auth_states`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the cleanup job never ran")
		}
	}
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
			bd := b.open(t)
			st, q := bd.st, bd.queue(t, bd.st, jobs.Options{})
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

			start(t, q)
			waitCleanedUp(t, st)
		})
	}
}
