// Package jobs owns asanajira's background work: the river client on SQLite
// or PostgreSQL, the job kinds (a persisted contract: a kind string never
// changes meaning), their workers, and the job metrics.
//
// Jobs are idempotent: river may run a job again after a crash or a
// shutdown that cancelled it.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// Queue is the job queue: a river client sharing asanajira's database.
type Queue struct {
	client   *river.Client[*sql.Tx]
	db       *sql.DB
	listener *pgxpool.Pool // PostgreSQL LISTEN/NOTIFY connection; nil on SQLite
	log      *slog.Logger
	lease    time.Duration
	burst    *intakeBurst
	st       store.Store
	copies   *linkCopies
}

// Options tune the queue; zero values are the measured defaults.
type Options struct {
	// Workers is how many jobs run at once (default 20), and half as many
	// more applying Jira's deliveries (QueueJiraDeliveries).
	Workers int
	// CleanupInterval is how often expired auth states and idempotency keys
	// are deleted (default 1h).
	CleanupInterval time.Duration
	// Now is the clock the cleanup job and the sweeps use (default
	// time.Now).
	Now func() time.Time
	// JiraEvents applies Jira webhook deliveries to Asana.
	JiraEvents JiraEventApplier
	// Attachments copies a task's attachments to its Jira issue (the
	// copy_attachments job); nil leaves that job without a worker, and
	// the links' marks unswept.
	Attachments AttachmentCopier
	// LinkCopyGrace is how old a link's mark of its copy job still to
	// enqueue must be before the sweep enqueues it (default
	// bridge.LinkCopyGrace); LinkCopySweepInterval is how often the sweep
	// runs (default DefaultLinkCopySweepInterval). Tests shorten both.
	LinkCopyGrace         time.Duration
	LinkCopySweepInterval time.Duration
	// Creations finishes the creates whose claims expired unresolved (the
	// sweep_create_claims job, every CreateClaimSweepInterval, default
	// DefaultCreateClaimSweepInterval; tests shorten it); nil leaves them
	// unswept.
	Creations                CreationFinisher
	CreateClaimSweepInterval time.Duration
	// Lease is how long a running job may go without its process renewing
	// it before river runs it again (default DefaultLease). Tests shorten it.
	Lease time.Duration
	// Sync is the sync engine (sync_link, reconcile_jira, and a sync change
	// recorded for each Jira event); nil leaves sync off.
	Sync Syncer
	// ReconcileInterval is how often Jira is reconciled (default 5m).
	ReconcileInterval time.Duration
	// AsanaIntake is the Asana intake (poll_asana, asana_webhooks); nil
	// leaves Asana unwatched.
	AsanaIntake AsanaIntake
	// AsanaPollInterval is how often the intake ticks (default 5s).
	AsanaPollInterval time.Duration
}

// Driver returns the river driver for the store's database. On PostgreSQL it
// also opens a one-connection pgx pool for LISTEN/NOTIFY, so jobs start
// within milliseconds of their commit instead of at the next poll; the
// caller closes it (nil on SQLite).
func Driver(ctx context.Context, dialect string, db *sql.DB, postgresURL string) (riverdriver.Driver[*sql.Tx], *pgxpool.Pool, error) {
	switch dialect {
	case "sqlite":
		return riversqlite.New(db), nil, nil
	case "postgres":
		cfg, err := pgxpool.ParseConfig(postgresURL)
		if err != nil {
			return nil, nil, errors.New("jobs: cannot parse the PostgreSQL URL for the listener")
		}
		cfg.MaxConns = 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("jobs: listener pool: %w", err)
		}
		return riverdatabasesql.NewWithPgxListener(db, pool), pool, nil
	}
	return nil, nil, fmt.Errorf("jobs: unknown database %q", dialect)
}

// Migrate applies river's schema (its tables live beside asanajira's).
func Migrate(ctx context.Context, driver riverdriver.Driver[*sql.Tx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, onSQLite := driver.(*riversqlite.Driver); onSQLite {
		// The admin console lists one state's jobs newest first (failed,
		// running): river's SQLite schema has no index that gives a state's
		// jobs in id order, so each list read and sorted every job of its
		// states. River's tables exist only after its migrations, so the
		// index is made here rather than in asanajira's numbered ones.
		// River's PostgreSQL schema does not need it: its planner reads
		// the few failed jobs by state and sorts them.
		if err := driver.GetExecutor().Exec(ctx, riverJobStateIDIndex); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
	}
	return nil
}

// riverJobStateIDIndex serves the admin console's lists of one state's
// jobs in id order (see FailedJobs) on SQLite.
const riverJobStateIDIndex = `CREATE INDEX IF NOT EXISTS asanajira_river_job_state_id ON river_job (state, id)`

// New builds the queue on driver; workers are registered by the kinds in
// this package. listener may be nil; Stop closes it.
func New(driver riverdriver.Driver[*sql.Tx], db *sql.DB, listener *pgxpool.Pool, st store.Store, log *slog.Logger, opts Options) (*Queue, error) {
	if opts.Workers <= 0 {
		opts.Workers = 20
	}
	if opts.CleanupInterval <= 0 {
		opts.CleanupInterval = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.LinkCopyGrace <= 0 {
		opts.LinkCopyGrace = bridge.LinkCopyGrace
	}
	if opts.LinkCopySweepInterval <= 0 {
		opts.LinkCopySweepInterval = DefaultLinkCopySweepInterval
	}
	if opts.CreateClaimSweepInterval <= 0 {
		opts.CreateClaimSweepInterval = DefaultCreateClaimSweepInterval
	}
	q := &Queue{db: db, listener: listener, log: log, lease: opts.Lease, st: st, copies: newLinkCopies()}
	_, onSQLite := driver.(*riversqlite.Driver)
	keeper := newLeaseKeeper(db, onSQLite, opts.Lease, log)
	workers := river.NewWorkers()
	var periodic []*river.PeriodicJob
	addLeased(workers, river.Worker[CleanupArgs](&CleanupWorker{Store: st, Now: opts.Now, Log: log}), keeper)
	addLeased(workers, river.Worker[PruneJobsArgs](&PruneJobsWorker{}), keeper)
	if opts.Attachments != nil {
		addLeased(workers, river.Worker[CopyAttachmentsArgs](&CopyAttachmentsWorker{Copier: opts.Attachments, Log: log, Sync: opts.Sync}), keeper)
		addLeased(workers, river.Worker[SweepLinkCopiesArgs](&SweepLinkCopiesWorker{q: q, grace: opts.LinkCopyGrace, now: opts.Now}), keeper)
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(opts.LinkCopySweepInterval), func() (river.JobArgs, *river.InsertOpts) {
			return SweepLinkCopiesArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	if opts.Creations != nil {
		addLeased(workers, river.Worker[SweepCreateClaimsArgs](&SweepCreateClaimsWorker{q: q, finisher: opts.Creations, now: opts.Now}), keeper)
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(opts.CreateClaimSweepInterval), func() (river.JobArgs, *river.InsertOpts) {
			return SweepCreateClaimsArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	addLeased(workers, river.Worker[ApplyJiraEventArgs](&ApplyJiraEventWorker{Applier: opts.JiraEvents, Sync: opts.Sync}), keeper)
	burst := newIntakeBurst()
	addLeased(workers, river.Worker[ApplyJiraDeliveriesArgs](&ApplyJiraDeliveriesWorker{Store: st, Applier: opts.JiraEvents, Sync: opts.Sync, Log: log, Now: opts.Now,
		burst: burst, claims: newDeliveryClaims()}), keeper)
	syncJobs := addSyncWorkers(workers, keeper, log, opts)
	addJiraAttachmentWorker(workers, keeper, log, opts)
	syncJobs = append(syncJobs, addAsanaIntakeWorkers(workers, keeper, log, opts)...)

	client, err := river.NewClient(driver, &river.Config{
		Queues: map[string]river.QueueConfig{
			river.QueueDefault:  {MaxWorkers: opts.Workers},
			QueueJiraDeliveries: {MaxWorkers: max(1, opts.Workers/2)},
		},
		// Measured on both databases: 10 ms cooldown and 50 ms poll keep
		// pickup latency in tens of milliseconds.
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		// The lease is every job's timeout as river sees it, so a job
		// left running by a dead process is rescued one lease after its
		// last renewal (see lease.go); river only calls a job stuck once
		// it outlives the longest real bound.
		JobTimeout:           opts.Lease,
		RescueStuckJobsAfter: opts.Lease,
		JobStuckThreshold:    longestBound,
		Workers:              workers,
		PeriodicJobs: append([]*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(opts.CleanupInterval), func() (river.JobArgs, *river.InsertOpts) {
				return CleanupArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(pruneEvery), func() (river.JobArgs, *river.InsertOpts) {
				return PruneJobsArgs{}, nil
			}, nil),
		}, append(periodic, syncJobs...)...),
		ErrorHandler: errorLogger{log},
		Logger:       riverLogger(log),
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	q.client, q.burst = client, burst
	return q, nil
}

// riverLogger passes river's warnings and errors through; its routine info
// lines (periodic producer statistics) only at debug level.
func riverLogger(log *slog.Logger) *slog.Logger {
	return slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("component", "river")
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return (l >= h.min || h.Handler.Enabled(ctx, slog.LevelDebug)) && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.min} }

// Start starts working jobs and returns once the client runs. Cancelling
// ctx does not stop them (river would cancel running jobs at once): Stop
// does, letting them finish first.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// hardStopGrace is how long cancelled jobs get to return after the
// shutdown deadline; one that ignores cancellation is left to the lease.
const hardStopGrace = 5 * time.Second

// Stop stops fetching jobs and lets running ones finish until ctx ends.
// Then it cancels what still runs, which river makes available to run
// again (on the next start or another replica) without counting the
// attempt, and closes the listener.
func (q *Queue) Stop(ctx context.Context) error {
	q.stopLinkCopies(ctx)
	err := q.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		q.log.Warn("jobs still running at the shutdown deadline; cancelling them, they will run again on the next start")
		hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopGrace)
		err = q.client.StopAndCancel(hardCtx)
		cancel()
		if err != nil {
			err = fmt.Errorf("jobs did not return %v after cancellation; they run again once their lease (%v) expires: %w", hardStopGrace, q.lease, err)
		}
	}
	if q.listener != nil {
		q.listener.Close()
	}
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// InsertTx enqueues a job in tx: it exists only if tx commits.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := q.client.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// Insert enqueues a job on its own.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := q.client.Insert(ctx, args, opts); err != nil {
		return fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// Client exposes the river client, for the admin jobs page.
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.client }

// errorLogger logs each failed job attempt once, here.
type errorLogger struct{ log *slog.Logger }

func (e errorLogger) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	e.log.LogAttrs(ctx, slog.LevelWarn, "job failed", slog.String("kind", job.Kind), slog.Int64("job_id", job.ID),
		slog.Int("attempt", job.Attempt), slog.Int("max_attempts", job.MaxAttempts), slog.Any("error", err))
	return nil
}

func (e errorLogger) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	e.log.LogAttrs(ctx, slog.LevelError, "job panicked", slog.String("kind", job.Kind), slog.Int64("job_id", job.ID),
		slog.Any("panic", panicVal), slog.String("stack", trace))
	return nil
}
