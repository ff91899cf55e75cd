package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// brokenStore fails the cleanup job's last call (DeleteExpired), so a job fails for real.
type brokenStore struct{ store.Store }

func (brokenStore) DeleteExpired(context.Context, time.Time) (int64, error) {
	return 0, errors.New("database is on fire")
}

// sqliteQueue is a queue, not started, on a new SQLite database migrated
// for asanajira and river, its store wrapped by wrap; with river's
// connection to the database.
func sqliteQueue(t *testing.T, wrap func(store.Store) store.Store) (*jobs.Queue, *sql.DB) {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "asanajira.db")
	st, err := sqlite.Open(ctx, path, storetest.NewSealer(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	riverDB, err := sqlite.OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	riverDB.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = riverDB.Close() })
	driver, _, err := jobs.Driver(ctx, "sqlite", riverDB, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, driver); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(driver, riverDB, nil, wrap(st), discard(), jobs.Options{CleanupInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return q, riverDB
}

// A failed job is listed with its error, and a retry runs it again.
func TestFailedJobsAndRetry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q, _ := sqliteQueue(t, func(st store.Store) store.Store { return brokenStore{st} })
	res, err := q.Client().Insert(ctx, jobs.CleanupArgs{}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Job.ID
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = q.Stop(stopCtx)
	})

	waitFor := func(what string, attempts int) *rivertype.JobRow {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			failed, err := q.FailedJobs(ctx, "", 0, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range failed {
				if j.ID == id && j.State == rivertype.JobStateDiscarded && len(j.Errors) == attempts {
					return j
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: job %d never listed as failed %d times", what, id, attempts)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	j := waitFor("first run", 1)
	if got := j.Errors[0].Error; !strings.Contains(got, "database is on fire") {
		t.Errorf("listed error %q", got)
	}
	if err := q.RetryJob(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitFor("after retry", 2)
	if err := q.RetryJob(ctx, 987654); err == nil {
		t.Error("retrying a job that does not exist succeeded")
	}
}
