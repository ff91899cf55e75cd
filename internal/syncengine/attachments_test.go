package syncengine_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/google/go-cmp/cmp"
)

// attachInJira attaches a file to DEMO-1 as login and returns its id.
func attachInJira(t *testing.T, e *synctest.Env, login, name string, content []byte) string {
	t.Helper()
	up, err := e.JiraAs(t, login).UploadAttachment(t.Context(), e.Link.IssueKey, name, int64(len(content)), bytes.NewReader(content), nil)
	if err != nil {
		t.Fatal(err)
	}
	return up[0].ID
}

// taskFiles lists the task's attachments as "host name size" (links with
// their URL's last element instead of a size).
func taskFiles(e *synctest.Env) []string {
	var out []string
	for _, a := range e.Asana.Attachments(e.Link.TaskGID) {
		out = append(out, describeFile(a))
	}
	return out
}

func describeFile(a fakeasana.TaskAttachment) string {
	if a.Host == "asana" {
		return a.Host + " " + a.Name + " " + string(a.Content)
	}
	if i := strings.LastIndex(a.URL, "/secure/"); i >= 0 {
		return a.Host + " " + a.Name + " " + a.URL[i:]
	}
	return a.Host + " " + a.Name + " " + a.URL
}

// copyFiles runs the copy a sync run asks for, and fails on an error.
func copyFiles(t *testing.T, e *synctest.Env) syncengine.AttachmentResult {
	t.Helper()
	res, err := e.Engine.CopyJiraAttachments(t.Context(), e.Link.ID)
	if err != nil {
		t.Fatalf("CopyJiraAttachments: %v", err)
	}
	return res
}

// attachmentsBench is the bench with the connection's fields mapped (the
// attachments Jira → Asana by default) and the task's seeded files noted.
func attachmentsBench(t *testing.T, o synctest.Options) (*synctest.Env, int) {
	t.Helper()
	e := synctest.New(t, o)
	mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
	e.Sync(t)
	return e, len(e.Asana.Attachments(e.Link.TaskGID))
}

// TestJiraAttachmentsReachTheTask: a file attached in Jira is streamed to
// the task as its author (bob, connected on both sides), once; one over the
// engine's upload limit, or refused by Asana for its size, becomes a link
// to the file in Jira; files attached before the link stay where they are;
// a mapping with the direction off copies nothing.
func TestJiraAttachmentsReachTheTask(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e, seeded := attachmentsBench(t, synctest.Options{DB: db, AsanaUploadLimit: 1000})
		small := attachInJira(t, e, "bob", "notes.txt", []byte("meeting notes"))
		big := attachInJira(t, e, "bob", "dump.bin", bytes.Repeat([]byte("x"), 1001))
		e.Sync(t)
		if e.CopiesAsked.Load() == 0 {
			t.Fatal("the sync run asked for no copy")
		}
		cs, err := e.Engine.Preview(t.Context(), e.Link.ID, syncengine.Mapping{}, false)
		if err != nil {
			t.Fatal(err)
		}
		if c := cs[len(cs)-1]; c.Field != syncengine.FieldAttachments || c.To != store.SideAsana || c.Value != "notes.txt, dump.bin" {
			t.Errorf("preview: %+v", c)
		}
		if res := copyFiles(t, e); res != (syncengine.AttachmentResult{Copied: 1, Linked: 1}) {
			t.Errorf("first copy: %+v", res)
		}
		e.Asana.SetAttachmentLimit(4) // Asana's own limit, lower than the engine's
		refused := attachInJira(t, e, "bob", "plan.txt", []byte("12345"))
		e.Sync(t)
		if res := copyFiles(t, e); res != (syncengine.AttachmentResult{Linked: 1}) {
			t.Errorf("copy of a file Asana refuses for its size: %+v", res)
		}
		want := []string{"asana notes.txt meeting notes", "external dump.bin /secure/attachment/" + big + "/dump.bin",
			"external plan.txt /secure/attachment/" + refused + "/plan.txt"}
		if diff := cmp.Diff(want, taskFiles(e)[seeded:]); diff != "" {
			t.Errorf("the task's new files (-want +got):\n%s", diff)
		}
		var by string
		for _, a := range e.Asana.Stories(e.Link.TaskGID) {
			if a.Type == "system" && strings.Contains(a.Text, "notes.txt") {
				by = a.Author
			}
		}
		if by != e.Users["bob"] {
			t.Errorf("notes.txt was attached by %q, want bob (%s), its author in Jira", by, e.Users["bob"])
		}
		// Nothing more to copy, and nothing to ask for.
		asked := e.CopiesAsked.Load()
		e.Sync(t)
		if res := copyFiles(t, e); res != (syncengine.AttachmentResult{}) || e.CopiesAsked.Load() != asked || len(taskFiles(e)) != seeded+3 {
			t.Errorf("again: %+v, asked %d times more, files %v", res, e.CopiesAsked.Load()-asked, taskFiles(e)[seeded:])
		}
		maps, err := e.Store.ListSyncAttachments(t.Context(), e.Link.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range maps {
			got = append(got, m.JiraAttachmentID+" "+m.Origin)
		}
		if diff := cmp.Diff([]string{small + " jira", big + " jira", refused + " jira"}, got); diff != "" {
			t.Errorf("attachment map (-want +got):\n%s", diff)
		}
		// Off: a new file stays in Jira.
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases, Fields: map[string]syncengine.Direction{syncengine.FieldAttachments: syncengine.Off}})
		attachInJira(t, e, "bob", "later.txt", []byte("later"))
		e.Sync(t)
		if res := copyFiles(t, e); res != (syncengine.AttachmentResult{}) || e.CopiesAsked.Load() != asked {
			t.Errorf("direction off: %+v, asked %d more", res, e.CopiesAsked.Load()-asked)
		}
	})
}

// TestJiraAttachmentDownloadFailures: Jira unavailable, rate limiting or
// answering with an SSO login page during the download fails the copy (the
// job retries it) without a partial or wrong file on the task; the retry
// copies the file once.
func TestJiraAttachmentDownloadFailures(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]fakejira.Faults{
		"jira down":    {ErrorRate: 1, ErrorStatus: 503},
		"rate limited": {Throttle: true, RetryAfterSeconds: 1},
		"sso page":     {SSOHTML: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, seeded := attachmentsBench(t, synctest.Options{})
			attachInJira(t, e, "bob", "spec.txt", []byte("the spec"))
			e.Sync(t)
			f.PathPrefix = "/jira/secure/attachment/"
			if err := e.Jira.SetFaults(f); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Engine.CopyJiraAttachments(t.Context(), e.Link.ID); err == nil {
				t.Error("the copy succeeded during the fault")
			}
			if got := taskFiles(e)[seeded:]; len(got) != 0 {
				t.Errorf("the task got %v during the fault", got)
			}
			if err := e.Jira.SetFaults(fakejira.Faults{}); err != nil {
				t.Fatal(err)
			}
			if res := copyFiles(t, e); res.Copied != 1 {
				t.Errorf("retry: %+v", res)
			}
			copyFiles(t, e)
			if diff := cmp.Diff([]string{"asana spec.txt the spec"}, taskFiles(e)[seeded:]); diff != "" {
				t.Errorf("the task's new files (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJiraAttachmentFoundAfterADeadAttempt: an attempt that uploaded the
// file and died before recording it leaves its intent pending; the next
// finds the upload on the task (name, size, made after the intent) and
// records it instead of uploading again.
func TestJiraAttachmentFoundAfterADeadAttempt(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e, seeded := attachmentsBench(t, synctest.Options{DB: db})
		id := attachInJira(t, e, "bob", "spec.txt", []byte("the spec"))
		// The dead attempt: its intent, with a lease already over, and its
		// upload.
		_, err := e.Store.ClaimSideEffect(t.Context(), store.SideEffectClaim{Scope: "sync-attachment", Key: keyOf(e, id),
			Target: "asana:task:" + e.Link.TaskGID, Author: e.Users["bob"], Holder: "dead", Lease: time.Millisecond, Keep: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.AsanaAs(t, "bob").UploadAttachment(t.Context(), asanaFile(e, "spec.txt", "the spec")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // the dead attempt's lease lapses
		if res := copyFiles(t, e); res.Copied != 1 {
			t.Errorf("copy: %+v", res)
		}
		if diff := cmp.Diff([]string{"asana spec.txt the spec"}, taskFiles(e)[seeded:]); diff != "" {
			t.Errorf("the task's new files (-want +got):\n%s", diff)
		}
	})
}

// TestJiraAttachmentRefusedByAsana: when the acting user may not add files
// to the task, the link's owner tells it once on the task, and the file is
// not tried again.
func TestJiraAttachmentRefusedByAsana(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e, seeded := attachmentsBench(t, synctest.Options{DB: db})
		e.Asana.SetCommentOnly("bob", true)
		attachInJira(t, e, "bob", "spec.txt", []byte("the spec"))
		e.Sync(t)
		copyFiles(t, e)
		copyFiles(t, e)
		want := []string{`asanajira did not sync the attachments from Jira: Bob Brown's Asana account may not add the file "spec.txt" to this task.`}
		if diff := cmp.Diff(want, notes(e)); diff != "" {
			t.Errorf("notes (-want +got):\n%s", diff)
		}
		if got := taskFiles(e)[seeded:]; len(got) != 0 {
			t.Errorf("the task got %v", got)
		}
		e.Asana.SetCommentOnly("bob", false)
		if res := copyFiles(t, e); res != (syncengine.AttachmentResult{}) {
			t.Errorf("a told file was tried again: %+v", res)
		}
	})
}

// TestAttachmentsDoNotEcho: a task's file copied to the issue by the link's
// copy job does not come back to the task, a Jira file copied to the task
// does not go back to the issue, and a Jira file the task has already (the
// same name and size) is not copied.
func TestAttachmentsDoNotEcho(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e, seeded := attachmentsBench(t, synctest.Options{DB: db})
		ctx := t.Context()
		if _, err := e.AsanaAs(t, "alice").UploadAttachment(ctx, asanaFile(e, "from-asana.txt", "asana's")); err != nil {
			t.Fatal(err)
		}
		attachInJira(t, e, "bob", "from-jira.txt", []byte("jira's"))
		e.Sync(t)
		copyFiles(t, e)
		if _, err := e.Bridge().CopyAttachments(ctx, bridge.CopyArgsFor(e.Link)); err != nil {
			t.Fatal(err)
		}
		e.Sync(t)
		copyFiles(t, e)
		// The same file on both sides before the map knew it.
		if _, err := e.AsanaAs(t, "alice").UploadAttachment(ctx, asanaFile(e, "both.txt", "same")); err != nil {
			t.Fatal(err)
		}
		attachInJira(t, e, "alice", "both.txt", []byte("same"))
		e.Sync(t)
		copyFiles(t, e)

		count := func(names []string) map[string]int {
			n := map[string]int{}
			for _, s := range names {
				n[s]++
			}
			return n
		}
		var onTask []string
		for _, a := range e.Asana.Attachments(e.Link.TaskGID)[seeded:] {
			onTask = append(onTask, a.Name)
		}
		var onIssue []string
		for _, a := range e.Issue(t).Attachments {
			onIssue = append(onIssue, a.Filename)
		}
		if got := count(onTask); got["from-asana.txt"] != 1 || got["from-jira.txt"] != 1 || got["both.txt"] != 1 {
			t.Errorf("the task's files: %v", onTask)
		}
		if got := count(onIssue); got["from-asana.txt"] != 1 || got["from-jira.txt"] != 1 || got["both.txt"] != 1 {
			t.Errorf("the issue's files: %v", onIssue)
		}
	})
}

func keyOf(e *synctest.Env, jiraID string) string {
	return strconv.FormatInt(e.Link.ID, 10) + ":" + jiraID
}

func asanaFile(e *synctest.Env, name, content string) asana.FileUpload {
	return asana.FileUpload{Parent: e.Link.TaskGID, Name: name, Size: int64(len(content)), Body: strings.NewReader(content)}
}

// attachedLater uploads a file to the task as login and records the change
// the Asana intake records for its attachment_added story.
func attachedLater(t *testing.T, e *synctest.Env, login, name, content string) {
	t.Helper()
	ctx := t.Context()
	if _, err := e.AsanaAs(t, login).UploadAttachment(ctx, asanaFile(e, name, content)); err != nil {
		t.Fatal(err)
	}
	recordStory(t, e, name)
}

// recordStory records the attachment_added story of the task's file name
// as the Asana intake does.
func recordStory(t *testing.T, e *synctest.Env, name string) {
	t.Helper()
	var story string
	for _, s := range e.Asana.Stories(e.Link.TaskGID) {
		if s.Subtype == "attachment_added" && strings.Contains(s.Text, name) {
			story = s.GID
		}
	}
	if story == "" {
		t.Fatalf("no attachment_added story for %s", name)
	}
	if _, err := e.Engine.Record(t.Context(), syncengine.Change{LinkID: e.Link.ID, Side: syncengine.SideAsana, Source: "events",
		DedupKey: "asana:story:" + story + ":added", Kind: syncengine.KindAttachment, Object: story, ObservedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// TestTaskFilesAttachedLater: a file attached to the task after the link
// was made reaches the issue through the link's copy job, asked for by the
// sync run that sees its attachment_added story, once however often the
// job runs, without a report on the task; a file over Jira's limit is told
// on the task once; a file two-way sync brought from the issue, or one the
// issue has already, is not copied back; with the direction Jira → Asana
// only, nothing is asked.
func TestTaskFilesAttachedLater(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e, _ := attachmentsBench(t, synctest.Options{DB: db})
		ctx := t.Context()
		b := e.Bridge()
		runCopies := func() {
			t.Helper()
			for _, args := range e.TaskCopies {
				if !args.Later {
					t.Errorf("a later copy without Later: %+v", args)
				}
				if _, err := b.CopyAttachments(ctx, args); err != nil {
					t.Fatalf("CopyAttachments: %v", err)
				}
			}
		}
		onIssue := func() map[string]int {
			n := map[string]int{}
			for _, a := range e.Issue(t).Attachments {
				n[a.Filename]++
			}
			return n
		}
		comments := func() int {
			n := 0
			for _, s := range e.Asana.Stories(e.Link.TaskGID) {
				if s.Type == "comment" {
					n++
				}
			}
			return n
		}
		before := comments()

		attachedLater(t, e, "alice", "later.txt", "added after the link")
		e.Sync(t)
		if e.TaskCopiesAsked() != 1 {
			t.Fatalf("copies asked: %d, want 1", e.TaskCopiesAsked())
		}
		runCopies()
		runCopies() // a repeat copies nothing more
		if n := onIssue()["later.txt"]; n != 1 {
			t.Errorf("later.txt is on the issue %d times, want 1", n)
		}
		if got := comments(); got != before {
			t.Errorf("%d comments on the task after a later copy, want %d (no report)", got, before)
		}
		changes, err := e.Store.ListSyncChanges(ctx, store.SyncChangeFilter{LinkID: e.Link.ID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			if c.Kind == syncengine.KindAttachment && c.Outcome != syncengine.OutcomeApplied {
				t.Errorf("attachment change %s: outcome %q, want applied", c.DedupKey, c.Outcome)
			}
		}

		// Over Jira's limit: told once on the task, however often the copy runs.
		e.Jira.SetAttachmentLimit(10)
		attachedLater(t, e, "alice", "huge.bin", "more than ten bytes")
		e.Sync(t)
		runCopies()
		runCopies()
		told := 0
		for _, s := range e.Asana.Stories(e.Link.TaskGID) {
			if s.Type == "comment" && strings.Contains(s.Text, "did not copy huge.bin to Jira issue "+e.Link.IssueKey) {
				told++
			}
		}
		if told != 1 || onIssue()["huge.bin"] != 0 {
			t.Errorf("huge.bin: told %d times, on the issue %d times; want 1 and 0", told, onIssue()["huge.bin"])
		}
		e.Jira.SetAttachmentLimit(0)

		// From Jira and back: the copy two-way sync made is not copied back.
		attachInJira(t, e, "bob", "from-jira.txt", []byte("jira's"))
		e.Sync(t)
		copyFiles(t, e)
		recordStory(t, e, "from-jira.txt")
		// The same file on both sides, the map not knowing it.
		attachInJira(t, e, "alice", "both.txt", []byte("same"))
		attachedLater(t, e, "alice", "both.txt", "same")
		e.Sync(t)
		runCopies()
		if got := onIssue(); got["from-jira.txt"] != 1 || got["both.txt"] != 1 {
			t.Errorf("the issue's files: %v", got)
		}

		// Jira → Asana only: a later file stays on the task.
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases, Fields: map[string]syncengine.Direction{syncengine.FieldAttachments: syncengine.FromJira}})
		asked := e.TaskCopiesAsked()
		attachedLater(t, e, "alice", "mine.txt", "stays")
		e.Sync(t)
		if e.TaskCopiesAsked() != asked {
			t.Errorf("direction Jira → Asana: %d copies asked", e.TaskCopiesAsked()-asked)
		}
	})
}
