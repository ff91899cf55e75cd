package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// River keeps a finished job's row for a day (completed) or a week
// (cancelled, discarded). That suits jobs that did something, but the
// periodic jobs run every few seconds and their rows say nothing the store
// does not: the demo's poll_asana at one second alone would leave 86,400
// completed rows a day, and a week of an unreachable Asana 600,000
// discarded ones, each swept by river's cleaner in batches. So the
// prune_jobs pass keeps, of each periodic kind and each finished state,
// only the newest keepFinished rows: enough for the console's jobs page to
// show the latest failures with their errors, and a bounded table. Jobs
// that carry work (sync_link, apply_jira_event, copy_attachments) keep
// river's retention.

// periodicKinds are the kinds whose finished rows the prune pass bounds.
var periodicKinds = []string{
	PollAsanaArgs{}.Kind(),
	AsanaWebhooksArgs{}.Kind(),
	ReconcileJiraArgs{}.Kind(),
	CleanupArgs{}.Kind(),
	PruneJobsArgs{}.Kind(),
	SweepLinkCopiesArgs{}.Kind(),
	SweepCreateClaimsArgs{}.Kind(),
}

// finishedStates are the states a job ends in.
var finishedStates = []rivertype.JobState{
	rivertype.JobStateCompleted,
	rivertype.JobStateCancelled,
	rivertype.JobStateDiscarded,
}

const (
	// keepFinished is how many finished rows of one periodic kind in one
	// state are kept.
	keepFinished = 100
	// pruneEvery is how often the prune pass runs: at a one-second poll a
	// minute adds 60 rows, so the table holds at most 160 of that kind.
	pruneEvery = time.Minute
	// pruneBatch is how many rows one delete removes; the first pass
	// after an upgrade may meet a day of rows.
	pruneBatch = 10_000
)

// PruneJobsArgs is the periodic pass that bounds the finished rows of the
// periodic kinds.
type PruneJobsArgs struct{}

// Kind is part of the persisted contract; never change it.
func (PruneJobsArgs) Kind() string { return "prune_jobs" }

// InsertOpts keep one pass at a time and never retry one: the next comes
// within a minute.
func (PruneJobsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

// PruneJobsWorker runs PruneJobsArgs with the client that runs it.
type PruneJobsWorker struct {
	river.WorkerDefaults[PruneJobsArgs]
}

// Work prunes; running it twice is harmless.
func (w *PruneJobsWorker) Work(ctx context.Context, _ *river.Job[PruneJobsArgs]) error {
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil {
		return fmt.Errorf("jobs: prune: %w", err)
	}
	_, err = pruneFinished(ctx, client)
	return err
}

// PruneFinished runs the prune pass now and returns how many rows it
// deleted.
func (q *Queue) PruneFinished(ctx context.Context) (int, error) {
	return pruneFinished(ctx, q.client)
}

func pruneFinished(ctx context.Context, client *river.Client[*sql.Tx]) (int, error) {
	deleted := 0
	for _, kind := range periodicKinds {
		for _, state := range finishedStates {
			n, err := pruneKind(ctx, client, kind, state)
			deleted += n
			if err != nil {
				return deleted, err
			}
		}
	}
	return deleted, nil
}

// pruneKind deletes the rows of one kind in one finished state older than
// its newest keepFinished. Job ids grow with insertion, so "newest" is by
// id, which needs no time arithmetic in either database's dialect.
func pruneKind(ctx context.Context, client *river.Client[*sql.Tx], kind string, state rivertype.JobState) (int, error) {
	newest, err := client.JobList(ctx, river.NewJobListParams().Kinds(kind).States(state).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(keepFinished+1))
	if err != nil {
		return 0, fmt.Errorf("jobs: prune %s %s: %w", state, kind, err)
	}
	if len(newest.Jobs) <= keepFinished {
		return 0, nil
	}
	last := newest.Jobs[keepFinished].ID
	deleted := 0
	for {
		res, err := client.JobDeleteMany(ctx, river.NewJobDeleteManyParams().Kinds(kind).States(state).
			Where("id <= @last_id", river.NamedArgs{"last_id": last}).First(pruneBatch))
		if err != nil {
			return deleted, fmt.Errorf("jobs: prune %s %s: %w", state, kind, err)
		}
		deleted += len(res.Jobs)
		if len(res.Jobs) < pruneBatch {
			return deleted, nil
		}
	}
}
