package appcomponents_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/jira"
)

var changelogID = regexp.MustCompile(`"changelog":\s*\{\s*"id":\s*"[^"]*"`)

// webhookRecorder registers a Jira webhook on the emulator and hands out
// each delivery it receives.
func webhookRecorder(t *testing.T, e *env) <-chan []byte {
	t.Helper()
	got := make(chan []byte, 16)
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	t.Cleanup(rec.Close)
	admin, err := jira.New(e.jiraURL, jira.NewHTTPClient(&jira.BasicAuthTransport{Username: "admin", Password: "admin"}, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateWebhook(t.Context(), jira.Webhook{Name: "test", URL: rec.URL, Enabled: true,
		Events: []string{"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created"}}); err != nil {
		t.Fatal(err)
	}
	return got
}

// next returns the next delivery whose body contains want.
func next(t *testing.T, got <-chan []byte, want string) []byte {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case b := <-got:
			if strings.Contains(string(b), want) {
				return b
			}
		case <-timeout:
			t.Fatalf("no webhook delivery containing %q", want)
		}
	}
}

func storiesWith(e *env, task, text string) int {
	n := 0
	for _, s := range e.asana.Stories(task) {
		if strings.Contains(s.Text, text) {
			n++
		}
	}
	return n
}

// Jira changes to a linked issue reach the Asana task as stories, once, and
// only as the link owner can see them.
func TestJiraEventsReachTheLinkedTask(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"8.20.1", "10.3.0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{version: v})
			deliveries := webhookRecorder(t, e)
			task := e.seed.Tasks[2].GID
			mustOK(t, e.call(t, fakeasana.AppCall{Kind: fakeasana.CallAttach, Task: task, Query: "DEMO-1"}), http.StatusOK)

			if err := e.jira.TransitionIssue("DEMO-1", "Done", "bob"); err != nil {
				t.Fatal(err)
			}
			moved := next(t, deliveries, `"key":"DEMO-1"`)
			for range 2 { // a retried job or a second delivery posts nothing new
				if err := e.bridge.ApplyJiraEvent(t.Context(), e.server.ID, moved); err != nil {
					t.Fatal(err)
				}
			}
			if n := storiesWith(e, task, "Jira issue DEMO-1 moved to Done"); n != 1 {
				t.Fatalf("%d status stories on the task, want 1: %+v", n, e.asana.Stories(task))
			}

			if err := e.jira.AddComment("DEMO-1", "bob", "Shipped in 2.0"); err != nil {
				t.Fatal(err)
			}
			// Jira Server announces a comment twice (comment_created and
			// jira:issue_updated); apply whatever arrives for it.
			commented := [][]byte{next(t, deliveries, "Shipped in 2.0")}
			select {
			case b := <-deliveries:
				commented = append(commented, b)
			case <-time.After(500 * time.Millisecond):
			}
			for _, b := range commented {
				if err := e.bridge.ApplyJiraEvent(t.Context(), e.server.ID, b); err != nil {
					t.Fatal(err)
				}
			}
			if n := storiesWith(e, task, "commented on Jira issue DEMO-1:\n\nShipped in 2.0"); n != 1 {
				t.Fatalf("%d comment stories, want 1: %+v", n, e.asana.Stories(task))
			}

			// A forged delivery claiming another status is corrected by
			// reading the issue again.
			forged := strings.Replace(string(moved), `"toString":"Done"`, `"toString":"Won't Fix"`, 1)
			forged = changelogID.ReplaceAllString(forged, `"changelog":{"id":"999999"`)
			if !strings.Contains(forged, `"id":"999999"`) {
				t.Fatalf("test payload has no changelog id to forge: %s", moved)
			}
			if err := e.bridge.ApplyJiraEvent(t.Context(), e.server.ID, []byte(forged)); err != nil {
				t.Fatal(err)
			}
			if storiesWith(e, task, "Won't Fix") != 0 || storiesWith(e, task, "Jira issue DEMO-1 moved to Done") != 2 {
				t.Fatalf("a forged delivery should be told with the issue's real status: %+v", e.asana.Stories(task))
			}

			// Changes to unlinked issues are ignored.
			before := len(e.asana.Stories(task))
			if err := e.jira.TransitionIssue("DEMO-3", "Done", "bob"); err != nil {
				t.Fatal(err)
			}
			other := next(t, deliveries, `"key":"DEMO-3"`)
			if err := e.bridge.ApplyJiraEvent(t.Context(), e.server.ID, other); err != nil {
				t.Fatal(err)
			}
			if after := len(e.asana.Stories(task)); after != before {
				t.Fatalf("an unlinked issue's change posted %d stories", after-before)
			}
			if err := e.bridge.ApplyJiraEvent(t.Context(), e.server.ID, []byte(`{"nope":1}`)); err == nil {
				t.Fatal("a malformed payload was applied")
			}
		})
	}
}

// An issue created from the task did not "move to To Do", so the task gets
// no story about its jira:issue_created delivery (which on Jira Server
// carries no changelog; Cloud's lists the initial status).
func TestIssueCreatedIsNotAMove(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{version: "9.12.0"})
	deliveries := webhookRecorder(t, e)
	task := e.seed.Tasks[2]
	values := map[string]any{"project": "DEMO", "issuetype": "10002", "summary": task.Name}
	mustOK(t, e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: task.GID, Values: values}), http.StatusOK)
	created := next(t, deliveries, `"webhookEvent":"jira:issue_created"`)
	if strings.Contains(string(created), `"changelog"`) {
		t.Fatalf("a Server creation delivery with a changelog: %s", created)
	}
	if err := e.bridge.ApplyJiraEvent(t.Context(), e.server.ID, created); err != nil {
		t.Fatal(err)
	}
	if n := storiesWith(e, task.GID, "moved to"); n != 0 {
		t.Fatalf("creating the issue told the task it moved: %+v", e.asana.Stories(task.GID))
	}
}
