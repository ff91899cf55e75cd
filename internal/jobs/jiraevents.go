package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/riverqueue/river"
)

// ApplyJiraEventArgs carries one Jira webhook delivery to be applied to the
// linked Asana tasks. The payload is kept whole: it is a hint, the applier
// re-reads the issue with a user's credentials before writing to Asana.
// The receiver now stores deliveries and queues ApplyJiraDeliveriesArgs;
// this kind runs the jobs queued before.
type ApplyJiraEventArgs struct {
	JiraServerID string          `json:"jira_server_id"`
	Payload      json.RawMessage `json:"payload"`
}

// Kind is part of the persisted contract; never change it.
func (ApplyJiraEventArgs) Kind() string { return "apply_jira_event" }

// JiraEventApplier applies a Jira event to Asana (internal/bridge does):
// a delivery's body, or the event parsed from it.
type JiraEventApplier interface {
	ApplyJiraEvent(ctx context.Context, jiraServerID string, payload []byte) error
	ApplyJiraWebhook(ctx context.Context, jiraServerID string, ev *jira.WebhookEvent, payload []byte) error
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

// ApplyJiraDeliveriesArgs applies Jira webhook deliveries the receiver
// stored (store.JiraDelivery) in one transaction, each issue's in their
// order. The job names rows, so a delivery's 15 KiB stay out of the
// queue's table, and a batch makes one job, not one per delivery.
type ApplyJiraDeliveriesArgs struct {
	JiraServerID string  `json:"jira_server_id"`
	DeliveryIDs  []int64 `json:"delivery_ids"`
}

// Kind is part of the persisted contract; never change it.
func (ApplyJiraDeliveriesArgs) Kind() string { return "apply_jira_deliveries" }

// QueueJiraDeliveries is the queue of apply_jira_deliveries jobs. Its
// workers are its own, so jobs waiting out a burst of deliveries
// (intakeburst.go) never keep the other kinds (a sync run, an attachment
// copy, the periodic polls) from a worker. Jobs queued in the default
// queue before it existed still run there.
const QueueJiraDeliveries = "jira_deliveries"

// InsertOpts put the job in QueueJiraDeliveries.
func (ApplyJiraDeliveriesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueJiraDeliveries}
}

// ApplyJiraDeliveriesWorker runs ApplyJiraDeliveriesArgs.
type ApplyJiraDeliveriesWorker struct {
	river.WorkerDefaults[ApplyJiraDeliveriesArgs]
	Store   store.Store
	Applier JiraEventApplier
	// Sync, when set, records the changes the deliveries tell of for the
	// sync engine, in one transaction.
	Sync Syncer
	Log  *slog.Logger
	Now  func() time.Time
	// burst, when set, is the receiver's recent intake: the job waits
	// while a burst is arriving (intakeburst.go).
	burst *intakeBurst
	// claims, when set, are the deliveries this process's jobs are
	// applying: a job applies the ones stored after its own that no job
	// holds (deliveryclaims.go).
	claims *deliveryClaims
}

// Work waits out a burst of deliveries arriving (intakeburst.go), takes
// with its own deliveries those stored after them that no job of this
// process holds (deliveryclaims.go), parses each delivery not applied yet
// once, records the changes they tell of, applies them and marks the
// applied ones. A delivery that
// fails holds back the later ones of its issue, not the other issues'; the
// job then ends with the first failure, decided as for apply_jira_event
// (retried, snoozed or cancelled), and its next attempt takes what is not
// applied. Recording and applying again are harmless.
func (w *ApplyJiraDeliveriesWorker) Work(ctx context.Context, job *river.Job[ApplyJiraDeliveriesArgs]) error {
	if w.Applier == nil {
		return river.JobCancel(errNoApplier)
	}
	if w.burst != nil {
		if err := w.burst.wait(ctx); err != nil {
			return fmt.Errorf("jobs: apply Jira deliveries: %w", err)
		}
	}
	server := job.Args.JiraServerID
	var cl *claim
	if w.claims != nil {
		var err error
		if cl, err = w.claims.claimOwn(ctx, job.Args.DeliveryIDs); err != nil {
			return fmt.Errorf("jobs: apply Jira deliveries: %w", err)
		}
		defer cl.release()
	}
	ds, err := w.Store.GetJiraDeliveries(ctx, job.Args.DeliveryIDs)
	if err != nil {
		return fmt.Errorf("jobs: apply Jira deliveries: %w", err)
	}
	if cl != nil && slices.ContainsFunc(ds, func(d store.JiraDelivery) bool { return d.AppliedAt.IsZero() }) {
		// The deliveries stored after these that no job here is applying
		// (deliveryclaims.go). A job whose deliveries were all applied
		// (by the job that took them) takes none: after a burst most
		// jobs are such, and the next delivery not applied has a job of
		// its own.
		next, err := w.Store.NextJiraDeliveryIDs(ctx, server, slices.Max(job.Args.DeliveryIDs), extraDeliveries)
		if err != nil {
			return fmt.Errorf("jobs: apply Jira deliveries: %w", err)
		}
		more, err := w.Store.GetJiraDeliveries(ctx, cl.add(next))
		if err != nil {
			return fmt.Errorf("jobs: apply Jira deliveries: %w", err)
		}
		ds = append(ds, more...)
	}
	var (
		done     []int64 // applied, or never to be
		pending  []store.JiraDelivery
		events   []*jira.WebhookEvent
		payloads [][]byte
	)
	for _, d := range ds {
		if !d.AppliedAt.IsZero() || d.JiraServerID != server {
			continue
		}
		// Recording and applying route on the event, its issue, changelog
		// and comment, and read the issue from Jira when they need it: the
		// issue's fields, most of a delivery and of a whole parse's time,
		// are checked, not decoded (this runs while the burst that
		// brought the deliveries is still coming in).
		ev, err := jira.ParseWebhookWithoutFields(d.Payload)
		if err != nil {
			// The receiver checks every field the parse reads
			// (jira.CheckWebhook); a delivery stored by a version that
			// read only the summary may still not parse.
			w.Log.WarnContext(ctx, "a stored Jira webhook delivery cannot be read; it is not applied",
				slog.Int64("delivery", d.ID), slog.String("event", d.Event), slog.Any("error", err))
			done = append(done, d.ID)
			continue
		}
		pending, events, payloads = append(pending, d), append(events, ev), append(payloads, d.Payload)
	}
	if w.Sync != nil && len(events) > 0 {
		if _, err := w.Sync.RecordJiraEvents(ctx, server, events); err != nil {
			return errors.Join(err, w.markApplied(ctx, done))
		}
	}
	var first error
	failed := map[string]bool{} // issues held back
	for i, ev := range events {
		issue := pending[i].IssueID
		if failed[issue] {
			continue
		}
		if err := w.Applier.ApplyJiraWebhook(ctx, server, ev, payloads[i]); err != nil {
			failed[issue] = true
			if first == nil {
				first = err
			}
			continue
		}
		done = append(done, pending[i].ID)
	}
	if err := w.markApplied(ctx, done); err != nil || first == nil {
		return errors.Join(err, first)
	}
	return outcome(first)
}

func (w *ApplyJiraDeliveriesWorker) markApplied(ctx context.Context, ids []int64) error {
	if err := w.Store.MarkJiraDeliveriesApplied(ctx, ids, w.Now()); err != nil {
		return fmt.Errorf("jobs: apply Jira deliveries: %w", err)
	}
	return nil
}

// EnqueueJiraDeliveries queues the apply_jira_deliveries job of stored
// deliveries, in tx (for internal/jirawebhook), and counts them towards
// the burst the jobs wait out.
func (q *Queue) EnqueueJiraDeliveries(ctx context.Context, tx *sql.Tx, jiraServerID string, ids []int64) error {
	if q.burst != nil {
		q.burst.note(len(ids))
	}
	return q.InsertTx(ctx, tx, ApplyJiraDeliveriesArgs{JiraServerID: jiraServerID, DeliveryIDs: ids}, nil)
}
