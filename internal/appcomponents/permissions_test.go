package appcomponents_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/store"
)

// Secrets of the issues Jira hides from bob: he may not browse OPS, and
// DEMO-4's security level admits only admin and alice.
var hiddenFromBob = map[string]string{
	"OPS-1":  "Rotate TLS certificates",
	"OPS-2":  "Disk full on build agent",
	"DEMO-4": "As a user I can reset my password",
}

// mustHide fails when an answer to bob names anything of a hidden issue.
func mustHide(t *testing.T, what string, body []byte, except ...string) {
	t.Helper()
	for key, summary := range hiddenFromBob {
		if slices.Contains(except, key) {
			continue
		}
		if strings.Contains(string(body), summary) || strings.Contains(string(body), `"`+key+`"`) || strings.Contains(string(body), key+":") {
			t.Errorf("%s shows bob %s: %s", what, key, body)
		}
	}
}

// TestWidgetHidesWhatJiraHides: a widget on bob's screen for an issue Jira
// hides from him says he cannot see it and shows nothing of it; alice, on
// the same attachment, sees the issue.
func TestWidgetHidesWhatJiraHides(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.connect(t, "bob")
	ac, err := asana.New(e.asanaURL+"/api/1.0", &http.Client{Transport: &asana.BearerTransport{Token: "pat-alice"}})
	if err != nil {
		t.Fatal(err)
	}
	for key, summary := range hiddenFromBob {
		att, err := ac.CreateExternalAttachment(t.Context(), asana.ExternalAttachment{Parent: e.seed.Tasks[0].GID, URL: e.jiraURL + "/browse/" + key, Name: key})
		if err != nil {
			t.Fatal(err)
		}
		r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallWidget, User: e.bob, Attachment: att.GID})
		mustOK(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), "can't see") {
			t.Errorf("bob's widget for %s: %s", key, r.Body)
		}
		mustHide(t, "bob's widget for "+key, r.Body, key) // the key is in the link bob pasted
		if w := decode[widgetJSON](t, r.Body); len(w.Metadata.Fields) > 1 || w.Metadata.NumComments != nil && *w.Metadata.NumComments > 0 {
			t.Errorf("bob's widget for %s has issue fields: %s", key, r.Body)
		}
		r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallWidget, User: e.alice, Attachment: att.GID})
		mustOK(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), summary) {
			t.Errorf("alice's widget for %s: %s", key, r.Body)
		}
	}
}

// TestLookupHidesWhatJiraHides: bob's typeahead offers no hidden issue
// whatever he types, and attaching one is refused with a clear message,
// leaving Jira and asanajira unchanged.
func TestLookupHidesWhatJiraHides(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.connect(t, "bob")
	task := e.seed.Tasks[1].GID
	for _, q := range []string{"OPS-1", "OPS-", "ops-2", "DEMO-4", "DEMO-", "password", "certificates", "build agent", e.jiraURL + "/browse/OPS-1"} {
		r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallLookupTypeahead, User: e.bob, Task: task, Query: q})
		mustOK(t, r, http.StatusOK)
		mustHide(t, "bob's typeahead for "+q, r.Body)
	}
	if r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallLookupTypeahead, User: e.alice, Task: task, Query: "password"}); !strings.Contains(string(r.Body), `"value":"DEMO-4"`) {
		t.Errorf("alice's typeahead misses DEMO-4: %s", r.Body)
	}
	for key := range hiddenFromBob {
		for _, in := range []string{key, e.jiraURL + "/browse/" + key} {
			r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallAttach, User: e.bob, Task: task, Query: in})
			a := decode[attachedJSON](t, r.Body)
			if r.Status != http.StatusForbidden || !strings.Contains(a.Error, "Your Jira account cannot see "+key) || a.ResourceName != "" {
				t.Errorf("bob attaches %s: %d %s", in, r.Status, r.Body)
			}
			mustHide(t, "bob's attach of "+in, r.Body, key)
		}
		if is, _ := e.jira.Issue(key); len(is.RemoteLinks) != 0 {
			t.Errorf("bob's refused attach linked %s: %+v", key, is.RemoteLinks)
		}
	}
	if links, err := e.store.ListLinksByTask(t.Context(), task); err != nil || len(links) != 0 {
		t.Errorf("links stored for bob's refused attaches: %+v %v", links, err)
	}
}

// TestCreateFormHidesWhatJiraHides: OPS is not among bob's projects, even
// when the form is asked for it, and bob never creates an issue there.
func TestCreateFormHidesWhatJiraHides(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.connect(t, "bob")
	task := e.seed.Tasks[0].GID
	projectOptions := func(body []byte) []string {
		f := decode[formJSON](t, body)
		var ids []string
		if p := f.field(bridge.FieldProject); p != nil {
			for _, o := range p["options"].([]any) {
				ids = append(ids, o.(map[string]any)["id"].(string))
			}
		}
		return ids
	}
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, User: e.bob, Task: task})
	mustOK(t, r, http.StatusOK)
	if got := projectOptions(r.Body); !slices.Equal(got, []string{"DEMO"}) {
		t.Errorf("bob's projects in the form: %v", got)
	}
	r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormChange, User: e.bob, Task: task, ChangedField: bridge.FieldProject,
		URL:    decode[formJSON](t, r.Body).Metadata.OnChangeCallback,
		Values: map[string]any{"project": "OPS", "issuetype": "10004"}})
	mustOK(t, r, http.StatusOK)
	if got := projectOptions(r.Body); !slices.Equal(got, []string{"DEMO"}) || strings.Contains(string(r.Body), "Severity") {
		t.Errorf("bob's form switched to OPS: %s", r.Body)
	}
	r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, User: e.alice, Task: task})
	if got := projectOptions(r.Body); !slices.Equal(got, []string{"DEMO", "OPS"}) {
		t.Errorf("alice's projects in the form: %v", got)
	}
	before := len(e.jira.Issues())
	r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, User: e.bob, Task: task, URL: e.appURL + "/asana/form/submit",
		Values: map[string]any{"project": "OPS", "issuetype": "10002", "summary": "Sneaky", "customfield_10200": "10300"}})
	// A forged submit is refused on the project field; it is neither created
	// in OPS nor quietly in the project the form falls back to.
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "cannot create issues in OPS") {
		t.Errorf("bob's submit to OPS: %d %s", r.Status, r.Body)
	}
	if got := e.jira.Issues(); len(got) != before {
		t.Errorf("bob's submit to OPS created %+v", got[before:])
	}
}

// TestCopyToHiddenIssueFails: the attachment copy acts as the user who
// linked the task; when Jira hides the issue from that user, the copy
// fails with a clear message, uploads nothing, and tells the task why once,
// however often the job runs.
func TestCopyToHiddenIssueFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.connect(t, "bob")
	task := e.seed.Tasks[0].GID
	uploadAsanaFile(t, e, task, "notes.txt", []byte("for the issue"))
	stories := len(e.asana.Stories(task))
	for key := range hiddenFromBob {
		is, _ := e.jira.Issue(key)
		l := store.Link{WorkspaceGID: e.seed.Workspace, TaskGID: task, JiraServerID: e.server.ID, IssueID: is.ID, IssueKey: key, CreatedBy: e.bob}
		if err := e.store.CreateLink(t.Context(), &l); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			_, err := e.bridge.CopyAttachments(t.Context(), bridge.CopyArgsFor(l))
			if !errors.Is(err, bridge.ErrNoAccess) || !strings.Contains(bridge.UserMessage(err), "Your Jira account cannot") || !strings.Contains(bridge.UserMessage(err), key) {
				t.Errorf("copy to %s as bob: %v (%q)", key, err, bridge.UserMessage(err))
			}
			mustHide(t, "the copy error", []byte(bridge.UserMessage(err)), key)
		}
		got := e.asana.Stories(task)[stories:]
		if len(got) != 1 || !strings.Contains(got[0].Text, "could not copy this task's files to Jira issue "+key) {
			t.Errorf("after two refused copies to %s the task has %+v, want one story saying why", key, got)
		} else {
			mustHide(t, "the story on the task", []byte(got[0].Text), key)
		}
		stories += len(got)
		if is, _ := e.jira.Issue(key); len(is.Attachments) != 0 || len(is.RemoteLinks) != 0 {
			t.Errorf("bob's copy changed %s: %+v %+v", key, is.Attachments, is.RemoteLinks)
		}
		if err := e.store.DeleteLink(t.Context(), l.ID); err != nil {
			t.Fatal(err)
		}
	}
}
