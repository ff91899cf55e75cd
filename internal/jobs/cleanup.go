package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/riverqueue/river"
)

// CleanupArgs is the periodic job that deletes expired one-time auth states
// and idempotency keys.
type CleanupArgs struct{}

// Kind is part of the persisted contract; never change it.
func (CleanupArgs) Kind() string { return "cleanup_expired" }

// CleanupWorker runs CleanupArgs.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	Store store.Store
	Now   func() time.Time
	// Log receives the warning of each interrupted create given up; nil
	// discards.
	Log *slog.Logger
}

// Work deletes what expired; running it twice is harmless. The claims of
// interrupted creates the sweep could not finish within the week it
// keeps them (store.DeleteAbandonedCreations) go first, each named in the
// log and the audit log (giveUp); the other expired records go after,
// even when that failed.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	now := w.Now()
	abandoned, err := w.Store.DeleteAbandonedCreations(ctx, now)
	if err != nil {
		err = fmt.Errorf("jobs: delete the claims of interrupted creates given up: %w", err)
	}
	for _, k := range abandoned {
		w.giveUp(ctx, k, now)
	}
	_, derr := w.Store.DeleteExpired(ctx, now)
	return errors.Join(err, derr)
}

// giveUp tells the administrator that an interrupted create's claim was
// dropped unresolved (claim): the issue Jira made for it, if any, stays
// unlinked until the task's create form is submitted again, whose search
// by the task's remote link then finds and links it rather than create a
// second. The audit log says it too (link.create_abandoned, beside
// link.create_finished for the creates the sweep finished).
func (w *CleanupWorker) giveUp(ctx context.Context, claim store.IdempotencyKey, now time.Time) {
	log := w.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	server, task, _ := bridge.CreationOf(claim.Key)
	waited := "never finished"
	if bytes.Equal(claim.Result, store.CreationAwaitingReconnect) {
		waited = "still waiting for its user to reconnect Jira"
	}
	msg := fmt.Sprintf("gave up the interrupted create of task %s on Jira server %s by user %s, %s a week on: "+
		"an issue Jira made for it, if any, stays unlinked until someone submits the task's create form again, which finds and links it",
		task, server, claim.UserGID, waited)
	log.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("user", claim.UserGID), slog.String("task", task), slog.String("jira_server", server),
		slog.Time("created", claim.CreatedAt))
	if err := w.Store.AppendAudit(ctx, store.AuditEntry{At: now, Actor: "asanajira", Action: "link.create_abandoned", Target: task, Detail: msg}); err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "could not audit an interrupted create given up", slog.String("task", task), slog.Any("error", err))
	}
}
