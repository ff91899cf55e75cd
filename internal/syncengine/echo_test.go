package syncengine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
)

// These tests are about how the engine knows asanajira's own stories and
// comments, which carry nothing people see: the effects ledger, the Jira
// property, and the guard for writes not recorded yet.

// note posts a story on the task as alice (the link's owner) through the
// effects ledger, as the bridge posts a status note.
func note(t *testing.T, e *synctest.Env, key, text string) effects.Outcome {
	t.Helper()
	out, err := effects.NewLedger(e.Store, effects.Options{}).Apply(t.Context(), noteEffect(e, key), noteWrite(t, e, text))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func noteEffect(e *synctest.Env, key string) effects.Effect {
	return effects.Effect{Scope: "jira-event-story", Key: key, Target: "asana:task:" + e.Link.TaskGID, Author: e.Users["alice"]}
}

func noteWrite(t *testing.T, e *synctest.Env, text string) effects.AsanaStory {
	return effects.AsanaStory{Client: e.AsanaAs(t, "alice"), Task: e.Link.TaskGID, Text: text}
}

// answerLost is a write that reaches the other side but whose answer is
// lost (a timeout): the ledger leaves it pending, and the next attempt
// looks for it.
type answerLost struct{ effects.Write }

var errAnswerLost = errors.New("the answer was lost")

func (w answerLost) Make(ctx context.Context, fp string) (string, error) {
	if _, err := w.Write.Make(ctx, fp); err != nil {
		return "", err
	}
	return "", errAnswerLost
}

// loseAnswer makes the story write w of effect eff with its answer lost,
// leaving it pending, and returns the story's gid.
func loseAnswer(t *testing.T, e *synctest.Env, eff effects.Effect, w effects.AsanaStory) string {
	t.Helper()
	if _, err := effects.NewLedger(e.Store, effects.Options{}).Apply(t.Context(), eff, answerLost{w}); !errors.Is(err, errAnswerLost) {
		t.Fatalf("Apply = %v, want the lost answer", err)
	}
	cs := e.Comments()
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Text == w.Text {
			return cs[i].GID
		}
	}
	t.Fatalf("no story says %q", w.Text)
	return ""
}

// outcomeOf is the outcome of the change recorded with key.
func outcomeOf(t *testing.T, e *synctest.Env, key string) string {
	t.Helper()
	for _, c := range e.Changes(t) {
		if c.DedupKey == key {
			return c.Outcome
		}
	}
	t.Fatalf("no change %s", key)
	return ""
}

// A note asanajira posted (recorded in the ledger) is never mirrored, and
// stays known once the ledger forgets it; a person writing exactly the same
// words afterwards has written a comment, which is mirrored.
func TestOwnNoteStaysButTheSameWordsByAPersonAreMirrored(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		e.Sync(t)
		const text = "Jira issue DEMO-1 moved to Done by Bob Brown."
		out := note(t, e, "done", text)
		e.RecordAsana(t, syncengine.KindComment, out.Result, "added:note")
		if n := e.Sync(t); n != 0 || len(e.JiraCommentsWith(t, "moved to Done")) != 0 {
			t.Fatalf("the run wrote %d times and Jira has %d comments saying it; want the note left alone", n, len(e.JiraCommentsWith(t, "moved to Done")))
		}
		if got := outcomeOf(t, e, "added:note"); got != syncengine.OutcomeEcho {
			t.Errorf("the note's change is %q, want echo", got)
		}
		maps, err := e.Store.ListSyncComments(t.Context(), e.Link.ID)
		if err != nil {
			t.Fatal(err)
		}
		remembered := false
		for _, m := range maps {
			remembered = remembered || (m.AsanaStoryGID == out.Result && m.Origin == store.OriginOwn && m.State == store.SyncCommentIgnored)
		}
		if !remembered {
			t.Errorf("the note is not mapped as asanajira's own: %+v", maps)
		}

		// Alice writes the same words herself, after the note was recorded.
		mine, err := e.AsanaAs(t, "alice").AddComment(t.Context(), e.Link.TaskGID, text, "")
		if err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindComment, mine.GID, "added:mine")
		if n := e.Sync(t); n != 1 {
			t.Fatalf("the run wrote %d times, want alice's comment mirrored", n)
		}
		got := e.JiraCommentsWith(t, "moved to Done")
		if len(got) != 1 || got[0].Body != text || got[0].Author != "alice" {
			t.Fatalf("Jira comments saying it: %+v; want alice's one comment", got)
		}
		if outcomeOf(t, e, "added:mine") != syncengine.OutcomeApplied {
			t.Errorf("alice's comment's change is %q, want applied", outcomeOf(t, e, "added:mine"))
		}
		if n := e.Sync(t); n != 0 {
			t.Fatalf("a run after wrote %d times", n)
		}
	})
}

// While a note is pending (made, not recorded: its answer was lost), the
// story that may be it is not taken for a person's comment: the run leaves
// it, and asks to run again later, until the note's retry records it. A
// person's other comment in the same run is mirrored at once.
func TestPendingNoteWaits(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		e.Sync(t)
		ctx := t.Context()
		const text = "Jira issue DEMO-1 moved to In Progress by Bob Brown."
		pending := loseAnswer(t, e, noteEffect(e, "wip"), noteWrite(t, e, text))
		e.RecordAsana(t, syncengine.KindComment, pending, "added:pending")
		other, err := e.AsanaAs(t, "bob").AddComment(ctx, e.Link.TaskGID, "Bob's own comment meanwhile.", "")
		if err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindComment, other.GID, "added:other")

		res, err := e.Engine.SyncLink(ctx, e.Link.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Again || res.After <= 0 {
			t.Errorf("the run = %+v; want it to ask to run again later", res)
		}
		if len(e.JiraCommentsWith(t, "In Progress")) != 0 || len(e.JiraCommentsWith(t, "Bob's own comment")) != 1 {
			t.Fatalf("Jira has %d comments saying the note and %d saying bob's; want 0 and 1",
				len(e.JiraCommentsWith(t, "In Progress")), len(e.JiraCommentsWith(t, "Bob's own comment")))
		}
		if got := outcomeOf(t, e, "added:pending"); got != "" {
			t.Errorf("the pending note's change is %q; want it left for a later run", got)
		}

		// The note's retry finds it and records it; the next run knows it.
		out, err := effects.NewLedger(e.Store, effects.Options{}).Apply(ctx, noteEffect(e, "wip"), noteWrite(t, e, text))
		if err != nil || out.How != effects.Found || out.Result != pending {
			t.Fatalf("the note's retry = %+v, %v; want story %s found", out, err, pending)
		}
		if n := e.Sync(t); n != 0 || len(e.JiraCommentsWith(t, "In Progress")) != 0 {
			t.Fatalf("the run after the retry wrote %d times; want nothing", n)
		}
		if got := outcomeOf(t, e, "added:pending"); got != syncengine.OutcomeEcho {
			t.Errorf("the note's change is %q, want echo", got)
		}
	})
}

// A mirror an attempt made before dying, whose original was deleted before
// any retry, is settled by the next run (found and recorded), not mirrored
// back as a person's comment, and holds nothing up.
func TestMirrorOfADeletedOriginalIsSettled(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		e.Sync(t)
		ctx := t.Context()
		const text = "A comment deleted while its mirror was being written."
		c, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", text, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The engine's attempt: the story is posted as bob (connected on
		// both sides), and the process dies before recording it.
		mirror := effects.Effect{Scope: "sync-story", Key: fmt.Sprintf("%d:jira-comment:%s", e.Link.ID, c.ID),
			Target: "asana:task:" + e.Link.TaskGID, Author: e.Users["bob"]}
		story := loseAnswer(t, e, mirror, effects.AsanaStory{Client: e.AsanaAs(t, "bob"), Task: e.Link.TaskGID, Text: text})
		if err := e.JiraAs(t, "bob").DeleteComment(ctx, "DEMO-1", c.ID); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindComment, story, "added:mirror")

		res, err := e.Engine.SyncLink(ctx, e.Link.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res.After != 0 || len(e.JiraCommentsWith(t, "deleted while its mirror")) != 0 {
			t.Fatalf("the run = %+v with %d Jira comments saying it; want the mirror settled, not mirrored back",
				res, len(e.JiraCommentsWith(t, "deleted while its mirror")))
		}
		rec, err := e.Store.GetSideEffect(ctx, mirror.Scope, mirror.Key)
		if err != nil || rec.State != store.SideEffectDone || rec.Result != story {
			t.Fatalf("the mirror's write = %+v, %v; want it done with story %s", rec, err, story)
		}
		if got := outcomeOf(t, e, "added:mirror"); got != syncengine.OutcomeEcho {
			t.Errorf("the mirror's change is %q, want echo", got)
		}
	})
}

// diesBeforeWriting is an attempt that records its intent and fails before
// writing; the ledger leaves the write pending, with no lease.
type diesBeforeWriting struct{ effects.Write }

var errDied = errors.New("the attempt died before writing")

func (diesBeforeWriting) Make(context.Context, string) (string, error) { return "", errDied }

// A run reads Jira's comments before the ledger. A comment made between the
// two, whose mirror another run began meanwhile (one that took the link over
// after this run's lease lapsed) and could not finish, is not an orphan of
// this run's: settling it as one (its original unseen, so gone) would drop
// the write, and the comment would never reach the task. The next run writes
// it, once.
func TestMirrorOfACommentNewerThanTheRunIsNotDropped(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		e.Sync(t)
		ctx := t.Context()
		const text = "A comment made while a run was reading the task."
		var (
			once   sync.Once
			mirror effects.Effect
		)
		e.OnAsanaRequest(func(r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/tasks/"+e.Link.TaskGID+"/stories") {
				return
			}
			// The run has read Jira's comments and reads the task's stories.
			once.Do(func() {
				c, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", text, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mirror = effects.Effect{Scope: "sync-story", Key: fmt.Sprintf("%d:jira-comment:%s", e.Link.ID, c.ID),
					Target: "asana:task:" + e.Link.TaskGID, Author: e.Users["bob"]}
				w := diesBeforeWriting{effects.AsanaStory{Client: e.AsanaAs(t, "bob"), Task: e.Link.TaskGID, Text: text}}
				if _, err := effects.NewLedger(e.Store, effects.Options{}).Apply(ctx, mirror, w); !errors.Is(err, errDied) {
					t.Errorf("the other run's attempt = %v, want it dead before writing", err)
				}
			})
		})
		if _, err := e.Engine.SyncLink(ctx, e.Link.ID); err != nil {
			t.Fatal(err)
		}
		e.OnAsanaRequest(nil)
		if mirror.Key == "" {
			t.Fatal("the run never read the task's stories")
		}
		rec, err := e.Store.GetSideEffect(ctx, mirror.Scope, mirror.Key)
		if err != nil || rec.State != store.SideEffectPending {
			t.Errorf("the comment's mirror after the run that never saw the comment = %+v, %v; want it still pending", rec, err)
		}
		e.Sync(t)
		if n := e.StoriesWith(text); n != 1 {
			t.Errorf("%d stories say the comment, want 1", n)
		}
	})
}

// Stories asanajira wrote before fingerprints became invisible end with the
// line "asanajira ref <fingerprint>" and are in no ledger an upgraded
// installation still keeps: they stay asanajira's own, never mirrored.
func TestFormerMarkerStoriesStayOwn(t *testing.T) {
	t.Parallel()
	e := synctest.New(t, synctest.Options{})
	e.Sync(t)
	old, err := e.AsanaAs(t, "alice").AddComment(t.Context(), e.Link.TaskGID, "Jira issue DEMO-1 moved to Done.\n\nasanajira ref 3fa9c2d1e0b7a6c5", "")
	if err != nil {
		t.Fatal(err)
	}
	e.RecordAsana(t, syncengine.KindComment, old.GID, "added:old")
	if n := e.Sync(t); n != 0 || len(e.JiraCommentsWith(t, "moved to Done")) != 0 {
		t.Fatalf("the run wrote %d times; want the old note left alone", n)
	}
}
