package jobs_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// blockingStore holds the cleanup job's last call (DeleteExpired) until the test releases
// it or the job's context ends, so a job runs as long as a test needs.
type blockingStore struct {
	store.Store
	started chan struct{}
	release chan struct{}
	ended   chan error // the job context's cause, when it ended first
}

func newBlockingStore(st store.Store) *blockingStore {
	return &blockingStore{Store: st, started: make(chan struct{}, 10), release: make(chan struct{}), ended: make(chan error, 10)}
}

func (s *blockingStore) DeleteExpired(ctx context.Context, _ time.Time) (int64, error) {
	s.started <- struct{}{}
	select {
	case <-s.release:
		return 0, nil
	case <-ctx.Done():
		s.ended <- context.Cause(ctx)
		return 0, ctx.Err()
	}
}

// receive waits for a value; the bound only turns a hang into a failure.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runningCleanup returns the cleanup job that is running.
func runningCleanup(t *testing.T, q *jobs.Queue) *rivertype.JobRow {
	t.Helper()
	res, err := q.Client().JobList(t.Context(), river.NewJobListParams().States(rivertype.JobStateRunning).Kinds(jobs.CleanupArgs{}.Kind()))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 1 {
		t.Fatalf("%d cleanup jobs running, want 1", len(res.Jobs))
	}
	return res.Jobs[0]
}

func getJob(t *testing.T, q *jobs.Queue, id int64) *rivertype.JobRow {
	t.Helper()
	j, err := q.Client().JobGet(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// A job may run far longer than its lease, the timeout river sees: its
// process renews the lease (attempted_at moves forward), so river neither
// cancels the work nor hands the job to another worker.
func TestLeaseIsRenewedWhileAJobRuns(t *testing.T) {
	t.Parallel()
	const lease = time.Second
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			bd := b.open(t)
			bs := newBlockingStore(bd.st)
			q := bd.queue(t, bs, jobs.Options{Lease: lease})
			start(t, q)
			receive(t, "the cleanup job to start", bs.started)
			began := time.Now()
			job := runningCleanup(t, q)

			renewals, last := 0, *job.AttemptedAt
			waitFor(t, "three lease renewals past the lease", func() bool {
				j := getJob(t, q, job.ID)
				if j.State != rivertype.JobStateRunning || j.Attempt != 1 {
					t.Fatalf("job %d is %s at attempt %d while it runs, want running at attempt 1", j.ID, j.State, j.Attempt)
				}
				if j.AttemptedAt.After(last) {
					renewals, last = renewals+1, *j.AttemptedAt
				}
				return renewals >= 3 && time.Since(began) > 2*lease
			})
			select {
			case cause := <-bs.ended:
				t.Fatalf("the job's context ended after %v: %v", time.Since(began), cause)
			default:
			}
			close(bs.release)
			waitFor(t, "the job to complete", func() bool { return getJob(t, q, job.ID).State == rivertype.JobStateCompleted })
			if j := getJob(t, q, job.ID); j.Attempt != 1 || len(j.Errors) != 0 {
				t.Fatalf("job %d completed at attempt %d with errors %v, want one clean attempt", j.ID, j.Attempt, j.Errors)
			}
		})
	}
}

// A renewal slower than the interval between renewals (a loaded machine,
// writes queued for the database) still renews the lease: it may take
// until the job would have to stop. Each one is slowed past the interval
// (lease/5) by a trigger, on PostgreSQL, which can sleep in one.
func TestSlowRenewalsKeepTheJob(t *testing.T) {
	t.Parallel()
	const (
		lease = 10 * time.Second
		// Past the interval (2 s), and twice within the 7.5 s a job may go
		// without a renewal: a renewal starting as the one before it ends
		// still ends in time.
		slow = 2500 * time.Millisecond
	)
	bd := backends()[1].open(t)
	if _, err := bd.riverDB.ExecContext(t.Context(), `
		CREATE FUNCTION slow_renewal() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF OLD.state = 'running' AND NEW.state = 'running' AND NEW.attempted_at IS DISTINCT FROM OLD.attempted_at THEN
				PERFORM pg_sleep(`+strconv.FormatFloat(slow.Seconds(), 'f', -1, 64)+`);
			END IF;
			RETURN NEW;
		END $$`); err != nil {
		t.Fatal(err)
	}
	bs := newBlockingStore(bd.st)
	q := bd.queue(t, bs, jobs.Options{Lease: lease})
	if _, err := bd.riverDB.ExecContext(t.Context(),
		`CREATE TRIGGER slow_renewal BEFORE UPDATE ON river_job FOR EACH ROW EXECUTE FUNCTION slow_renewal()`); err != nil {
		t.Fatal(err)
	}
	start(t, q)
	receive(t, "the cleanup job to start", bs.started)
	job := runningCleanup(t, q)

	renewals, last := 0, *job.AttemptedAt
	waitFor(t, "two slow lease renewals", func() bool {
		select {
		case cause := <-bs.ended:
			t.Fatalf("the job's context ended: %v", cause)
		default:
		}
		j := getJob(t, q, job.ID)
		if j.State != rivertype.JobStateRunning || j.Attempt != 1 {
			t.Fatalf("job %d is %s at attempt %d while it runs, want running at attempt 1", j.ID, j.State, j.Attempt)
		}
		if j.AttemptedAt.After(last) {
			renewals, last = renewals+1, *j.AttemptedAt
		}
		return renewals >= 2
	})
	close(bs.release)
	waitFor(t, "the job to complete", func() bool { return getJob(t, q, job.ID).State == rivertype.JobStateCompleted })
}

// A job left running by a process that died (kill -9) runs again as soon
// as the queue's leader looks, not river's default hour later.
func TestJobOfADeadProcessRunsAgain(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			bd := b.open(t)
			q := bd.queue(t, bd.st, jobs.Options{})
			ctx := t.Context()
			res, err := q.Client().Insert(ctx, jobs.CleanupArgs{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			// As a process killed during the job leaves it: running, its
			// lease last renewed a minute ago.
			ago := "now() - interval '1 minute'"
			if bd.dialect == "sqlite" {
				ago = "datetime('now', '-60 seconds', 'subsec')"
			}
			if _, err := bd.riverDB.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = `+ago+`
				WHERE id = $1`, res.Job.ID); err != nil {
				t.Fatal(err)
			}
			start(t, q)
			waitFor(t, "the abandoned job to run again", func() bool {
				return getJob(t, q, res.Job.ID).State == rivertype.JobStateCompleted
			})
			j := getJob(t, q, res.Job.ID)
			if j.Attempt != 2 || len(j.Errors) != 1 || !strings.Contains(j.Errors[0].Error, "Stuck job rescued") {
				t.Fatalf("job completed at attempt %d with errors %v, want attempt 2 after one rescue", j.Attempt, j.Errors)
			}
		})
	}
}

// A job whose lease was given to another worker stops at its next renewal,
// so the two never run on for long side by side.
func TestJobStopsWhenItsLeaseIsLost(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			bd := b.open(t)
			bs := newBlockingStore(bd.st)
			q := bd.queue(t, bs, jobs.Options{Lease: time.Second})
			start(t, q)
			receive(t, "the cleanup job to start", bs.started)
			job := runningCleanup(t, q)
			// What river does when it rescues the job and another worker
			// fetches it: the attempt moves on.
			if _, err := bd.riverDB.ExecContext(t.Context(), `UPDATE river_job SET attempt = attempt + 1 WHERE id = $1`, job.ID); err != nil {
				t.Fatal(err)
			}
			cause := receive(t, "the job's context to end", bs.ended)
			if cause == nil || !strings.Contains(cause.Error(), "given to another worker") {
				t.Fatalf("the job's context ended with %v, want the lease lost", cause)
			}
		})
	}
}

// backgroundStore reports whether the cleanup job's context is marked as
// background work.
type backgroundStore struct {
	store.Store
	seen chan bool
}

func (s *backgroundStore) DeleteExpired(ctx context.Context, _ time.Time) (int64, error) {
	s.seen <- asana.IsBackground(ctx) && jobs.KindFromContext(ctx) == jobs.CleanupArgs{}.Kind()
	return 0, nil
}

// Every job runs as background work, so its Asana calls yield the user's
// quota to the user's own requests, and its context names its kind.
func TestJobsRunAsBackground(t *testing.T) {
	t.Parallel()
	bd := backends()[0].open(t)
	bs := &backgroundStore{Store: bd.st, seen: make(chan bool, 10)}
	q := bd.queue(t, bs, jobs.Options{})
	start(t, q)
	if !receive(t, "the cleanup job to run", bs.seen) {
		t.Error("the job's context is not marked as background work of its kind")
	}
}
