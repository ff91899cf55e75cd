package jobs_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

func syncJobs(t *testing.T, e *synctest.Env) []*rivertype.JobRow {
	t.Helper()
	res, err := e.Queue.Client().JobList(t.Context(), river.NewJobListParams().Kinds("sync_link").First(100))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// snoozes is how many times river snoozed a job.
func snoozes(j *rivertype.JobRow) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(j.Metadata, &m) // river writes the metadata; no count reads as 0
	return m.Snoozes
}

func allApplied(t *testing.T, e *synctest.Env) bool {
	t.Helper()
	cs := e.Changes(t)
	for _, c := range cs {
		if c.AppliedAt.IsZero() {
			return false
		}
	}
	return len(cs) > 0
}

// Recorded changes are applied by sync_link jobs, both ways, on both
// databases; a burst of changes to one link makes few runs, and every
// change ends with an outcome.
func TestSyncLinkJobsApplyChanges(t *testing.T) {
	t.Parallel()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			e := synctest.New(t, synctest.Options{DB: db, Run: true})
			ctx := t.Context()
			if _, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "From a job.", nil); err != nil {
				t.Fatal(err)
			}
			synctest.Eventually(t, 20*time.Second, "the Jira comment reaches the task", func() bool { return e.StoriesWith("From a job.") == 1 })

			if _, err := e.AsanaAs(t, "bob").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"completed": true}); err != nil {
				t.Fatal(err)
			}
			for i := range 5 { // one change told five times, as a flaky intake would
				e.RecordAsana(t, syncengine.KindCompletion, "", "completed")
				e.RecordAsana(t, syncengine.KindTask, "", "burst-"+string(rune('a'+i)))
			}
			synctest.Eventually(t, 20*time.Second, "the issue is done", func() bool { return e.Issue(t).StatusCategory == "done" })
			synctest.Eventually(t, 20*time.Second, "every change applied", func() bool { return allApplied(t, e) })
			if n := e.StoriesWith("From a job."); n != 1 {
				t.Fatalf("%d stories, want 1", n)
			}
			if len(e.Changes(t)) > 20 {
				t.Fatalf("%d changes recorded; the same change was recorded more than once", len(e.Changes(t)))
			}
		})
	}
}

// While another run holds the link, a sync_link job snoozes (it neither
// fails nor runs the link twice at once) and runs once the lease is free.
func TestSyncLinkJobSnoozesWhileTheLinkIsHeld(t *testing.T) {
	t.Parallel()
	e := synctest.New(t, synctest.Options{Run: true})
	ctx := t.Context()
	if _, err := e.Store.AcquireSyncLease(ctx, e.Link.ID, "another-replica", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "Wait your turn.", nil); err != nil {
		t.Fatal(err)
	}
	synctest.Eventually(t, 20*time.Second, "the job snoozes", func() bool {
		for _, j := range syncJobs(t, e) {
			if snoozes(j) > 0 && len(j.Errors) == 0 {
				return true
			}
		}
		return false
	})
	if e.StoriesWith("Wait your turn.") != 0 {
		t.Fatal("a run wrote while another held the link")
	}
	if err := e.Store.ReleaseSyncLease(ctx, e.Link.ID, "another-replica"); err != nil {
		t.Fatal(err)
	}
	synctest.Eventually(t, 20*time.Second, "the comment reaches the task", func() bool { return e.StoriesWith("Wait your turn.") == 1 })
}

// Jira's 429 snoozes the job for its Retry-After instead of failing it;
// the changes wait and are applied once Jira answers.
func TestSyncLinkJobSnoozesOnRateLimit(t *testing.T) {
	t.Parallel()
	e := synctest.New(t, synctest.Options{Run: true})
	ctx := t.Context()
	if err := e.Jira.SetFaults(fakejira.Faults{Throttle: true, RetryAfterSeconds: 1, PathPrefix: "/jira/rest/api/2/issue/"}); err != nil {
		t.Fatal(err)
	}
	s, err := e.AsanaAs(t, "bob").AddComment(ctx, e.Link.TaskGID, "Throttled for a while.", "")
	if err != nil {
		t.Fatal(err)
	}
	e.RecordAsana(t, syncengine.KindComment, s.GID, "added:"+s.GID)
	synctest.Eventually(t, 20*time.Second, "the job snoozes on Jira's 429", func() bool {
		for _, j := range syncJobs(t, e) {
			if snoozes(j) > 0 {
				return len(j.Errors) == 0
			}
		}
		return false
	})
	if err := e.Jira.SetFaults(fakejira.Faults{}); err != nil {
		t.Fatal(err)
	}
	synctest.Eventually(t, 20*time.Second, "the story reaches Jira", func() bool { return len(e.JiraCommentsWith(t, "Throttled for a while.")) == 1 })
	synctest.Eventually(t, 20*time.Second, "every change applied", func() bool { return allApplied(t, e) })
}

// A credential Jira refuses (401) ends the job with a visible error on the
// link and the credential marked for reconnection; it is not retried.
func TestSyncLinkJobUnauthorized(t *testing.T) {
	t.Parallel()
	e := synctest.New(t, synctest.Options{Run: true})
	ctx := t.Context()
	e.BreakJiraToken(t, "alice")
	if _, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "Nobody can read this for alice.", nil); err != nil {
		t.Fatal(err)
	}
	synctest.Eventually(t, 20*time.Second, "the change ends in an error", func() bool { return allApplied(t, e) })
	st := e.State(t)
	if !strings.Contains(st.LastError, "Jira refused Alice Anders's authorization") {
		t.Fatalf("sync error = %q", st.LastError)
	}
	cred, err := e.Store.GetJiraCredential(ctx, e.Users["alice"], e.Server.ID)
	if err != nil || !cred.ReconnectNeeded {
		t.Fatalf("alice's credential: reconnect needed = %v (%v)", cred.ReconnectNeeded, err)
	}
	for _, c := range e.Changes(t) {
		if c.Outcome != syncengine.OutcomeError {
			t.Errorf("change %s: outcome %q, want error", c.DedupKey, c.Outcome)
		}
	}
	synctest.Eventually(t, 20*time.Second, "the job completes", func() bool {
		for _, j := range syncJobs(t, e) {
			if j.State != rivertype.JobStateCompleted {
				return false
			}
		}
		return true
	})
	for _, j := range syncJobs(t, e) {
		if len(j.Errors) != 0 || j.Attempt != 1 {
			t.Errorf("job %d: attempt %d, errors %v; want done at its first attempt", j.ID, j.Attempt, j.Errors)
		}
	}
}

// A job stays "running" until river records its end: a change recorded
// while both the link's job and its follow-up are running (both may have
// read their changes already, and ended) gets a follow-up of the follow-up,
// which applies it, instead of waiting for the next reconciliation.
func TestChangeWhileTheFollowUpRunsGetsAnother(t *testing.T) {
	t.Parallel()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			e := synctest.New(t, synctest.Options{DB: db})
			ctx := t.Context()
			running := func() {
				t.Helper()
				if _, err := e.Store.DB().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = $1
					WHERE kind = 'sync_link' AND state = 'available'`, time.Now().UTC()); err != nil {
					t.Fatal(err)
				}
			}
			e.RecordAsana(t, syncengine.KindResync, "", "first")
			running()
			e.RecordAsana(t, syncengine.KindTask, "", "second")
			running()
			if n := len(syncJobs(t, e)); n != 2 {
				t.Fatalf("%d sync_link jobs, want the link's and its follow-up", n)
			}
			s, err := e.AsanaAs(t, "bob").AddComment(ctx, e.Link.TaskGID, "Written as the runs end.", "")
			if err != nil {
				t.Fatal(err)
			}
			e.RecordAsana(t, syncengine.KindComment, s.GID, "added:"+s.GID)
			e.RecordAsana(t, syncengine.KindTask, "", "third") // joins it
			waiting := 0
			for _, j := range syncJobs(t, e) {
				if j.State != rivertype.JobStateRunning {
					waiting++
				}
			}
			if waiting != 1 {
				t.Fatalf("%d sync_link jobs waiting, want one after the running follow-up", waiting)
			}
			if err := e.Queue.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				_ = e.Queue.Stop(sctx) // the test is over
			})
			synctest.Eventually(t, 20*time.Second, "the job after the follow-up applies the comment", func() bool {
				return len(e.JiraCommentsWith(t, "Written as the runs end.")) == 1
			})
		})
	}
}

// A change recorded while its link's sync_link job is running (and may have
// read its changes already) gets a follow-up job, which applies it.
func TestChangeDuringARunGetsAFollowUp(t *testing.T) {
	t.Parallel()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			e := synctest.New(t, synctest.Options{DB: db})
			ctx := t.Context()
			// A run of the link is under way elsewhere: its job is running.
			e.RecordAsana(t, syncengine.KindResync, "", "first")
			jobsNow := syncJobs(t, e)
			if len(jobsNow) != 1 {
				t.Fatalf("%d sync_link jobs after one change, want 1", len(jobsNow))
			}
			if _, err := e.Store.DB().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = $1 WHERE id = $2`,
				time.Now().UTC(), jobsNow[0].ID); err != nil {
				t.Fatal(err)
			}
			s, err := e.AsanaAs(t, "bob").AddComment(ctx, e.Link.TaskGID, "Written during a run.", "")
			if err != nil {
				t.Fatal(err)
			}
			e.RecordAsana(t, syncengine.KindComment, s.GID, "added:"+s.GID)
			var followUps int
			for _, j := range syncJobs(t, e) {
				var args struct {
					FollowUp bool `json:"follow_up"`
				}
				if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
					t.Fatal(err)
				}
				if args.FollowUp {
					followUps++
				}
			}
			if followUps != 1 {
				t.Fatalf("%d follow-up jobs, want 1", followUps)
			}
			// Recorded again while both wait: no third job.
			e.RecordAsana(t, syncengine.KindTask, "", "another")
			if n := len(syncJobs(t, e)); n != 2 {
				t.Fatalf("%d sync_link jobs, want the running one and one follow-up", n)
			}
			if err := e.Queue.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				_ = e.Queue.Stop(sctx) // the test is over
			})
			synctest.Eventually(t, 20*time.Second, "the follow-up applies the comment", func() bool {
				return len(e.JiraCommentsWith(t, "Written during a run.")) == 1
			})
		})
	}
}
