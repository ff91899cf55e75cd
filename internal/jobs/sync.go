package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Syncer is the sync engine as the jobs use it (internal/syncengine).
type Syncer interface {
	SyncLink(ctx context.Context, linkID int64) (syncengine.Result, error)
	ReconcileJira(ctx context.Context) (syncengine.ReconcileResult, error)
	RecordJiraEvent(ctx context.Context, jiraServerID string, payload []byte) (bool, error)
	RecordJiraEvents(ctx context.Context, jiraServerID string, events []*jira.WebhookEvent) (int, error)
	PruneChanges(ctx context.Context) error
	// LinkMade starts a new link's first run (the link's copy job asks).
	LinkMade(ctx context.Context, jiraServerID, taskGID string) error
}

// waitingStates are the states in which a sync_link job of a link is
// unique: a burst of changes makes one run. River requires "running" among
// them; a change recorded while its link's job runs gets a follow-up job
// instead (see EnqueueSyncLink).
var waitingStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}

// SyncLinkArgs runs the sync engine on one link.
type SyncLinkArgs struct {
	LinkID int64 `json:"link_id"`
	// FollowUp marks the run asked for while the link's job was running.
	FollowUp bool `json:"follow_up,omitempty"`
	// After is the running follow-up this one follows (0 for the first).
	After int64 `json:"after,omitempty"`
}

// Kind is part of the persisted contract; never change it.
func (SyncLinkArgs) Kind() string { return "sync_link" }

// InsertOpts makes a link's job unique among the waiting ones.
func (SyncLinkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// leaseSnooze is how long a sync_link job waits when another run holds its
// link: runs are short, so about a second.
const leaseSnooze = time.Second

// SyncLinkWorker runs SyncLinkArgs.
type SyncLinkWorker struct {
	river.WorkerDefaults[SyncLinkArgs]
	Syncer Syncer
}

// maxSyncRetry caps the wait before a failed (or rescued) sync_link job
// runs again. While it waits, changes of its link recorded meanwhile join
// it instead of enqueueing a run of their own, so river's default backoff
// (attempt⁴ seconds: 81 s at the third attempt, 17 min at the sixth)
// would hold up every later change of the link; a run compares state and
// is cheap to repeat.
const maxSyncRetry = 30 * time.Second

// NextRetry waits attempt² seconds, at most maxSyncRetry.
func (w *SyncLinkWorker) NextRetry(job *river.Job[SyncLinkArgs]) time.Time {
	return time.Now().Add(syncRetryDelay(job.Attempt))
}

func syncRetryDelay(attempt int) time.Duration {
	d := time.Duration(attempt*attempt) * time.Second
	if d <= 0 || d > maxSyncRetry {
		return maxSyncRetry
	}
	return d
}

// Work syncs the link. Another run holding the link snoozes the job for a
// second (runs of a link take turns, in order); a run with more to do
// snoozes it to run again at once, or after the delay it asks for; errors are classified like every job's
// (see outcome): a rate limit snoozes for its Retry-After, anything else is
// retried. Errors people must act on (a refused credential, a missing
// permission) are shown on the link by the engine and end the job.
func (w *SyncLinkWorker) Work(ctx context.Context, job *river.Job[SyncLinkArgs]) error {
	res, err := w.Syncer.SyncLink(ctx, job.Args.LinkID)
	var held *syncengine.LeaseHeldError
	switch {
	case errors.As(err, &held):
		return river.JobSnooze(leaseSnooze)
	case err != nil:
		return outcome(err)
	case res.Again:
		return river.JobSnooze(res.After)
	}
	return nil
}

// EnqueueSyncLink enqueues a sync run of a link in tx (for the sync engine's
// Record). When the link's job is running already, it may have read its
// changes before this one was recorded, so a follow-up job is enqueued; it
// waits for the running one through the link's lease. A job stays
// "running" until river records its end, a little after its run, so the
// follow-up may be running (or just finished) too: then a follow-up of that
// follow-up is enqueued, and so on, each unique to the job it follows, so
// the change is never left to the next reconciliation.
func (q *Queue) EnqueueSyncLink(ctx context.Context, tx *sql.Tx, linkID int64) error {
	args := SyncLinkArgs{LinkID: linkID}
	for range maxFollowUps {
		res, err := q.client.InsertTx(ctx, tx, args, nil)
		if err != nil {
			return fmt.Errorf("jobs: enqueue sync_link: %w", err)
		}
		if !res.UniqueSkippedAsDuplicate || res.Job == nil || res.Job.State != rivertype.JobStateRunning {
			return nil
		}
		next := SyncLinkArgs{LinkID: linkID, FollowUp: true}
		if args.FollowUp {
			next.After = res.Job.ID
		}
		args = next
	}
	return fmt.Errorf("jobs: enqueue sync_link: %d jobs of link %d are running", maxFollowUps, linkID)
}

// maxFollowUps bounds the chain of follow-ups EnqueueSyncLink walks: runs of
// a link take turns, so only a few can be running (or ending) at once.
const maxFollowUps = 8

// ReconcileJiraArgs is the periodic reconciliation of every Jira server.
type ReconcileJiraArgs struct{}

// Kind is part of the persisted contract; never change it.
func (ReconcileJiraArgs) Kind() string { return "reconcile_jira" }

// InsertOpts keeps one pass waiting at a time and lets a failed pass be
// retried a little before the next period takes over.
func (ReconcileJiraArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

// ReconcileJiraWorker runs ReconcileJiraArgs.
type ReconcileJiraWorker struct {
	river.WorkerDefaults[ReconcileJiraArgs]
	Syncer Syncer
	Log    *slog.Logger
}

// Timeout gives a pass over many servers and projects time to page
// through its searches.
func (w *ReconcileJiraWorker) Timeout(*river.Job[ReconcileJiraArgs]) time.Duration {
	return 10 * time.Minute
}

// Work reconciles every server, then prunes changes applied long ago.
func (w *ReconcileJiraWorker) Work(ctx context.Context, _ *river.Job[ReconcileJiraArgs]) error {
	res, err := w.Syncer.ReconcileJira(ctx)
	if w.Log != nil && res.Recorded > 0 {
		w.Log.LogAttrs(ctx, slog.LevelInfo, "Jira reconciliation recorded changes", slog.Int("servers", res.Servers),
			slog.Int("seen", res.Seen), slog.Int("recorded", res.Recorded))
	}
	if perr := w.Syncer.PruneChanges(ctx); perr != nil && err == nil {
		err = perr
	}
	return err
}

// addSyncWorkers registers the sync jobs when there is a sync engine and
// returns the reconciliation's periodic job: river's leader alone enqueues
// periodic jobs, so a pass runs once across replicas.
func addSyncWorkers(workers *river.Workers, keeper *leaseKeeper, log *slog.Logger, opts Options) []*river.PeriodicJob {
	if opts.Sync == nil {
		return nil
	}
	addLeased(workers, river.Worker[SyncLinkArgs](&SyncLinkWorker{Syncer: opts.Sync}), keeper)
	addLeased(workers, river.Worker[ReconcileJiraArgs](&ReconcileJiraWorker{Syncer: opts.Sync, Log: log}), keeper)
	interval := opts.ReconcileInterval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		return ReconcileJiraArgs{}, nil
	}, nil)}
}
