package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Every job runs under a lease, so that a job whose process died (kill -9,
// a lost machine) runs again within seconds instead of river's default hour.
//
// River gives a running job to another worker once its attempted_at is older
// than both RescueStuckJobsAfter and the job's timeout. A job's real bound
// can be long (an attachment copy may stream a large file for up to 30
// minutes), so that bound cannot serve as the timeout river sees. Instead:
//
//   - river sees the lease as every job's timeout and rescue window;
//   - while a job runs, its process renews the lease by moving the job's
//     attempted_at forward every lease/5 (a renewal may take until the
//     job would have to stop, below);
//   - the work itself runs under its own bound (its worker's Timeout), not
//     under river's per-attempt deadline, for as long as the lease holds.
//
// A job whose renewal finds it no longer running under its attempt (rescued
// and handed out again) stops; so does one that could not renew for 3/4 of
// the lease (the database unreachable): it stops before river could hand it
// to another worker, so one job never runs twice at once.
const (
	// DefaultLease is how long a running job may go unrenewed before river
	// runs it again elsewhere.
	DefaultLease = 10 * time.Second
	// defaultBound is how long a job may run when its worker sets no
	// Timeout (river's own default).
	defaultBound = time.Minute
	// longestBound is the longest Timeout of any worker here (the
	// attachment copy); river calls a job stuck only past it.
	longestBound = 30 * time.Minute
)

var (
	errLeaseLost    = errors.New("jobs: the job was given to another worker: its lease had expired")
	errLeaseExpired = errors.New("jobs: stopped the job: its lease could not be renewed (is the database reachable?)")
)

// leaseKey carries the lease's context from the keeper to the worker,
// past river's per-attempt deadline.
type leaseKey struct{}

// leaseKeeper is the worker middleware that renews a running job's lease.
// It runs outside river's per-attempt deadline, so the context it hands on
// ends only when river stops the job (a stop, a remote cancel) or the
// lease is lost.
type leaseKeeper struct {
	river.MiddlewareDefaults
	db    *sql.DB
	renew string // the UPDATE moving attempted_at forward, in the database's dialect
	ttl   time.Duration
	log   *slog.Logger
}

func newLeaseKeeper(db *sql.DB, sqlite bool, ttl time.Duration, log *slog.Logger) *leaseKeeper {
	// The same clock river stamps attempted_at with when it fetches a job.
	now := "now()"
	if sqlite {
		now = "datetime('now', 'subsec')"
	}
	return &leaseKeeper{db: db, ttl: ttl, log: log,
		renew: `UPDATE river_job SET attempted_at = ` + now + ` WHERE id = $1 AND state = 'running' AND attempt = $2`}
}

// Work runs the job with its lease renewed until it returns.
func (k *leaseKeeper) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	lease, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { k.keep(lease, cancel, done, job.ID, job.Attempt) })
	err := doInner(context.WithValue(ctx, leaseKey{}, lease))
	close(done)
	wg.Wait()
	if err != nil && lease.Err() != nil {
		// Say why the work ended; a stop's cause lets river put the job
		// back to run again without counting the attempt.
		if cause := context.Cause(lease); !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}

func (k *leaseKeeper) keep(ctx context.Context, cancel context.CancelCauseFunc, done <-chan struct{}, id int64, attempt int) {
	interval := k.ttl / 5
	t := time.NewTicker(interval)
	defer t.Stop()
	renewed := time.Now() // river stamped attempted_at when it fetched the job
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A renewal may take until the job would have to stop. Cut short
		// at the next tick instead, renewals slower than the interval (a
		// loaded machine, writes queued for the one SQLite connection)
		// all failed, and a job whose database answered was stopped.
		// The lease counts from the renewal's start: the database stamps
		// attempted_at no earlier, so the job still stops before river
		// may hand it out again.
		began := time.Now()
		rctx, rcancel := context.WithDeadline(ctx, renewed.Add(k.ttl*3/4))
		res, err := k.db.ExecContext(rctx, k.renew, id, attempt)
		rcancel()
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		switch {
		case err == nil && n == 1:
			renewed = began
		case err == nil:
			k.log.Warn("job lease lost: another worker runs the job now; stopping this run", slog.Int64("job_id", id), slog.Int("attempt", attempt))
			cancel(errLeaseLost)
			return
		case ctx.Err() != nil:
			return
		case time.Since(renewed) >= k.ttl*3/4:
			k.log.Warn("cannot renew a job's lease; stopping the job before another worker may take it",
				slog.Int64("job_id", id), slog.Any("error", err))
			cancel(errLeaseExpired)
			return
		}
	}
}

type kindKey struct{}

// KindFromContext names the kind of the job whose work ctx belongs to, ""
// outside a job: the query-plan test tells the periodic jobs' sweeps from
// the work requests cause.
func KindFromContext(ctx context.Context) string {
	k, _ := ctx.Value(kindKey{}).(string)
	return k
}

// leased runs a worker under the lease: river sees the lease as the job's
// timeout, and the work gets the worker's own Timeout as its bound.
type leased[T river.JobArgs] struct {
	river.Worker[T]
	keeper *leaseKeeper
}

func addLeased[T river.JobArgs](workers *river.Workers, w river.Worker[T], k *leaseKeeper) {
	river.AddWorker[T](workers, leased[T]{Worker: w, keeper: k})
}

func (w leased[T]) Middleware(job *rivertype.JobRow) []rivertype.WorkerMiddleware {
	return append([]rivertype.WorkerMiddleware{w.keeper}, w.Worker.Middleware(job)...)
}

func (w leased[T]) Timeout(*river.Job[T]) time.Duration { return w.keeper.ttl }

func (w leased[T]) Work(ctx context.Context, job *river.Job[T]) error {
	if lease, ok := ctx.Value(leaseKey{}).(context.Context); ok {
		ctx = lease // river's per-attempt deadline is the lease, not the bound
	}
	// Jobs yield each user's Asana quota to that user's own requests.
	ctx = asana.Background(context.WithValue(ctx, kindKey{}, job.Kind))
	bound := w.Worker.Timeout(job)
	if bound == 0 {
		bound = defaultBound
	}
	if bound > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bound)
		defer cancel()
	}
	return w.Worker.Work(ctx, job)
}
