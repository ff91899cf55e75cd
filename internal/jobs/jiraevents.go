package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/riverqueue/river"
)

// ApplyJiraEventArgs carries one Jira webhook delivery to be applied to the
// linked Asana tasks. The payload is kept whole: it is a hint, the applier
// re-reads the issue with a user's credentials before writing to Asana.
type ApplyJiraEventArgs struct {
	JiraServerID string          `json:"jira_server_id"`
	Payload      json.RawMessage `json:"payload"`
}

// Kind is part of the persisted contract; never change it.
func (ApplyJiraEventArgs) Kind() string { return "apply_jira_event" }

// JiraEventApplier applies a Jira event to Asana (internal/bridge does).
type JiraEventApplier interface {
	ApplyJiraEvent(ctx context.Context, jiraServerID string, payload []byte) error
}

// ApplyJiraEventWorker runs ApplyJiraEventArgs.
type ApplyJiraEventWorker struct {
	river.WorkerDefaults[ApplyJiraEventArgs]
	Applier JiraEventApplier
	// Sync, when set, records the change the event tells of for the sync
	// engine (only links whose connection syncs record anything).
	Sync Syncer
}

// errNoApplier cancels events that arrive while no applier is configured,
// instead of retrying them forever.
var errNoApplier = errors.New("jobs: no Jira event applier is configured")

// Work applies the event; the applier is idempotent. Like the attachment
// copy, a link owner who must connect again cancels the job, and a rate
// limit or a story another attempt is posting snoozes it (see outcome);
// other errors are retried with river's backoff.
func (w *ApplyJiraEventWorker) Work(ctx context.Context, job *river.Job[ApplyJiraEventArgs]) error {
	if w.Applier == nil {
		return river.JobCancel(errNoApplier)
	}
	if w.Sync != nil {
		if _, err := w.Sync.RecordJiraEvent(ctx, job.Args.JiraServerID, job.Args.Payload); err != nil {
			return err
		}
	}
	return outcome(w.Applier.ApplyJiraEvent(ctx, job.Args.JiraServerID, job.Args.Payload))
}

// EnqueueJiraEvent queues a Jira webhook delivery in tx (for internal/jirawebhook).
func (q *Queue) EnqueueJiraEvent(ctx context.Context, tx *sql.Tx, jiraServerID string, payload []byte) error {
	return q.InsertTx(ctx, tx, ApplyJiraEventArgs{JiraServerID: jiraServerID, Payload: payload}, nil)
}
