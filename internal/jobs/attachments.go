package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/riverqueue/river"
)

// CopyAttachmentsArgs copies a task's attachments to its linked Jira issue.
// Its kind, "copy_attachments", and JSON are a persisted contract defined
// with the rules in bridge.
type CopyAttachmentsArgs = bridge.CopyAttachmentsArgs

// AttachmentCopier is the rule CopyAttachmentsWorker runs; *bridge.Service
// implements it.
type AttachmentCopier interface {
	CopyAttachments(ctx context.Context, args bridge.CopyAttachmentsArgs) (*bridge.CopyReport, error)
}

// CopyAttachmentsWorker runs CopyAttachmentsArgs. The copy remembers every
// attachment it handled, so a retry continues where the last attempt
// stopped and never uploads a file twice.
type CopyAttachmentsWorker struct {
	river.WorkerDefaults[CopyAttachmentsArgs]
	Copier AttachmentCopier
	Log    *slog.Logger
	// Sync, when set, is told of a new link (the first copy of a link,
	// not a Later one) before anything is copied, so the link's first sync
	// run does not wait for the copy, nor for its success.
	Sync Syncer
}

// Timeout leaves room for large files streamed from Asana to Jira.
func (w *CopyAttachmentsWorker) Timeout(*river.Job[CopyAttachmentsArgs]) time.Duration {
	return 30 * time.Minute
}

// Work copies; a user who must reconnect cancels the job (retrying cannot
// help), a rate limit snoozes it until the Retry-After, and anything else
// is retried with river's backoff (see outcome).
func (w *CopyAttachmentsWorker) Work(ctx context.Context, job *river.Job[CopyAttachmentsArgs]) error {
	if w.Sync != nil && !job.Args.Later {
		if err := w.Sync.LinkMade(ctx, job.Args.JiraServerID, job.Args.TaskGID); err != nil {
			return fmt.Errorf("jobs: copy attachments: %w", err)
		}
	}
	rep, err := w.Copier.CopyAttachments(ctx, job.Args)
	if err != nil {
		return outcome(err)
	}
	if w.Log != nil {
		w.Log.LogAttrs(ctx, slog.LevelInfo, "attachments copied", slog.String("issue", rep.IssueKey),
			slog.Int("attachments", len(rep.Items)), slog.String("task", job.Args.TaskGID))
	}
	return nil
}

// EnqueueTaskAttachments enqueues a link's copy job again, for files
// attached to the task after the link was made (the sync engine's
// TaskAttachmentEnqueuer); the copy handles each file once however often
// it runs.
func (q *Queue) EnqueueTaskAttachments(ctx context.Context, args bridge.CopyAttachmentsArgs) error {
	if _, err := q.client.Insert(ctx, args, &river.InsertOpts{MaxAttempts: 10}); err != nil {
		return fmt.Errorf("jobs: enqueue copy_attachments: %w", err)
	}
	return nil
}
