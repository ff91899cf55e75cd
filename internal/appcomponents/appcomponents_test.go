package appcomponents_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/google/go-cmp/cmp"
)

type formJSON struct {
	Template string `json:"template"`
	Metadata struct {
		Title            string           `json:"title"`
		OnSubmitCallback string           `json:"on_submit_callback"`
		OnChangeCallback string           `json:"on_change_callback"`
		Fields           []map[string]any `json:"fields"`
	} `json:"metadata"`
}

func (f formJSON) field(id string) map[string]any {
	for _, x := range f.Metadata.Fields {
		if x["id"] == id {
			return x
		}
	}
	return nil
}

type attachedJSON struct {
	ResourceName string `json:"resource_name"`
	ResourceURL  string `json:"resource_url"`
	Error        string `json:"error"`
}

func mustOK(t *testing.T, r *fakeasana.AppResponse, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s %s: status %d, want %d: %s", r.Method, r.URL, r.Status, status, r.RequestBody+" -> "+string(r.Body))
	}
	if r.Invalid != nil && status < 300 {
		t.Fatalf("%s: answer does not match the App Components spec: %v\n%s", r.URL, r.Invalid, r.Body)
	}
}

var versions = []string{"7.13.5", "8.20.1", "9.12.0", "10.3.0"}

// TestCreateIssueEndToEnd drives the "Create new issue" form through the
// Asana emulator on every Jira profile: form, on_change to a project with a
// required custom select, the form's own and Jira's field errors, the
// create, the attachment copy job, the widget, and a repeated submit.
func TestCreateIssueEndToEnd(t *testing.T) {
	t.Parallel()
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{version: v, queue: true})
			task := e.seed.Tasks[0]

			r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, Task: task.GID})
			mustOK(t, r, http.StatusOK)
			form := decode[formJSON](t, r.Body)
			if got := form.field("summary")["value"]; got != task.Name {
				t.Errorf("summary prefilled with %v, want %q", got, task.Name)
			}
			if form.field("project") == nil || form.field("issuetype") == nil {
				t.Fatalf("form lacks project or issue type: %s", r.Body)
			}

			values := map[string]any{"project": "OPS", "issuetype": "10002", "summary": task.Name, "description": "From Asana"}
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormChange, URL: form.Metadata.OnChangeCallback, Task: task.GID, Values: values, ChangedField: "project"})
			mustOK(t, r, http.StatusOK)
			form = decode[formJSON](t, r.Body)
			sev := form.field(fakejira.FieldSeverity)
			if sev == nil || sev["is_required"] != true || sev["type"] != "dropdown" {
				t.Fatalf("OPS Task form lacks the required Severity dropdown: %s", r.Body)
			}
			if got := form.field("description")["value"]; got != "From Asana" {
				t.Errorf("on_change lost the description: %v", got)
			}

			// Missing required field: the form comes back with the error under it.
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: form.Metadata.OnSubmitCallback, Task: task.GID, Values: values})
			mustOK(t, r, http.StatusBadRequest)
			if msg, _ := decode[formJSON](t, r.Body).field(fakejira.FieldSeverity)["error"].(string); !strings.Contains(msg, "required") {
				t.Errorf("Severity error = %q, want it required", msg)
			}

			// Jira's own field error (an unknown assignee) lands under the field.
			values[fakejira.FieldSeverity] = "10301"
			values["assignee"] = map[string]any{"title": "Nobody", "value": "nobody"}
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: form.Metadata.OnSubmitCallback, Task: task.GID, Values: values})
			mustOK(t, r, http.StatusBadRequest)
			if msg, _ := decode[formJSON](t, r.Body).field("assignee")["error"].(string); msg == "" {
				t.Errorf("no error under assignee: %s", r.Body)
			}

			delete(values, "assignee")
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: form.Metadata.OnSubmitCallback, Task: task.GID, Values: values})
			mustOK(t, r, http.StatusOK)
			got := decode[attachedJSON](t, r.Body)
			is, ok := e.jira.Issue(strings.TrimPrefix(got.ResourceURL, e.jiraURL+"/browse/"))
			if !ok {
				t.Fatalf("no Jira issue behind %s", got.ResourceURL)
			}
			if want := is.Key + ": " + task.Name; got.ResourceName != want {
				t.Errorf("resource_name = %q, want %q", got.ResourceName, want)
			}
			if is.Custom[fakejira.FieldSeverity] != "Sev 2" || is.Reporter != "alice" {
				t.Errorf("issue severity %v reporter %q, want Sev 2 by alice", is.Custom[fakejira.FieldSeverity], is.Reporter)
			}
			if !slices.ContainsFunc(is.RemoteLinks, func(l fakejira.RemoteLink) bool { return l.GlobalID == bridge.GlobalID(task.GID) }) {
				t.Errorf("issue has no remote link asana:task:%s: %+v", task.GID, is.RemoteLinks)
			}
			if _, err := e.store.GetLinkByTask(t.Context(), e.server.ID, task.GID); err != nil {
				t.Errorf("link not stored: %v", err)
			}

			// The copy job: files copied, drive links linked, one comment.
			is = waitFor(t, func() (fakejira.Issue, bool) {
				is, _ := e.jira.Issue(is.Key)
				return is, len(is.Attachments) == 2 && len(is.RemoteLinks) == 3
			})
			files := []string{is.Attachments[0].Filename, is.Attachments[1].Filename}
			slices.Sort(files)
			if diff := cmp.Diff([]string{"homepage-mockup.png", "launch-plan.pdf"}, files); diff != "" {
				t.Errorf("copied files (-want +got):\n%s", diff)
			}
			for _, a := range e.asana.Attachments(task.GID) {
				if a.Name == "launch-plan.pdf" && string(is.Attachments[0].Content) != string(a.Content) && string(is.Attachments[1].Content) != string(a.Content) {
					t.Errorf("the PDF's bytes changed on the way")
				}
			}
			comment := waitFor(t, func() (string, bool) {
				for _, s := range e.asana.Stories(task.GID) {
					if strings.Contains(s.Text, is.Key) {
						return s.Text, true
					}
				}
				return "", false
			})
			for _, want := range []string{"Copied: ", "launch-plan.pdf", "Linked: ", "Press kit (Dropbox)"} {
				if !strings.Contains(comment, want) {
					t.Errorf("comment %q lacks %q", comment, want)
				}
			}

			t.Logf("comment: %s", comment)
			// The widget, for the attachment Asana made from the submit.
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallWidget, Attachment: r.Attachment})
			mustOK(t, r, http.StatusOK)
			t.Logf("widget: %s", r.Body)
			w := decode[widgetJSON](t, r.Body)
			if w.Metadata.Title != is.Key+": "+task.Name || w.Metadata.Fields[0]["text"] != "To Do" || w.Metadata.Fields[0]["color"] != "cool-gray" {
				t.Errorf("widget = %s", r.Body)
			}

			// Submitting again creates nothing new.
			before := len(e.jira.Issues())
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: form.Metadata.OnSubmitCallback, Task: task.GID, Values: values})
			mustOK(t, r, http.StatusOK)
			if again := decode[attachedJSON](t, r.Body); again.ResourceURL != got.ResourceURL || len(e.jira.Issues()) != before {
				t.Errorf("second submit gave %s and %d issues, want %s and %d", again.ResourceURL, len(e.jira.Issues()), got.ResourceURL, before)
			}
		})
	}
}

type widgetJSON struct {
	Template string `json:"template"`
	Metadata struct {
		Title       string           `json:"title"`
		Fields      []map[string]any `json:"fields"`
		Footer      map[string]any   `json:"footer"`
		NumComments *int             `json:"num_comments"`
	} `json:"metadata"`
}

func waitFor[T any](t *testing.T, f func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // the bound only turns a hang into a failure
	for {
		v, ok := f()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in time; last value %+v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConcurrentSubmitsCreateOneIssue: a double click, retries and replicas
// racing on one task make exactly one Jira issue.
func TestConcurrentSubmitsCreateOneIssue(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, testConcurrentSubmitsCreateOneIssue)
}

func testConcurrentSubmitsCreateOneIssue(t *testing.T, postgres bool) {
	e := newEnv(t, envOptions{postgres: postgres})
	task := e.seed.Tasks[2]
	e.submitsCreateOnce(t, task.GID, map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Checkout login bug"}, 8)
}

// submitsCreateOnce sends n submits of values for a task at once, as
// alice, and checks that each is answered with the same issue and that
// Jira has one issue of that summary.
func (e *env) submitsCreateOnce(t *testing.T, task string, values map[string]any, n int) {
	t.Helper()
	urls := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := e.asana.CallApp(t.Context(), fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", User: e.alice, Task: task, Values: values})
			if err != nil {
				t.Error(err)
				return
			}
			if r.Status != http.StatusOK {
				t.Errorf("submit %d: %d %s", i, r.Status, r.Body)
				return
			}
			urls[i] = decode[attachedJSON](t, r.Body).ResourceURL
		})
	}
	wg.Wait()
	created := 0
	for _, is := range e.jira.Issues() {
		if is.Summary == values["summary"] {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d issues created, want 1", created)
	}
	for i := range urls {
		if urls[i] != urls[0] {
			t.Errorf("submit %d got %s, submit 0 got %s", i, urls[i], urls[0])
		}
	}
}

// TestLostClaimFindsTheEarlierIssue: an attempt that created the issue and
// its remote link, and whose records were then lost (its claim and link
// gone, or its claim marked failed and no link stored, as after a crash
// between Jira's answer and the link's commit), is found by the next
// submit through the remote link's globalId: the task gets that issue, and
// Jira no second one. This is the guard the creation's claim relies on
// when it is taken over (bridge.createOnce).
func TestLostClaimFindsTheEarlierIssue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		lose string // what happens to the first attempt's records
	}{
		{"claim and link gone", `DELETE FROM idempotency_keys`},
		{"claim failed, link gone", `UPDATE idempotency_keys SET result = '{"failed":true}'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			e := newEnv(t, envOptions{})
			task := e.seed.Tasks[2]
			values := map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Lost claim"}
			submit := func() attachedJSON {
				t.Helper()
				r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: task.GID, Values: values})
				mustOK(t, r, http.StatusOK)
				return decode[attachedJSON](t, r.Body)
			}
			first := submit()
			l, err := e.store.GetLinkByTask(ctx, e.server.ID, task.GID)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.DeleteLink(ctx, l.ID); err != nil {
				t.Fatal(err)
			}
			db, err := sqlite.OpenDB(ctx, e.dbPath)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			res, err := db.ExecContext(ctx, tc.lose)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("%d claims changed, want 1", n)
			}
			before := len(e.jira.Issues())

			again := submit()
			if diff := cmp.Diff(first, again); diff != "" {
				t.Errorf("answer after the lost claim (-first +again):\n%s", diff)
			}
			if n := len(e.jira.Issues()); n != before {
				t.Errorf("Jira has %d issues after the repeat, want %d", n, before)
			}
			got, err := e.store.GetLinkByTask(ctx, e.server.ID, task.GID)
			if err != nil || got.IssueKey != l.IssueKey {
				t.Errorf("link after the repeat = %+v, %v; want %s", got, err, l.IssueKey)
			}
		})
	}
}
