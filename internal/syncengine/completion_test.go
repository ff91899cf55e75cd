package syncengine_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
)

// lastStatusChange is who last moved the issue, and to which status, as
// Jira's changelog records it.
func lastStatusChange(t *testing.T, e *synctest.Env) (who, to string, moves int) {
	t.Helper()
	is, err := e.JiraAs(t, "admin").GetIssue(t.Context(), e.Link.IssueKey, &jira.GetIssueOptions{Fields: []string{"status"}, Expand: []string{"changelog"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range is.Changelog.Histories {
		for _, it := range h.Items {
			if it.Field == "status" {
				who, to, moves = h.Author.Name, it.ToString, moves+1
			}
		}
	}
	return who, to, moves
}

// completion counts the task's marked_complete and marked_incomplete
// stories and says who wrote the last one.
func completion(e *synctest.Env) (completes, reopens int, lastBy string) {
	for _, s := range e.Asana.Stories(e.Link.TaskGID) {
		switch s.Subtype {
		case "marked_complete":
			completes++
			lastBy = s.Author
		case "marked_incomplete":
			reopens++
			lastBy = s.Author
		}
	}
	return completes, reopens, lastBy
}

// Completing the task moves the issue through a transition to a done
// status, as the Asana user who completed it when connected to Jira;
// reopening it moves the issue back to the connection's reopen choice, as
// the link's owner when the Asana user has no Jira account. The issue's own
// webhook echoes change nothing.
func TestCompletingTheTaskMovesTheIssue(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		set, err := e.Engine.Settings(ctx, e.Seed.Workspace, e.Server.ID)
		if err != nil {
			t.Fatal(err)
		}
		set.ReopenTransition = "In Progress"
		if err := e.Engine.PutSettings(ctx, set, "test"); err != nil {
			t.Fatal(err)
		}
		e.Sync(t)

		if _, err := e.AsanaAs(t, "bob").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"completed": true}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindCompletion, "", "completed-1")
		if n := e.Sync(t); n != 1 {
			t.Fatalf("the run wrote %d times, want the one transition", n)
		}
		if is := e.Issue(t); is.StatusCategory != "done" || is.Resolution == "" {
			t.Fatalf("DEMO-1 is %s (%s), resolution %q; want done with a resolution", is.Status, is.StatusCategory, is.Resolution)
		}
		if who, to, _ := lastStatusChange(t, e); who != "bob" || to != "Done" {
			t.Fatalf("the issue was moved to %s by %s, want Done by bob", to, who)
		}
		// The transition's webhook is an echo; the task's event delivered
		// once more changes nothing.
		e.RecordAsana(t, syncengine.KindCompletion, "", "completed-1-again")
		if n := e.Sync(t); n != 0 {
			t.Fatalf("the echo run wrote %d times", n)
		}

		// admin has no Jira account: alice, the link's owner, reopens it.
		if _, err := e.AsanaAs(t, "admin").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"completed": false}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindCompletion, "", "reopened-1")
		if n := e.Sync(t); n != 1 {
			t.Fatalf("the reopen run wrote %d times", n)
		}
		if who, to, moves := lastStatusChange(t, e); who != "alice" || to != "In Progress" || moves != 2 {
			t.Fatalf("last move: to %s by %s (%d moves); want In Progress by alice, the 2nd move", to, who, moves)
		}
		if n := e.Sync(t); n != 0 {
			t.Fatalf("a run after the reopen wrote %d times", n)
		}
		got := map[string]int{}
		for _, c := range e.Changes(t) {
			got[c.Side+" "+c.Kind+" "+c.Outcome]++
		}
		want := map[string]int{"asana completion applied": 2, "asana completion noop": 1, "jira completion echo": 2}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%d changes %q, want %d (all: %v)", got[k], k, n, got)
			}
		}
		if c, r, _ := completion(e); c != 1 || r != 1 {
			t.Errorf("the task was completed %d and reopened %d times; want once each (by people, not echoed back)", c, r)
		}
	})
}

// An issue entering the done category completes the task, as the Asana user
// connected as the Jira user who moved it; leaving it reopens the task, as
// the owner when that Jira user has no Asana account here.
func TestIssueDoneCompletesTheTask(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		e.Sync(t)
		if err := e.JiraAs(t, "bob").DoTransition(ctx, "DEMO-1", jira.TransitionInput{ID: "31"}); err != nil {
			t.Fatal(err)
		}
		if n := e.Sync(t); n != 1 {
			t.Fatalf("the run wrote %d times", n)
		}
		if !e.Asana.Task(e.Link.TaskGID).Completed {
			t.Fatal("the task is not completed")
		}
		if c, _, by := completion(e); c != 1 || by != e.Users["bob"] {
			t.Fatalf("%d completions, the last by %s; want 1 by bob", c, by)
		}
		e.RecordAsana(t, syncengine.KindCompletion, "", "echo-of-complete")
		if n := e.Sync(t); n != 0 {
			t.Fatalf("the echo run wrote %d times", n)
		}

		// Moving between not-done statuses changes nothing on the task;
		// leaving done reopens it.
		if err := e.Jira.TransitionIssue("DEMO-1", "In Progress", "admin"); err != nil {
			t.Fatal(err)
		}
		if n := e.Sync(t); n != 1 {
			t.Fatalf("the reopen run wrote %d times", n)
		}
		if e.Asana.Task(e.Link.TaskGID).Completed {
			t.Fatal("the task is still completed")
		}
		if _, r, by := completion(e); r != 1 || by != e.Users["alice"] {
			t.Fatalf("%d reopens, the last by %s; want 1 by alice (admin has no Asana account here)", r, by)
		}
		if err := e.Jira.TransitionIssue("DEMO-1", "To Do", "admin"); err != nil {
			t.Fatal(err)
		}
		if n := e.Sync(t); n != 0 {
			t.Fatalf("In Progress → To Do wrote %d times", n)
		}
		hist, err := e.Engine.History(ctx, e.Link.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || hist[0].What != "completion.reopened" || hist[1].What != "completion.completed" ||
			hist[1].Direction != syncengine.JiraToAsana || hist[1].Actor != "Bob Brown" {
			t.Fatalf("history = %+v", hist)
		}
	})
}

// A user who may not transition the issue gets a visible sync error on the
// link, not a silent skip; once the right is back, the next change moves the
// issue and the error is gone.
func TestNoTransitionRightsIsAVisibleError(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		e.Sync(t)
		// Only bob keeps the Developers role (transitions): alice, the owner,
		// acts for admin, who has no Jira account.
		if err := e.Jira.SetProjectRole("DEMO", "Developers", []string{"bob"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.AsanaAs(t, "admin").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"completed": true}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindCompletion, "", "completed")
		if n := e.Sync(t); n != 0 {
			t.Fatalf("the run wrote %d times without a transition", n)
		}
		st := e.State(t)
		if !strings.Contains(st.LastError, "Cannot move DEMO-1 to a done status") || !strings.Contains(st.LastError, "Alice Anders") || st.LastErrorAt.IsZero() {
			t.Fatalf("sync error = %q at %v", st.LastError, st.LastErrorAt)
		}
		status, err := e.Engine.LinkStatus(ctx, e.Link.ID)
		if err != nil || status.Error != st.LastError || !status.Syncing {
			t.Fatalf("LinkStatus = %+v, %v", status, err)
		}
		if c := e.Changes(t)[0]; c.Outcome != syncengine.OutcomeError || c.Error == "" {
			t.Fatalf("the change = %+v, want outcome error", c)
		}
		if is := e.Issue(t); is.StatusCategory == "done" {
			t.Fatal("the issue moved")
		}

		if err := e.Jira.SetProjectRole("DEMO", "Developers", []string{"alice", "bob"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Engine.RequestSync(ctx, e.Link.ID, "manual", "retry-1", "admin"); err != nil {
			t.Fatal(err)
		}
		if n := e.Sync(t); n != 1 {
			t.Fatalf("the retry wrote %d times", n)
		}
		if is := e.Issue(t); is.StatusCategory != "done" {
			t.Fatal("the issue did not move once alice may transition it")
		}
		if st := e.State(t); st.LastError != "" || !st.LastErrorAt.IsZero() {
			t.Fatalf("the error stays: %q", st.LastError)
		}
	})
}

// Two people changing the same thing on both sides converge to the later
// change on both sides, and later runs write nothing: no ping-pong.
func TestConcurrentEditsConverge(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		e.Sync(t)
		c, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "Draft.", nil)
		if err != nil {
			t.Fatal(err)
		}
		e.Sync(t)
		maps, err := e.Store.ListSyncComments(ctx, e.Link.ID)
		if err != nil {
			t.Fatal(err)
		}
		var story string
		for _, m := range maps {
			if m.JiraCommentID == c.ID {
				story = m.AsanaStoryGID
			}
		}
		// bob's comment was mirrored as bob's story: bob may edit both.
		// Jira stamps an edit to the millisecond: each edit waits for the
		// next one, so "later" is never a tie.
		var last time.Time
		edit := func(side, text string) {
			t.Helper()
			for !time.Now().Truncate(time.Millisecond).After(last) {
				runtime.Gosched()
			}
			switch side {
			case "jira":
				if _, err := e.JiraAs(t, "bob").UpdateComment(ctx, "DEMO-1", c.ID, text); err != nil {
					t.Fatal(err)
				}
				last = time.Now()
			case "asana":
				if _, err := e.AsanaAs(t, "bob").UpdateStory(ctx, story, text, ""); err != nil {
					t.Fatal(err)
				}
				last = time.Now()
				e.RecordAsanaAt(t, syncengine.KindComment, story, "edit:"+text, last)
			}
		}
		for _, order := range [][2]string{{"jira", "asana"}, {"asana", "jira"}} {
			first, second := "first from "+order[0], "second from "+order[1]
			edit(order[0], first)
			edit(order[1], second)
			// Both sides ran ahead of the sync while the webhook was queued.
			e.Sync(t)
			jiraBody := ""
			for _, jc := range e.Issue(t).Comments {
				if jc.ID == c.ID {
					jiraBody = jc.Body
				}
			}
			if !strings.HasPrefix(jiraBody, second) || e.StoriesWith(second) != 1 || e.StoriesWith(first) != 0 {
				t.Fatalf("%v: Jira says %q, the task has %d stories saying %q; want the later edit on both", order, jiraBody, e.StoriesWith(second), second)
			}
			for range 3 {
				if n := e.Sync(t); n != 0 {
					t.Fatalf("%v: a run after converging wrote %d times", order, n)
				}
			}
		}

		// Completion: completed in Asana and moved to Done in Jira before a
		// run: they agree, nothing is written.
		if _, err := e.AsanaAs(t, "alice").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"completed": true}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindCompletion, "", "both-completed")
		if err := e.Jira.TransitionIssue("DEMO-1", "Done", "bob"); err != nil {
			t.Fatal(err)
		}
		if n := e.Sync(t); n != 0 {
			t.Fatalf("completion on both sides wrote %d times", n)
		}
		if _, _, moves := lastStatusChange(t, e); moves != 1 {
			t.Fatalf("the issue moved %d times, want once (by bob)", moves)
		}
		st := e.State(t)
		if st.AsanaCompleted == nil || !*st.AsanaCompleted || st.JiraDone == nil || !*st.JiraDone {
			t.Fatalf("agreed completion = %v / %v", st.AsanaCompleted, st.JiraDone)
		}
	})
}

// Settings: a connection that does not sync records nothing; comments or
// completion can be switched off on their own.
func TestSettingsSelectWhatSyncs(t *testing.T) {
	t.Parallel()
	e := synctest.New(t, synctest.Options{})
	ctx := t.Context()
	e.Sync(t)
	set, err := e.Engine.Settings(ctx, e.Seed.Workspace, e.Server.ID)
	if err != nil {
		t.Fatal(err)
	}
	set.Completion = false
	if err := e.Engine.PutSettings(ctx, set, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := e.Jira.TransitionIssue("DEMO-1", "Done", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "Only the comment.", nil); err != nil {
		t.Fatal(err)
	}
	e.Sync(t)
	if e.Asana.Task(e.Link.TaskGID).Completed || e.StoriesWith("Only the comment.") != 1 {
		t.Fatal("with completion off: want the comment mirrored and the task left open")
	}

	set.Enabled = false
	if err := e.Engine.PutSettings(ctx, set, "admin"); err != nil {
		t.Fatal(err)
	}
	before := len(e.Changes(t))
	if _, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "Sync is off.", nil); err != nil {
		t.Fatal(err)
	}
	if len(e.Changes(t)) != before {
		t.Fatal("a change was recorded for a connection that does not sync")
	}
	if n := e.Sync(t); n != 0 || e.StoriesWith("Sync is off.") != 0 {
		t.Fatal("a connection that does not sync wrote")
	}
	if err := e.Engine.PutSettings(ctx, store.SyncSettings{WorkspaceGID: "nope", JiraServerID: e.Server.ID}, "admin"); err == nil {
		t.Fatal("settings for a connection that does not exist were saved")
	}
}
