package bridge_test

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	"github.com/asanajira/asanajira/internal/effects"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// A comment reaches the task with Jira's own text and author, read again by
// its id: a delivery that carries the webhook secret but says something else
// posts nothing of its own.
func TestCommentIsReadFromJira(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	if err := e.Jira.AddComment("DEMO-1", "bob", "Shipped in 2.0"); err != nil {
		t.Fatal(err)
	}
	real := e.Next(t, "jira:issue_updated", "Shipped in 2.0")

	forged := strings.ReplaceAll(string(real), "Shipped in 2.0", "Rolled back, see http://evil.example")
	forged = strings.ReplaceAll(forged, `"displayName":"Bob`, `"displayName":"The CEO`)
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, []byte(forged)); err != nil {
		t.Fatal(err)
	}
	if e.Stories("evil.example") != 0 || e.Stories("The CEO") != 0 {
		t.Fatalf("the forged text or author reached the task: %+v", e.Asana.Stories(e.Link.TaskGID))
	}
	if n := e.Stories("commented on Jira issue DEMO-1:\n\nShipped in 2.0"); n != 1 {
		t.Fatalf("%d stories with Jira's text, want 1: %+v", n, e.Asana.Stories(e.Link.TaskGID))
	}
	// The real delivery of the same comment tells nothing new.
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, real); err != nil {
		t.Fatal(err)
	}
	if n := e.Stories("Shipped in 2.0"); n != 1 {
		t.Fatalf("%d stories after the real delivery, want 1", n)
	}

	// Comments that are not on the linked issue for the link's owner post
	// nothing: an id that does not exist, and a comment of another issue.
	if err := e.Jira.AddComment("DEMO-2", "bob", "About another issue"); err != nil {
		t.Fatal(err)
	}
	other, _ := e.Jira.Issue("DEMO-2")
	otherID := other.Comments[len(other.Comments)-1].ID
	realID := commentID(t, e, "Shipped in 2.0")
	for name, id := range map[string]string{"unknown comment": "987654", "comment of another issue": otherID} {
		b := strings.ReplaceAll(string(real), `"id":"`+realID+`"`, `"id":"`+id+`"`)
		b = strings.ReplaceAll(b, "Shipped in 2.0", "Injected: "+name)
		if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, []byte(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := e.Stories("Injected") + e.Stories("About another issue"); n != 0 {
			t.Fatalf("%s: %d stories posted", name, n)
		}
	}
}

// A status change is told with the status and the person Jira recorded,
// whatever the delivery claims.
func TestStatusIsReadFromJira(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	if err := e.Jira.TransitionIssue("DEMO-1", "Done", "bob"); err != nil {
		t.Fatal(err)
	}
	real := e.Next(t, "jira:issue_updated", `"toString":"Done"`)
	forged := strings.ReplaceAll(string(real), `"toString":"Done"`, `"toString":"Won't Fix"`)
	forged = strings.ReplaceAll(forged, `"displayName":"Bob Brown"`, `"displayName":"The CEO"`)
	if !strings.Contains(forged, "The CEO") {
		t.Fatalf("no actor to forge in %s", real)
	}
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, []byte(forged)); err != nil {
		t.Fatal(err)
	}
	if n := e.Stories("Jira issue DEMO-1 moved to Done by Bob Brown."); n != 1 || e.Stories("Won't Fix")+e.Stories("The CEO") != 0 {
		t.Fatalf("stories %+v, want Jira's status and mover", e.Asana.Stories(e.Link.TaskGID))
	}
	// A change Jira has no record of names nobody.
	unknown := regexp.MustCompile(`"changelog":\{"id":"[0-9]+"`).ReplaceAllString(forged, `"changelog":{"id":"999999"`)
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, []byte(unknown)); err != nil {
		t.Fatal(err)
	}
	if n := e.Stories("Jira issue DEMO-1 moved to Done."); n != 1 {
		t.Fatalf("stories %+v, want one naming nobody", e.Asana.Stories(e.Link.TaskGID))
	}
}

func commentID(t *testing.T, e *bridgetest.Env, body string) string {
	t.Helper()
	is, _ := e.Jira.Issue("DEMO-1")
	for _, c := range is.Comments {
		if c.Body == body {
			return c.ID
		}
	}
	t.Fatalf("no comment %q on DEMO-1", body)
	return ""
}

// A comment restricted to a group or a project role is never mirrored:
// everyone on the Asana task could read it. Jira sends such comments to
// webhooks without their restriction; only reading them back tells.
func TestRestrictedCommentsAreNotMirrored(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	tests := map[string]fakejira.Visibility{
		// alice, the link's owner, is a developer: Jira shows her the
		// comment, with its restriction.
		"role the owner has": {Type: "role", Value: "Developers"},
		// alice is no administrator: Jira hides the comment from her.
		"group the owner is not in": {Type: "group", Value: "jira-administrators"},
	}
	for name, v := range tests {
		author := "bob"
		if v.Type == "group" {
			author = "admin"
		}
		text := "Restricted to the " + name
		if err := e.Jira.AddRestrictedComment("DEMO-1", author, text, v); err != nil {
			t.Fatal(err)
		}
		d := e.Next(t, "jira:issue_updated", text)
		if strings.Contains(string(d), `"visibility"`) {
			t.Fatalf("%s: the emulator sent the restriction to the webhook, which Jira does not", name)
		}
		if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := e.Stories("Restricted"); n != 0 {
			t.Fatalf("%s: a restricted comment reached the task: %+v", name, e.Asana.Stories(e.Link.TaskGID))
		}
	}
}

// A jira:issue_deleted delivery removes the link only when Jira says the
// issue is gone; a forged one for an issue that exists changes nothing.
func TestDeletionIsCheckedWithJira(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	if err := e.Jira.AddComment("DEMO-1", "bob", "A comment"); err != nil {
		t.Fatal(err)
	}
	d := e.Next(t, "jira:issue_updated", "A comment")
	forged := strings.Replace(string(d), `"webhookEvent":"jira:issue_updated"`, `"webhookEvent":"jira:issue_deleted"`, 1)
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, []byte(forged)); err != nil {
		t.Fatal(err)
	}
	if !e.Linked(t) || e.Stories("deleted") != 0 {
		t.Fatalf("a forged deletion of an existing issue: linked %v, stories %+v", e.Linked(t), e.Asana.Stories(e.Link.TaskGID))
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, e.JiraURL+"/rest/api/2/issue/DEMO-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", "admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE DEMO-1 = %d", resp.StatusCode)
	}
	deleted := e.Next(t, "jira:issue_deleted", `"key":"DEMO-1"`)
	for range 2 {
		if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, deleted); err != nil {
			t.Fatal(err)
		}
	}
	if e.Linked(t) || e.Stories("Jira issue DEMO-1 was deleted. The link to this task is removed.") != 1 {
		t.Fatalf("after the real deletion: linked %v, stories %+v", e.Linked(t), e.Asana.Stories(e.Link.TaskGID))
	}
}

// When Jira shows the link's owner neither the issue nor its project, the
// owner lost access (or the project went): the link stays and nothing is
// told on the task.
func TestDeletionWithoutAccessKeepsTheLink(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	gone := store.Link{WorkspaceGID: e.Seed.Workspace, TaskGID: e.Seed.Tasks[1].GID, JiraServerID: e.Server.ID,
		IssueID: "77777", IssueKey: "HIDDEN-7", CreatedBy: e.Alice}
	if err := e.Store.CreateLink(ctx, &gone); err != nil {
		t.Fatal(err)
	}
	body := `{"timestamp":1700000000000,"webhookEvent":"jira:issue_deleted","user":{"name":"admin"},
		"issue":{"id":"77777","key":"HIDDEN-7","fields":{"summary":"x"}}}`
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.GetLinkByTask(ctx, e.Server.ID, gone.TaskGID); err != nil {
		t.Fatalf("the link went: %v", err)
	}
	if n := len(e.Asana.Stories(gone.TaskGID)); n != 0 {
		t.Fatalf("%d stories told", n)
	}
}

// Eight deliveries of one comment applied at the same moment (two webhooks,
// retried jobs, several replicas) post one story.
func TestConcurrentDeliveriesPostOnce(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	if err := e.Jira.AddComment("DEMO-1", "bob", "Told once"); err != nil {
		t.Fatal(err)
	}
	d := e.Next(t, "jira:issue_updated", "Told once")
	var (
		wg   sync.WaitGroup
		busy atomic.Int32
		mu   sync.Mutex
		errs []error
	)
	start := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				err := e.Bridge.ApplyJiraEvent(t.Context(), e.Server.ID, d)
				if errors.Is(err, effects.ErrBusy) {
					busy.Add(1)
					time.Sleep(10 * time.Millisecond) // the job is snoozed
					continue
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				return
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if n := e.Stories("Told once"); n != 1 {
		t.Fatalf("%d stories from 8 concurrent deliveries (%d busy answers), want 1", n, busy.Load())
	}
}

// A crash between posting a story and recording it: the next attempt, once
// the dead attempt's lease lapsed, finds the story on the task (the owner's
// comment saying the same, made after the intent) and posts nothing.
func TestCrashBetweenStoryAndRecord(t *testing.T) {
	t.Parallel()
	var cs *bridgetest.CrashingStore
	e := bridgetest.New(t, bridgetest.Options{WrapStore: func(st store.Store) store.Store {
		cs = &bridgetest.CrashingStore{Store: st}
		return cs
	}})
	ctx := t.Context()
	if err := e.Jira.TransitionIssue("DEMO-1", "Done", "bob"); err != nil {
		t.Fatal(err)
	}
	d := e.Next(t, "jira:issue_updated", `"toString":"Done"`)
	cs.Crash.Store(true)
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, d); !errors.Is(err, bridgetest.ErrCrash) {
		t.Fatalf("ApplyJiraEvent = %v, want the crash", err)
	}
	cs.Crash.Store(false)
	if n := e.Stories("moved to Done"); n != 1 {
		t.Fatalf("%d stories after the crash, want the one posted", n)
	}
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, d); !errors.Is(err, effects.ErrBusy) {
		t.Fatalf("retry while the dead attempt's lease runs = %v, want ErrBusy", err)
	}
	e.Clock.Add(time.Minute)
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, d); err != nil {
		t.Fatal(err)
	}
	if n := e.Stories("moved to Done"); n != 1 {
		t.Fatalf("%d stories after the retry, want 1: %+v", n, e.Asana.Stories(e.Link.TaskGID))
	}
}

// The link's owner no longer connected: the error says so, for the job to
// stop retrying.
func TestEventForDisconnectedOwner(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	e.Relink(t, e.Seed.Users["bob"]) // never connected
	if err := e.Jira.AddComment("DEMO-1", "bob", "Nobody to tell"); err != nil {
		t.Fatal(err)
	}
	err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, e.Next(t, "jira:issue_updated", "Nobody to tell"))
	if !errors.Is(err, bridge.ErrNotConnected) {
		t.Fatalf("ApplyJiraEvent = %v, want ErrNotConnected", err)
	}
}
