package jobs_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
)

// The cleanup gives up an interrupted create its sweep could not finish
// within the week (alice never reconnected Jira): the claim goes, with one
// warning naming the task, the server and the user and what it means, and
// one audit entry (link.create_abandoned); a completed create's claim and
// other expired keys go without a word. The issue is not lost: once alice
// connected again, her next submit of the task's form links it.
func TestCleanupSaysWhichInterruptedCreatesItGivesUp(t *testing.T) {
	t.Parallel()
	eachDB(t, false, func(t *testing.T, b *createBed) {
		ctx := t.Context()
		b.interrupt(t, true)
		interrupted := b.issues()[0]
		done := b.forTask(b.Seed.Tasks[2].GID)
		if _, err := done.create(ctx, b.Store, "Created"); err != nil {
			t.Fatal(err)
		}
		must(t, b.Store.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "other", Key: "k", ExpiresAt: b.clk.Now().Add(time.Minute)}))
		b.DisconnectJira(t, "alice")
		b.lapse()
		b.sweep(t) // puts it off
		cleanup := &jobs.CleanupWorker{Store: b.Store, Now: b.clk.Now, Log: slog.New(slog.NewTextHandler(b.logs, nil))}
		b.clk.Add(24 * time.Hour)
		must(t, cleanup.Work(ctx, nil))
		if _, _, ok := b.claim(t); !ok {
			t.Fatal("the cleanup dropped the claim a day after the create")
		}
		warned := b.logs.count("WARN", "")

		b.clk.Add(7 * 24 * time.Hour)
		must(t, cleanup.Work(ctx, nil))
		if _, _, ok := b.claim(t); ok {
			t.Fatal("the cleanup kept the claim a week after the create")
		}
		msg := "gave up the interrupted create of task " + b.task + " on Jira server " + b.Server.ID + " by user " + b.Users["alice"] +
			", still waiting for its user to reconnect Jira a week on: an issue Jira made for it, if any, stays unlinked until someone submits the task's create form again"
		if n, all := b.logs.count("WARN", msg), b.logs.count("WARN", "")-warned; n != 1 || all != 1 {
			t.Errorf("warnings of the cleanup = %d, %d saying it gave up the create; want that one:\n%s", all, n, b.logs.String())
		}
		audit, err := b.Store.ListAudit(ctx, store.AuditFilter{Action: "link.create_abandoned"})
		must(t, err)
		if len(audit) != 1 || audit[0].Target != b.task || audit[0].Actor != "asanajira" {
			t.Errorf("audit of the create given up = %+v, want one entry for task %s", audit, b.task)
		}
		var left int
		must(t, b.Store.DB().QueryRowContext(ctx, `SELECT count(*) FROM idempotency_keys`).Scan(&left))
		if left != 0 {
			t.Errorf("%d idempotency keys left after the cleanup, want none", left)
		}

		b.Connect(t, "alice")
		c, err := b.create(ctx, b.Store, "Submitted again")
		must(t, err)
		if c.IssueKey != interrupted || len(b.issues()) != 1 {
			t.Errorf("the submit after the cleanup = %s, Jira holds %v; want %s linked, no second issue", c.IssueKey, b.issues(), interrupted)
		}
	})
}
