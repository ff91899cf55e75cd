package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/riverqueue/river"
)

// CopyJiraAttachmentsArgs copies the files attached to a linked Jira issue
// to its task (syncengine.CopyJiraAttachments). UpTo is the newest
// attachment the asking sync run saw: a file attached while a copy runs
// gets a job of its own instead of waiting for the next run. Its kind and
// JSON are a persisted contract.
type CopyJiraAttachmentsArgs struct {
	LinkID int64  `json:"link_id"`
	UpTo   string `json:"up_to"`
}

// Kind names the job; never change it.
func (CopyJiraAttachmentsArgs) Kind() string { return "copy_jira_attachments" }

// InsertOpts keeps one waiting copy per link and newest file.
func (CopyJiraAttachmentsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// JiraAttachmentCopier is the rule CopyJiraAttachmentsWorker runs;
// *syncengine.Engine implements it.
type JiraAttachmentCopier interface {
	CopyJiraAttachments(ctx context.Context, linkID int64) (syncengine.AttachmentResult, error)
}

// CopyJiraAttachmentsWorker runs CopyJiraAttachmentsArgs. Each file is
// written once through the effects ledger, so a retry continues where the
// last attempt stopped.
type CopyJiraAttachmentsWorker struct {
	river.WorkerDefaults[CopyJiraAttachmentsArgs]
	Copier JiraAttachmentCopier
	Log    *slog.Logger
}

// Timeout leaves room for files up to Asana's 100 MB, streamed from Jira.
func (w *CopyJiraAttachmentsWorker) Timeout(*river.Job[CopyJiraAttachmentsArgs]) time.Duration {
	return longestBound
}

// busySnooze is how long a copy waits for a file another attempt copies.
const busySnooze = 5 * time.Second

// Work copies; a file another attempt is copying snoozes the job, and
// errors are classified like every job's (see outcome).
func (w *CopyJiraAttachmentsWorker) Work(ctx context.Context, job *river.Job[CopyJiraAttachmentsArgs]) error {
	res, err := w.Copier.CopyJiraAttachments(ctx, job.Args.LinkID)
	if err != nil {
		return outcome(err)
	}
	if w.Log != nil && res.Copied+res.Linked > 0 {
		w.Log.LogAttrs(ctx, slog.LevelInfo, "Jira attachments copied", slog.Int64("link", job.Args.LinkID),
			slog.Int("copied", res.Copied), slog.Int("linked", res.Linked))
	}
	if res.Busy > 0 {
		return river.JobSnooze(busySnooze)
	}
	return nil
}

// EnqueueJiraAttachments enqueues the copy of a link's Jira attachments
// (for the sync engine's AttachmentEnqueuer).
func (q *Queue) EnqueueJiraAttachments(ctx context.Context, linkID int64, upTo string) error {
	if _, err := q.client.Insert(ctx, CopyJiraAttachmentsArgs{LinkID: linkID, UpTo: upTo}, nil); err != nil {
		return fmt.Errorf("jobs: enqueue copy_jira_attachments: %w", err)
	}
	return nil
}

// addJiraAttachmentWorker registers the copy when the sync engine can make
// it.
func addJiraAttachmentWorker(workers *river.Workers, keeper *leaseKeeper, log *slog.Logger, opts Options) {
	if c, ok := opts.Sync.(JiraAttachmentCopier); ok {
		addLeased(workers, river.Worker[CopyJiraAttachmentsArgs](&CopyJiraAttachmentsWorker{Copier: c, Log: log}), keeper)
	}
}
