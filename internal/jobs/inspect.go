package jobs

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// failedStates are the states the admin console lists as failed: jobs that
// exhausted their attempts or were cancelled, and jobs waiting to retry after
// an error.
var failedStates = []rivertype.JobState{
	rivertype.JobStateDiscarded,
	rivertype.JobStateCancelled,
	rivertype.JobStateRetryable,
}

// FailedJobs lists up to limit failed, cancelled or retrying jobs, newest
// first, each with its recorded attempt errors, for the admin jobs page:
// those older than the job beforeID when it is not 0, of one kind when
// kind is not "". It asks river for each state apart, so each list reads
// one state's jobs in id order from an index and stops at limit (asked
// for all three at once, SQLite read and sorted every failed job), and
// merges the three lists.
func (q *Queue) FailedJobs(ctx context.Context, kind string, beforeID int64, limit int) ([]*rivertype.JobRow, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var all []*rivertype.JobRow
	for _, state := range failedStates {
		params := river.NewJobListParams().
			States(state).
			OrderBy(river.JobListOrderByID, river.SortOrderDesc).
			First(limit)
		if kind != "" {
			params = params.Kinds(kind)
		}
		if beforeID > 0 {
			params = params.After(river.JobListCursorFromJob(&rivertype.JobRow{ID: beforeID}))
		}
		res, err := q.client.JobList(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("jobs: list failed jobs: %w", err)
		}
		all = append(all, res.Jobs...)
	}
	slices.SortFunc(all, func(a, b *rivertype.JobRow) int { return cmp.Compare(b.ID, a.ID) })
	return all[:min(limit, len(all))], nil
}

// RunningJobs lists up to limit running jobs, oldest first, for
// the admin jobs page.
func (q *Queue) RunningJobs(ctx context.Context, limit int) ([]*rivertype.JobRow, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	params := river.NewJobListParams().
		States(rivertype.JobStateRunning).
		OrderBy(river.JobListOrderByID, river.SortOrderAsc).
		First(limit)
	res, err := q.client.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("jobs: list running jobs: %w", err)
	}
	return res.Jobs, nil
}

// Stuck reports whether a running job's lease has expired: its process
// died or lost the database. River's leader runs such a job again at its
// next rescue pass, every 30 seconds.
func (q *Queue) Stuck(job *rivertype.JobRow) bool {
	return job.State == rivertype.JobStateRunning && job.AttemptedAt != nil && time.Since(*job.AttemptedAt) > q.lease
}

// RetryJob makes a failed job available to run again now. Retrying a job
// that is already running or finished successfully changes nothing.
func (q *Queue) RetryJob(ctx context.Context, id int64) error {
	if _, err := q.client.JobRetry(ctx, id); err != nil {
		return fmt.Errorf("jobs: retry job %d: %w", id, err)
	}
	return nil
}
