package syncengine_test

import (
	"fmt"
	"testing"

	"github.com/asanajira/asanajira/internal/effects"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/google/go-cmp/cmp"
)

// These tests are about comments that come into or leave the view every
// side shares after they were written: a Jira comment whose restriction is
// lifted or set, an Asana comment that gets its text later.

var (
	developers = fakejira.Visibility{Type: "role", Value: "Developers"}           // alice and bob are in it
	admins     = fakejira.Visibility{Type: "group", Value: "jira-administrators"} // alice, the owner, is not
	everyone   = fakejira.Visibility{}
)

// mapOf is the link's comment map entry of a Jira comment.
func mapOf(t *testing.T, e *synctest.Env, commentID string) store.SyncComment {
	t.Helper()
	maps, err := e.Store.ListSyncComments(t.Context(), e.Link.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range maps {
		if m.JiraCommentID == commentID {
			return m
		}
	}
	t.Fatalf("Jira comment %s is not mapped: %+v", commentID, maps)
	return store.SyncComment{}
}

// lastJiraComment is the id of the issue's newest comment.
func lastJiraComment(t *testing.T, e *synctest.Env) string {
	t.Helper()
	cs := e.Issue(t).Comments
	return cs[len(cs)-1].ID
}

// A Jira comment written restricted is mirrored, once, when its
// restriction is lifted: whether the link's owner could read it while
// restricted (a role they are in) or not (a group they are not in). Its
// story's echo writes nothing back.
func TestRestrictedCommentIsMirroredWhenLifted(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, author string
		vis          fakejira.Visibility
	}{
		{"visible to the owner", "bob", developers},
		{"hidden from the owner", "admin", admins},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db string) {
				e := synctest.New(t, synctest.Options{DB: db})
				e.Sync(t)
				const text = "Security review passed; safe to share."
				if err := e.Jira.AddRestrictedComment("DEMO-1", c.author, text, c.vis); err != nil {
					t.Fatal(err)
				}
				id := lastJiraComment(t, e)
				if n := e.Sync(t); n != 0 || e.StoriesWith(text) != 0 {
					t.Fatalf("the run wrote %d times, %d stories say it; want a restricted comment left alone", n, e.StoriesWith(text))
				}
				if err := e.Jira.EditComment("DEMO-1", id, c.author, text, everyone); err != nil {
					t.Fatal(err)
				}
				if n := e.Sync(t); n != 1 || e.StoriesWith(text) != 1 {
					t.Fatalf("the run after the restriction was lifted wrote %d times, %d stories say it; want one", n, e.StoriesWith(text))
				}
				story := e.Comments()[len(e.Comments())-1]
				e.RecordAsana(t, syncengine.KindComment, story.GID, "added:"+story.GID)
				jiraBefore := len(e.Issue(t).Comments)
				if n := e.Sync(t); n != 0 || len(e.Issue(t).Comments) != jiraBefore || e.StoriesWith(text) != 1 {
					t.Fatalf("the echo run wrote %d times (Jira comments %d → %d, %d stories); want nothing",
						n, jiraBefore, len(e.Issue(t).Comments), e.StoriesWith(text))
				}
				if got := outcomeOf(t, e, "added:"+story.GID); got != syncengine.OutcomeEcho {
					t.Errorf("the story's change is %q, want echo", got)
				}
			})
		})
	}
}

// A comment on the task written empty is mirrored, once, when it gets its
// text. (Jira refuses an empty comment, on creation and on edit.)
func TestEmptyStoryIsMirroredWhenWritten(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		e.Sync(t)
		ctx := t.Context()
		jiraBefore := len(e.Issue(t).Comments)
		s, err := e.AsanaAs(t, "bob").AddComment(ctx, e.Link.TaskGID, "  ", "")
		if err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindComment, s.GID, "added:"+s.GID)
		if n := e.Sync(t); n != 0 || len(e.Issue(t).Comments) != jiraBefore {
			t.Fatalf("the run wrote %d times; want an empty comment left alone", n)
		}
		const text = "Now it says something."
		if _, err := e.AsanaAs(t, "bob").UpdateStory(ctx, s.GID, text, ""); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindComment, s.GID, "changed:"+s.GID)
		if n := e.Sync(t); n != 1 {
			t.Fatalf("the run after the text was written wrote %d times, want 1", n)
		}
		if got := e.JiraCommentsWith(t, text); len(got) != 1 || got[0].Body != text || got[0].Author != "bob" {
			t.Fatalf("Jira comments saying it: %+v; want bob's one", got)
		}
		if n := e.Sync(t); n != 0 || len(e.JiraCommentsWith(t, text)) != 1 || e.StoriesWith(text) != 1 {
			t.Fatalf("the echo run wrote %d times; want nothing", n)
		}
	})
}

// A mirrored Jira comment that is restricted takes its story away (a
// restricted comment must not stay readable by everyone on the task), and
// comes back as a new story, once, each time its restriction is lifted;
// in between, its edits stay in Jira. The same holds when Jira's webhooks
// never arrive and only reconciliation tells of the changes.
func TestRestrictedMirrorIsWithdrawnAndComesBack(t *testing.T) {
	t.Parallel()
	for _, dropped := range []bool{false, true} {
		t.Run(fmt.Sprintf("webhooks dropped %v", dropped), func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db string) {
				e := synctest.New(t, synctest.Options{DB: db})
				ctx := t.Context()
				e.Sync(t)
				sync := func() int {
					t.Helper()
					if dropped {
						if _, err := e.Engine.ReconcileJira(ctx); err != nil {
							t.Fatal(err)
						}
					}
					return e.Sync(t)
				}
				sync() // the first reconciliation sets its cursor
				if dropped {
					if err := e.Jira.SetFaults(fakejira.Faults{DropWebhooks: true}); err != nil {
						t.Fatal(err)
					}
				}
				c, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "The fix is in build 412.", nil)
				if err != nil {
					t.Fatal(err)
				}
				if n := sync(); n != 1 || e.StoriesWith("build 412") != 1 {
					t.Fatalf("the first run wrote %d times, want the story", n)
				}
				first := mapOf(t, e, c.ID).AsanaStoryGID

				steps := []struct {
					name      string
					by, body  string
					vis       fakejira.Visibility
					wantStory string // "" for none
				}{
					{"restricted to a role the owner is in", "bob", "The fix is in build 412.", developers, ""},
					{"edited while restricted", "bob", "The fix is in build 412 (CVE-2026-1234).", developers, ""},
					{"lifted", "bob", "The fix is in build 412 (CVE-2026-1234).", everyone, "The fix is in build 412 (CVE-2026-1234)."},
					{"edited while public", "bob", "The fix shipped in build 413.", everyone, "The fix shipped in build 413."},
					{"restricted to a group the owner is not in", "admin", "The fix shipped in build 413.", admins, ""},
					{"lifted again", "admin", "The fix shipped in build 413.", everyone, "The fix shipped in build 413."},
				}
				stories := map[string]bool{first: true} // every story the comment had
				public := true
				for _, s := range steps {
					if err := e.Jira.EditComment("DEMO-1", c.ID, s.by, s.body, s.vis); err != nil {
						t.Fatalf("%s: %v", s.name, err)
					}
					sync()
					if n := sync(); n != 0 {
						t.Errorf("%s: a second run wrote %d times", s.name, n)
					}
					m := mapOf(t, e, c.ID)
					var got []string
					for _, st := range e.Comments() {
						if stories[st.GID] || st.GID == m.AsanaStoryGID {
							got = append(got, st.Text)
						}
					}
					var want []string
					if s.wantStory != "" {
						want = []string{s.wantStory}
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Fatalf("%s: the comment's stories (-want +got):\n%s", s.name, diff)
					}
					if s.wantStory == "" && e.StoriesWith("build 41") != 0 {
						t.Fatalf("%s: the restricted comment is on the task", s.name)
					}
					switch {
					case s.wantStory == "" && m.State != store.SyncCommentWithdrawn:
						t.Fatalf("%s: the map's state = %q, want %q", s.name, m.State, store.SyncCommentWithdrawn)
					case s.wantStory != "" && (m.State != store.SyncCommentSynced || !public && stories[m.AsanaStoryGID]):
						hist, _ := e.Engine.History(ctx, e.Link.ID, 50)
						for _, h := range hist {
							t.Logf("history: %s %s %s", h.Direction, h.What, h.Detail)
						}
						t.Logf("stories: %+v", e.Comments())
						t.Fatalf("%s: the map = %+v, want a new story, synced", s.name, m)
					}
					stories[m.AsanaStoryGID] = true
					public = s.wantStory != ""
				}
				if len(stories) != 3 {
					t.Errorf("the comment had stories %v, want three (one per time it was public)", stories)
				}
				if got := len(e.JiraCommentsWith(t, "build 41")); got != 1 {
					t.Errorf("%d Jira comments say it, want the one: nothing was mirrored back", got)
				}
			})
		})
	}
}

// A re-mirror is written once across retries: an attempt whose answer was
// lost (the story made, not recorded) is found by the next run, not made
// again, and not taken for a person's comment.
func TestRemirrorIsWrittenOnceAcrossRetries(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		e.Sync(t)
		const text = "Rollback planned for Friday."
		c, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", text, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.Sync(t)
		if err := e.Jira.EditComment("DEMO-1", c.ID, "bob", text, developers); err != nil {
			t.Fatal(err)
		}
		e.Sync(t)
		withdrawn := mapOf(t, e, c.ID)
		if err := e.Jira.EditComment("DEMO-1", c.ID, "bob", text, everyone); err != nil {
			t.Fatal(err)
		}
		// The engine's attempt: the story is posted as bob, and the answer
		// is lost before the ledger records it.
		again := effects.Effect{Scope: "sync-story", Key: fmt.Sprintf("%d:jira-comment:%s:after:%s", e.Link.ID, c.ID, withdrawn.AsanaStoryGID),
			Target: "asana:task:" + e.Link.TaskGID, Author: e.Users["bob"]}
		story := loseAnswer(t, e, again, effects.AsanaStory{Client: e.AsanaAs(t, "bob"), Task: e.Link.TaskGID, Text: text})
		e.RecordAsana(t, syncengine.KindComment, story, "added:"+story)
		e.Sync(t)
		if n := e.StoriesWith(text); n != 1 {
			t.Fatalf("%d stories say it, want 1", n)
		}
		if m := mapOf(t, e, c.ID); m.AsanaStoryGID != story || m.State != store.SyncCommentSynced {
			t.Fatalf("the map = %+v, want story %s synced", m, story)
		}
		if got := len(e.JiraCommentsWith(t, text)); got != 1 {
			t.Errorf("%d Jira comments say it, want 1", got)
		}
		if got := outcomeOf(t, e, "added:"+story); got != syncengine.OutcomeEcho {
			t.Errorf("the story's change is %q, want echo", got)
		}
	})
}
