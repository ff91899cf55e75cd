package syncengine_test

import (
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/effects"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/google/go-cmp/cmp"
)

// forEachDB runs a test on SQLite and PostgreSQL.
func forEachDB(t *testing.T, fn func(t *testing.T, db string)) {
	t.Helper()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			fn(t, db)
		})
	}
}

// outcomes maps each recorded change (side/kind/object) to its outcome.
func outcomes(t *testing.T, e *synctest.Env) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range e.Changes(t) {
		key := c.Side + "/" + c.Kind
		if c.Object != "" {
			key += "/" + c.Object
		}
		if prev, ok := out[key]; ok && prev != c.Outcome {
			key += "/" + c.Source
		}
		out[key] = c.Outcome
	}
	return out
}

// A Jira comment becomes a story on the task: written as the Asana user
// connected as its Jira author, else as the link's owner with "<Name> in
// Jira:". The mirrors' own webhook echoes change nothing, and nothing is
// mirrored back.
func TestJiraCommentsBecomeStories(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		e.Sync(t) // the baseline: the seeded comments stay where they are
		before := len(e.Comments())

		cases := []struct {
			login, body string
			wantAuthor  string
			wantText    string
		}{
			{"bob", "Reproduced on Safari 17.", e.Users["bob"], "Reproduced on Safari 17."},
			{"admin", "Closing the duplicate.", e.Users["alice"], "Administrator in Jira:\n\nClosing the duplicate."},
			{"alice", "Fix deployed.", e.Users["alice"], "Fix deployed."},
		}
		for _, c := range cases {
			if _, err := e.JiraAs(t, c.login).AddComment(t.Context(), "DEMO-1", c.body, nil); err != nil {
				t.Fatal(err)
			}
		}
		if e.Delivered.Load() == 0 {
			t.Fatal("no Jira webhook delivery was recorded")
		}
		if n := e.Sync(t); n != len(cases) {
			t.Fatalf("the run made %d writes, want %d", n, len(cases))
		}
		got := e.Comments()[before:]
		if len(got) != len(cases) {
			t.Fatalf("%d new stories, want %d: %+v", len(got), len(cases), got)
		}
		for i, c := range cases {
			if got[i].Author != c.wantAuthor || got[i].Text != c.wantText {
				t.Errorf("story %d = author %s, text %q; want author %s, text %q (nothing more)", i, got[i].Author, got[i].Text, c.wantAuthor, c.wantText)
			}
		}

		// The stories' own events come back as Asana changes: echoes, and
		// nothing goes back to Jira.
		for _, s := range got {
			e.RecordAsana(t, syncengine.KindComment, s.GID, "story-added:"+s.GID)
		}
		if n := e.Sync(t); n != 0 {
			t.Fatalf("the echo run wrote %d times, want nothing", n)
		}
		if n := len(e.Issue(t).Comments); n != len(cases)+seededComments(t, e) {
			t.Fatalf("DEMO-1 has %d comments, want the %d written in Jira only", n, len(cases))
		}
		for key, outcome := range outcomes(t, e) {
			want := syncengine.OutcomeApplied
			if strings.HasPrefix(key, "asana/") {
				want = syncengine.OutcomeEcho
			}
			if outcome != want {
				t.Errorf("change %s: outcome %q, want %q", key, outcome, want)
			}
		}
		if st := e.State(t); st.LastError != "" || st.LastSyncedAt.IsZero() {
			t.Errorf("state after syncing = error %q, synced at %v", st.LastError, st.LastSyncedAt)
		}
	})
}

// seededComments is how many comments DEMO-1 had before the test wrote any
// (those are the baseline's, never mirrored).
func seededComments(t *testing.T, e *synctest.Env) int {
	t.Helper()
	maps, err := e.Store.ListSyncComments(t.Context(), e.Link.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range maps {
		if m.Origin == store.OriginBaseline && m.JiraCommentID != "" {
			n++
		}
	}
	return n
}

// A comment on the task becomes a Jira comment: written as its author when
// connected to Jira, else as the owner with "<Name> in Asana:". System
// stories never become comments; the Jira comments' webhook echoes change
// nothing.
func TestStoriesBecomeJiraComments(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		e.Sync(t)
		jiraBefore := len(e.Issue(t).Comments)

		cases := []struct {
			login, text string
			wantAuthor  string
			wantBody    string
		}{
			{"bob", "Design review is on Thursday.", "bob", "Design review is on Thursday."},
			{"admin", "Legal approved the copy.", "alice", "Ada Admin in Asana:\n\nLegal approved the copy."},
		}
		for _, c := range cases {
			s, err := e.AsanaAs(t, c.login).AddComment(t.Context(), e.Link.TaskGID, c.text, "")
			if err != nil {
				t.Fatal(err)
			}
			e.RecordAsana(t, syncengine.KindComment, s.GID, "story-added:"+s.GID)
		}
		// A system story (a due date change) is no comment.
		if _, err := e.AsanaAs(t, "alice").UpdateTask(t.Context(), e.Link.TaskGID, map[string]any{"due_on": "2027-01-15"}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindTask, "", "due-on")

		if n := e.Sync(t); n != len(cases) {
			t.Fatalf("the run made %d writes, want %d", n, len(cases))
		}
		got := e.Issue(t).Comments[jiraBefore:]
		if len(got) != len(cases) {
			t.Fatalf("%d new Jira comments, want %d", len(got), len(cases))
		}
		for i, c := range cases {
			if got[i].Author != c.wantAuthor || got[i].Body != c.wantBody || got[i].Properties[effects.PropertyKey] == nil {
				t.Errorf("comment %d = author %s, body %q, properties %s; want author %s, body %q (nothing more) and the fingerprint property",
					i, got[i].Author, got[i].Body, got[i].Properties, c.wantAuthor, c.wantBody)
			}
		}
		// Jira's webhooks of those comments are echoes.
		if n := e.Sync(t); n != 0 {
			t.Fatalf("the echo run wrote %d times", n)
		}
		for key, outcome := range outcomes(t, e) {
			want := map[string]string{"asana/comment": syncengine.OutcomeApplied, "asana/task": syncengine.OutcomeNoop,
				"jira/comment": syncengine.OutcomeEcho}[strings.Join(strings.SplitN(key, "/", 3)[:2], "/")]
			if outcome != want {
				t.Errorf("change %s: outcome %q, want %q", key, outcome, want)
			}
		}
		if n := e.StoriesWith("Design review"); n != 1 {
			t.Errorf("the story was mirrored back: %d stories say it", n)
		}
	})
}

// Comments written before sync began are never mirrored, and a comment
// restricted to a group or role never is.
func TestBaselineAndRestrictedComments(t *testing.T) {
	t.Parallel()
	e := synctest.New(t, synctest.Options{})
	jiraBefore, asanaBefore := len(e.Issue(t).Comments), len(e.Comments())
	if err := e.Jira.AddRestrictedComment("DEMO-1", "alice", "Internal: the fix needs a security review.", fakejira.Visibility{Type: "role", Value: "Developers"}); err != nil {
		t.Fatal(err)
	}
	if n := e.Sync(t); n != 0 {
		t.Fatalf("the first run wrote %d times; want nothing (pre-existing comments, a restricted one)", n)
	}
	if len(e.Issue(t).Comments) != jiraBefore+1 || len(e.Comments()) != asanaBefore {
		t.Fatalf("comments changed: Jira %d → %d, Asana %d → %d", jiraBefore, len(e.Issue(t).Comments), asanaBefore, len(e.Comments()))
	}
	if e.StoriesWith("security review") != 0 {
		t.Fatal("a restricted Jira comment reached the task")
	}
}

// An edit follows to the mirror; a deleted original takes its mirror with
// it; a deleted mirror leaves its original.
func TestEditsAndDeletionsFollow(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		e.Sync(t)
		ctx := t.Context()
		bob := e.JiraAs(t, "bob")
		c1, err := bob.AddComment(ctx, "DEMO-1", "Version one.", nil)
		if err != nil {
			t.Fatal(err)
		}
		s1, err := e.AsanaAs(t, "bob").AddComment(ctx, e.Link.TaskGID, "Asana original.", "")
		if err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindComment, s1.GID, "added:"+s1.GID)
		e.Sync(t)

		// Edit both originals.
		if _, err := bob.UpdateComment(ctx, "DEMO-1", c1.ID, "Version two."); err != nil {
			t.Fatal(err)
		}
		if _, err := e.AsanaAs(t, "bob").UpdateStory(ctx, s1.GID, "Asana original, edited.", ""); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindComment, s1.GID, "changed:"+s1.GID)
		if n := e.Sync(t); n != 2 {
			t.Fatalf("the edit run wrote %d times, want 2", n)
		}
		if e.StoriesWith("Version two.") != 1 || e.StoriesWith("Version one.") != 0 {
			t.Errorf("the story did not follow the Jira edit: %+v", e.Comments())
		}
		if got := e.JiraCommentsWith(t, "Asana original"); len(got) != 1 || !strings.HasPrefix(got[0].Body, "Asana original, edited.") {
			t.Errorf("the Jira comment did not follow the story's edit: %+v", got)
		}
		if n := e.Sync(t); n != 0 {
			t.Fatalf("the edits' echoes wrote %d times", n)
		}

		// Delete the Jira original: its story goes. Delete the Jira mirror
		// of the story: the story stays.
		if err := bob.DeleteComment(ctx, "DEMO-1", c1.ID); err != nil {
			t.Fatal(err)
		}
		mirror := e.JiraCommentsWith(t, "Asana original")[0]
		if err := bob.DeleteComment(ctx, "DEMO-1", mirror.ID); err != nil {
			t.Fatal(err)
		}
		e.Sync(t)
		if e.StoriesWith("Version two.") != 0 {
			t.Error("the story of a deleted Jira comment stays")
		}
		if e.StoriesWith("Asana original, edited.") != 1 {
			t.Error("deleting a mirror deleted its original")
		}
		if n := e.Sync(t); n != 0 {
			t.Fatalf("a run after the deletions wrote %d times", n)
		}
		hist, err := e.Engine.History(ctx, e.Link.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		var whats []string
		for i := len(hist) - 1; i >= 0; i-- {
			whats = append(whats, hist[i].Direction+" "+hist[i].What)
		}
		want := []string{"jira_to_asana comment.created", "asana_to_jira comment.created", "jira_to_asana comment.updated",
			"asana_to_jira comment.updated", "jira_to_asana comment.deleted", "asana_to_jira comment.deleted"}
		if diff := cmp.Diff(want, whats); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
	})
}

// The engine counts every change it handles by direction, kind and outcome
// and measures how long an applied change took to reach the other side.
func TestMetricsCountOutcomes(t *testing.T) {
	t.Parallel()
	e := synctest.New(t, synctest.Options{})
	e.Sync(t)
	if _, err := e.JiraAs(t, "bob").AddComment(t.Context(), "DEMO-1", "Counted.", nil); err != nil {
		t.Fatal(err)
	}
	e.Sync(t)
	story := e.Comments()[len(e.Comments())-1]
	e.RecordAsana(t, syncengine.KindComment, story.GID, "echo:"+story.GID)
	e.Sync(t)
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"direction": "jira_to_asana", "kind": "comment", "outcome": "applied"}, 1},
		{map[string]string{"direction": "asana_to_jira", "kind": "comment", "outcome": "echo"}, 1},
	} {
		if got := metric(t, e, "asanajira_sync_events_total", c.labels); got != c.want {
			t.Errorf("asanajira_sync_events_total%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if n := metric(t, e, "asanajira_sync_propagation_seconds", map[string]string{"direction": "jira_to_asana"}); n != 1 {
		t.Errorf("%v propagation samples from Jira to Asana, want 1", n)
	}
	if n := metric(t, e, "asanajira_sync_propagation_seconds", map[string]string{"direction": "asana_to_jira"}); n != 0 {
		t.Errorf("%v propagation samples from Asana to Jira, want none (an echo is no propagation)", n)
	}
}
