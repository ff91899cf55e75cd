package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/asanaintake"
	"github.com/riverqueue/river"
)

// AsanaIntake is the Asana intake as its jobs use it (internal/asanaintake).
type AsanaIntake interface {
	Tick(ctx context.Context) (asanaintake.TickResult, error)
	RepairWebhooks(ctx context.Context) (asanaintake.RepairResult, error)
	Mode() string
}

// PollAsanaArgs is one tick of the Asana events intake: the projects that
// are due are polled.
type PollAsanaArgs struct{}

// Kind is part of the persisted contract; never change it.
func (PollAsanaArgs) Kind() string { return "poll_asana" }

// InsertOpts keep one tick waiting or running at a time, across replicas,
// and never retry one: the next tick comes within a poll interval.
func (PollAsanaArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

// PollAsanaWorker runs PollAsanaArgs.
type PollAsanaWorker struct {
	river.WorkerDefaults[PollAsanaArgs]
	Intake AsanaIntake
	Log    *slog.Logger
}

// Timeout bounds a tick: its polls run in parallel, each a few requests.
func (w *PollAsanaWorker) Timeout(*river.Job[PollAsanaArgs]) time.Duration { return 2 * time.Minute }

// Work runs the tick.
func (w *PollAsanaWorker) Work(ctx context.Context, _ *river.Job[PollAsanaArgs]) error {
	res, err := w.Intake.Tick(ctx)
	if res.Recorded+res.Resyncs+res.RateLimited > 0 {
		w.Log.LogAttrs(ctx, slog.LevelDebug, "Asana poll", slog.Int("polled", res.Polled), slog.Int("requests", res.Requests),
			slog.Int("recorded", res.Recorded), slog.Int("duplicates", res.Duplicates), slog.Int("resyncs", res.Resyncs),
			slog.Int("rate_limited", res.RateLimited), slog.Int("deferred", res.Deferred))
	}
	return err
}

// AsanaWebhooksArgs is the periodic repair of the Asana webhooks: missing
// or deleted ones are created, those of projects no longer synced deleted.
type AsanaWebhooksArgs struct{}

// Kind is part of the persisted contract; never change it.
func (AsanaWebhooksArgs) Kind() string { return "asana_webhooks" }

// InsertOpts keep one pass at a time and never retry one.
func (AsanaWebhooksArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

// AsanaWebhooksWorker runs AsanaWebhooksArgs.
type AsanaWebhooksWorker struct {
	river.WorkerDefaults[AsanaWebhooksArgs]
	Intake AsanaIntake
	Log    *slog.Logger
}

// Timeout leaves room for the creation of many webhooks, each waiting for
// its handshake.
func (w *AsanaWebhooksWorker) Timeout(*river.Job[AsanaWebhooksArgs]) time.Duration {
	return 10 * time.Minute
}

// Work runs the repair.
func (w *AsanaWebhooksWorker) Work(ctx context.Context, _ *river.Job[AsanaWebhooksArgs]) error {
	res, err := w.Intake.RepairWebhooks(ctx)
	if res.Created+res.Deleted+res.Failed > 0 {
		w.Log.LogAttrs(ctx, slog.LevelInfo, "Asana webhooks repaired", slog.Int("created", res.Created),
			slog.Int("recreated", res.Recreated), slog.Int("deleted", res.Deleted), slog.Int("failed", res.Failed),
			slog.Int("failing", res.Failing))
	}
	return err
}

// Repair periods of the Asana webhooks: in webhooks mode a deleted webhook
// is made again within a minute; in events mode the pass only deletes
// webhooks left from webhooks mode.
const (
	asanaWebhooksEvery    = time.Minute
	asanaLeftoverHooksAge = 10 * time.Minute
)

// addAsanaIntakeWorkers registers the Asana intake's jobs when there is an
// intake and returns their periodic jobs, which river's leader alone
// enqueues: a tick runs once across replicas.
func addAsanaIntakeWorkers(workers *river.Workers, keeper *leaseKeeper, log *slog.Logger, opts Options) []*river.PeriodicJob {
	if opts.AsanaIntake == nil {
		return nil
	}
	addLeased(workers, river.Worker[PollAsanaArgs](&PollAsanaWorker{Intake: opts.AsanaIntake, Log: log}), keeper)
	addLeased(workers, river.Worker[AsanaWebhooksArgs](&AsanaWebhooksWorker{Intake: opts.AsanaIntake, Log: log}), keeper)
	poll := opts.AsanaPollInterval
	if poll <= 0 {
		poll = 5 * time.Second
	}
	repair := asanaLeftoverHooksAge
	if opts.AsanaIntake.Mode() == asanaintake.ModeWebhooks {
		repair = asanaWebhooksEvery
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(poll), func() (river.JobArgs, *river.InsertOpts) {
			return PollAsanaArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(repair), func() (river.JobArgs, *river.InsertOpts) {
			return AsanaWebhooksArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
	}
}
