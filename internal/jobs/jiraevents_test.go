package jobs_test

import (
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertest"
)

// apply_jira_event decides like the attachment copy what river does after
// a failure: a credential Jira refused cancels the job (and is flagged for
// reconnection), a rate limit snoozes it for the Retry-After, a story
// another attempt is posting snoozes it until that attempt's lease ends,
// and other failures are retried. Each case runs the real worker and the
// real bridge against the emulators.
func TestApplyJiraEventOutcomes(t *testing.T) {
	t.Parallel()
	type result struct {
		kind river.EventKind
		// snooze is the least wait a snoozed job gets; within is how much
		// longer it may be.
		snooze, within time.Duration
	}
	tests := map[string]struct {
		env func(t *testing.T) (*bridgetest.Env, *bridgetest.CrashingStore)
		// before runs once the delivery is at hand.
		before func(t *testing.T, e *bridgetest.Env, cs *bridgetest.CrashingStore, payload []byte)
		want   result
		check  func(t *testing.T, e *bridgetest.Env)
	}{
		"applied": {
			want:  result{kind: river.EventKindJobCompleted},
			check: func(t *testing.T, e *bridgetest.Env) { wantStories(t, e, 1) },
		},
		"Jira refuses the credential": {
			before: func(t *testing.T, e *bridgetest.Env, _ *bridgetest.CrashingStore, _ []byte) {
				if !e.Jira.RevokeAccessToken(e.JiraToken) {
					t.Fatal("no token to revoke")
				}
			},
			want: result{kind: river.EventKindJobCancelled},
			check: func(t *testing.T, e *bridgetest.Env) {
				c, err := e.Store.GetJiraCredential(t.Context(), e.Alice, e.Server.ID)
				if err != nil || !c.ReconnectNeeded {
					t.Fatalf("credential %+v, %v: want it flagged for reconnection", c, err)
				}
				wantStories(t, e, 0)
			},
		},
		"Jira rate limits": {
			before: func(t *testing.T, e *bridgetest.Env, _ *bridgetest.CrashingStore, _ []byte) {
				if err := e.Jira.SetFaults(fakejira.Faults{Throttle: true, RetryAfterSeconds: 30}); err != nil {
					t.Fatal(err)
				}
			},
			want: result{kind: river.EventKindJobSnoozed, snooze: 29 * time.Second, within: time.Minute},
		},
		"Asana rate limits": {
			before: func(t *testing.T, e *bridgetest.Env, _ *bridgetest.CrashingStore, _ []byte) {
				if err := e.Asana.SetFaults(fakeasana.Faults{Throttle: true, RetryAfterSeconds: 20, PathPrefix: "/api/1.0/tasks/"}); err != nil {
					t.Fatal(err)
				}
			},
			want: result{kind: river.EventKindJobSnoozed, snooze: 19 * time.Second, within: time.Minute},
		},
		"another attempt is posting the story": {
			env: func(t *testing.T) (*bridgetest.Env, *bridgetest.CrashingStore) {
				var cs *bridgetest.CrashingStore
				e := bridgetest.New(t, bridgetest.Options{WrapStore: func(st store.Store) store.Store {
					cs = &bridgetest.CrashingStore{Store: st}
					return cs
				}})
				return e, cs
			},
			before: func(t *testing.T, e *bridgetest.Env, cs *bridgetest.CrashingStore, payload []byte) {
				// An attempt posts and dies holding the story's lease.
				cs.Crash.Store(true)
				defer cs.Crash.Store(false)
				if err := e.Bridge.ApplyJiraEvent(t.Context(), e.Server.ID, payload); err == nil {
					t.Fatal("the crashing attempt succeeded")
				}
			},
			want:  result{kind: river.EventKindJobSnoozed, snooze: time.Second, within: time.Minute},
			check: func(t *testing.T, e *bridgetest.Env) { wantStories(t, e, 1) },
		},
		"Jira fails": {
			before: func(t *testing.T, e *bridgetest.Env, _ *bridgetest.CrashingStore, _ []byte) {
				if err := e.Jira.SetFaults(fakejira.Faults{ErrorRate: 1, ErrorStatus: 503}); err != nil {
					t.Fatal(err)
				}
			},
			want: result{kind: river.EventKindJobFailed},
		},
		"the link's owner is not connected": {
			before: func(t *testing.T, e *bridgetest.Env, _ *bridgetest.CrashingStore, _ []byte) {
				e.Relink(t, e.Seed.Users["bob"]) // never connected
			},
			want: result{kind: river.EventKindJobCancelled},
		},
	}
	for _, kind := range []string{"apply_jira_deliveries", "apply_jira_event"} {
		for name, tc := range tests {
			t.Run(kind+"/"+name, func(t *testing.T) {
				t.Parallel()
				var (
					e  *bridgetest.Env
					cs *bridgetest.CrashingStore
				)
				if tc.env != nil {
					e, cs = tc.env(t)
				} else {
					e = bridgetest.New(t, bridgetest.Options{})
				}
				if err := e.Jira.AddComment("DEMO-1", "bob", "Needs a decision"); err != nil {
					t.Fatal(err)
				}
				payload := e.Next(t, "jira:issue_updated", "Needs a decision")
				if tc.before != nil {
					tc.before(t, e, cs, payload)
				}

				started := time.Now()
				var (
					res *rivertest.WorkResult
					err error
				)
				if kind == "apply_jira_event" {
					driver, tx := riverTx(t)
					w := rivertest.NewWorker(t, driver, &river.Config{}, &jobs.ApplyJiraEventWorker{Applier: e.Bridge})
					res, err = w.Work(t.Context(), t, tx, jobs.ApplyJiraEventArgs{JiraServerID: e.Server.ID, Payload: payload}, nil)
				} else {
					res, err = workDeliveries(t, e, payload)
				}
				// rivertest returns the error of a failed job (to be retried),
				// not those of a cancelled or snoozed one.
				if (err != nil) != (tc.want.kind == river.EventKindJobFailed) || res == nil {
					t.Fatalf("Work = %+v, %v", res, err)
				}
				if res.EventKind != tc.want.kind {
					t.Fatalf("job ended %s (errors %+v), want %s", res.EventKind, res.Job.Errors, tc.want.kind)
				}
				if tc.want.kind == river.EventKindJobSnoozed {
					wait := res.Job.ScheduledAt.Sub(started)
					if wait < tc.want.snooze || wait > tc.want.snooze+tc.want.within {
						t.Fatalf("snoozed for %s, want at least %s", wait, tc.want.snooze)
					}
				}
				if kind == "apply_jira_deliveries" {
					wantApplied(t, e, tc.want.kind == river.EventKindJobCompleted)
				}
				if tc.check != nil {
					tc.check(t, e)
				}
			})
		}
	}
}

// workDeliveries stores payloads as the receiver does and runs one
// apply_jira_deliveries job naming them.
func workDeliveries(t *testing.T, e *bridgetest.Env, payloads ...[]byte) (*rivertest.WorkResult, error) {
	t.Helper()
	ds := make([]store.JiraDelivery, len(payloads))
	for i, p := range payloads {
		ds[i] = store.JiraDelivery{JiraServerID: e.Server.ID, DedupKey: fmt.Sprintf("delivery-%d-%d", time.Now().UnixNano(), i),
			Event: "jira:issue_updated", IssueID: e.Link.IssueID, Payload: p, ExpiresAt: time.Now().Add(time.Hour)}
	}
	if err := e.Store.AddJiraDeliveries(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	args := jobs.ApplyJiraDeliveriesArgs{JiraServerID: e.Server.ID}
	for _, d := range ds {
		args.DeliveryIDs = append(args.DeliveryIDs, d.ID)
	}
	driver, tx := riverTx(t)
	w := rivertest.NewWorker(t, driver, &river.Config{}, &jobs.ApplyJiraDeliveriesWorker{Store: e.Store, Applier: e.Bridge,
		Log: slog.New(slog.DiscardHandler), Now: time.Now})
	return w.Work(t.Context(), t, tx, args, nil)
}

// wantApplied checks whether every stored delivery is marked applied.
func wantApplied(t *testing.T, e *bridgetest.Env, applied bool) {
	t.Helper()
	var pending int
	if err := e.Store.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM jira_deliveries WHERE applied_at IS NULL`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if (pending == 0) != applied {
		t.Fatalf("%d deliveries not applied, want applied %v", pending, applied)
	}
}

// One job applies the deliveries it names in order and marks them applied;
// one whose body does not parse beyond the receiver's summary is skipped.
func TestApplyJiraDeliveriesInOrderOnce(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	var payloads [][]byte
	for _, text := range []string{"Needs a decision", "Decided: ship it"} {
		if err := e.Jira.AddComment("DEMO-1", "bob", text); err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, e.Next(t, "jira:issue_updated", text))
	}
	// Not a Jira delivery beyond its summary: skipped, and marked so.
	payloads = append(payloads, []byte(`{"webhookEvent":"jira:issue_updated","issue":{"id":"`+e.Link.IssueID+`","fields":{"status":"Done"}}}`))
	res, err := workDeliveries(t, e, payloads...)
	if err != nil || res.EventKind != river.EventKindJobCompleted {
		t.Fatalf("Work = %+v, %v", res, err)
	}
	wantApplied(t, e, true)
	wantStories(t, e, 1)
	if n := e.Stories("Decided: ship it"); n != 1 {
		t.Fatalf("%d stories tell the second comment, want 1", n)
	}
	stories := e.Asana.Stories(e.Link.TaskGID)
	first, second := -1, -1
	for i, s := range stories {
		switch {
		case strings.Contains(s.Text, "Needs a decision"):
			first = i
		case strings.Contains(s.Text, "Decided: ship it"):
			second = i
		}
	}
	if first < 0 || second < first {
		t.Fatalf("stories out of order: %+v", stories)
	}
}

func wantStories(t *testing.T, e *bridgetest.Env, n int) {
	t.Helper()
	if got := e.Stories("Needs a decision"); got != n {
		t.Fatalf("%d stories tell the comment, want %d: %+v", got, n, e.Asana.Stories(e.Link.TaskGID))
	}
}

// riverTx is a transaction on a migrated SQLite database for river's side
// of a test, rolled back at its end.
func riverTx(t *testing.T) (riverdriver.Driver[*sql.Tx], *sql.Tx) {
	t.Helper()
	db, err := sqlite.OpenDB(t.Context(), filepath.Join(t.TempDir(), "river.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	driver, _, err := jobs.Driver(t.Context(), "sqlite", db, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(t.Context(), driver); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return driver, tx
}

// The attachment copy decides the same way: Asana rate limiting its report
// comment snoozes the job for Asana's Retry-After, and the snoozed job posts
// the comment once.
func TestCopyAttachmentsSnoozesOnAsanaRateLimit(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	if err := e.Asana.SetFaults(fakeasana.Faults{Throttle: true, RetryAfterSeconds: 20, PathPrefix: "/api/1.0/tasks/" + e.Link.TaskGID + "/stories"}); err != nil {
		t.Fatal(err)
	}
	driver, tx := riverTx(t)
	w := rivertest.NewWorker(t, driver, &river.Config{}, &jobs.CopyAttachmentsWorker{Copier: e.Bridge})
	started := time.Now()
	res, err := w.Work(t.Context(), t, tx, bridge.CopyArgsFor(e.Link), nil)
	if err != nil || res.EventKind != river.EventKindJobSnoozed {
		t.Fatalf("Work = %+v, %v; want the job snoozed", res, err)
	}
	if wait := res.Job.ScheduledAt.Sub(started); wait < 19*time.Second || wait > time.Minute+19*time.Second {
		t.Fatalf("snoozed for %s, want Asana's 20 s", wait)
	}
	if err := e.Asana.SetFaults(fakeasana.Faults{Reset: true}); err != nil {
		t.Fatal(err)
	}
	res, err = w.WorkJob(t.Context(), t, tx, res.Job)
	if err != nil || res.EventKind != river.EventKindJobCompleted {
		t.Fatalf("the snoozed job's run = %+v, %v", res, err)
	}
	if n := e.Stories("asanajira brought this task's files"); n != 1 {
		t.Fatalf("%d report comments, want 1", n)
	}
}

// A copy for a user whom Jira no longer lets see the issue is cancelled,
// not retried, and the task says why once.
func TestCopyAttachmentsCancelledWhenJiraRefusesTheIssue(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	// alice leaves DEMO's roles: she may no longer browse it.
	for _, role := range []string{"Users", "Developers"} {
		if err := e.Jira.SetProjectRole("DEMO", role, []string{"bob"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	driver, tx := riverTx(t)
	w := rivertest.NewWorker(t, driver, &river.Config{}, &jobs.CopyAttachmentsWorker{Copier: e.Bridge})
	res, err := w.Work(t.Context(), t, tx, bridge.CopyArgsFor(e.Link), nil)
	if err != nil || res.EventKind != river.EventKindJobCancelled {
		t.Fatalf("Work = %+v, %v; want the job cancelled", res, err)
	}
	if n := e.Stories("could not copy this task's files to Jira issue " + e.Link.IssueKey); n != 1 {
		t.Fatalf("%d stories say why the copy stopped, want 1: %+v", n, e.Asana.Stories(e.Link.TaskGID))
	}
	if is, _ := e.Jira.Issue(e.Link.IssueKey); len(is.Attachments) != 0 {
		t.Errorf("files reached %s: %+v", e.Link.IssueKey, is.Attachments)
	}
}
