package appcomponents_test

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// formDoc is a FormMetadataResponse as the tests read it.
type formDoc struct {
	Template string `json:"template"`
	Metadata struct {
		Title    string `json:"title"`
		OnSubmit string `json:"on_submit_callback"`
		Fields   []struct {
			ID    string `json:"id"`
			Type  string `json:"type"`
			Name  string `json:"name"`
			Error string `json:"error"`
			Value any    `json:"value"`
		} `json:"fields"`
	} `json:"metadata"`
}

func (f formDoc) errors() string {
	var out []string
	for _, fl := range f.Metadata.Fields {
		if fl.Error != "" {
			out = append(out, fl.Error)
		}
	}
	return strings.Join(out, " | ")
}

func (f formDoc) value(id string) any {
	for _, fl := range f.Metadata.Fields {
		if fl.ID == id {
			return fl.Value
		}
	}
	return nil
}

// withRequiredFields adds fields the form cannot show (an unknown schema)
// to Jira's create screen of every project and issue type, as required.
func withRequiredFields(names ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !regexp.MustCompile(`/issue/createmeta/[^/]+/issuetypes/[^/]+$`).MatchString(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var page map[string]any
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
				w.WriteHeader(rec.Code)
				_, _ = io.Copy(w, rec.Body)
				return
			}
			values, _ := page["values"].([]any)
			for i, n := range names {
				id := "customfield_" + string(rune('7'+i)) + "0001"
				values = append(values, map[string]any{"required": true, "name": n, "fieldId": id, "hasDefaultValue": false,
					"operations": []string{"set"}, "schema": map[string]any{"type": "any", "custom": "com.example:gadget", "customId": 70001 + i}})
			}
			page["values"], page["total"] = values, len(values)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(page)
		})
	}
}

// TestFormWithSeveralFieldsOnlyJiraCanFill: each required field the form
// cannot show gets its own note, one link to Jira's create screen follows,
// every id is unique (Asana, and the emulator, refuse a form that repeats
// one), and the link keeps its whole URL however long the task's name.
func TestFormWithSeveralFieldsOnlyJiraCanFill(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{version: "9.12.0", wrapJira: withRequiredFields("Approval Gadget", "Risk Matrix")})
	name := strings.Repeat("Launch the spring campaign with partners & friends; ", 8)
	task := e.newTask(t, name)
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, Task: task})
	mustOK(t, r, http.StatusOK)
	f := decode[formDoc](t, r.Body)
	seen := map[string]int{}
	var notes []string
	var link string
	for _, fl := range f.Metadata.Fields {
		seen[fl.ID]++
		if strings.HasPrefix(fl.ID, "unsupported_") {
			notes = append(notes, fl.Name)
		}
		if fl.ID == "finish_in_jira" {
			link, _ = fl.Value.(string)
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("field id %q appears %d times", id, n)
		}
	}
	if want := []string{"“Approval gadget” must be set in Jira", "“Risk matrix” must be set in Jira"}; strings.Join(notes, "|") != strings.Join(want, "|") {
		t.Errorf("notes %q, want %q", notes, want)
	}
	if f.Metadata.OnSubmit != "" {
		t.Error("a form that cannot create the issue offers to submit")
	}
	href := regexp.MustCompile(`<a href="([^"]+)">([^<]+)</a>`).FindStringSubmatch(link)
	if href == nil {
		t.Fatalf("finish_in_jira is not a link: %q", link)
	}
	u, err := url.Parse(html.UnescapeString(href[1]))
	if err != nil || !strings.HasPrefix(u.String(), e.jiraURL+"/secure/CreateIssueDetails!init.jspa?") {
		t.Fatalf("link %q", href[1])
	}
	q := u.Query()
	if q.Get("pid") == "" || q.Get("issuetype") == "" || q.Get("summary") != string([]rune(name)[:254])+"…" {
		t.Errorf("the link lost its parameters: %v", q)
	}
	if len(href[1]) <= 200 || strings.Contains(href[1], "…\"") {
		t.Errorf("expected a long URL kept whole: %d characters", len(href[1]))
	}
	if text := html.UnescapeString(href[2]); len([]rune(text)) > 80 || !strings.HasSuffix(text, "” in Jira") {
		t.Errorf("link text %q", text)
	}
}

// TestFormErrorsAreForms: every 400 of a form's on_change and on_submit,
// for the create form and the rule form, is a FormMetadataResponse with the
// error on it, whether Jira failed or the input was bad; "Try again"
// brings the real form back once Jira answers.
func TestFormErrorsAreForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		jira  *fakejira.Faults
		call  func(e *env) fakeasana.AppCall
		wants string
	}{
		{name: "on_change, Jira down", jira: &fakejira.Faults{ErrorRate: 1, ErrorStatus: 503},
			call: func(e *env) fakeasana.AppCall {
				return fakeasana.AppCall{Kind: fakeasana.CallFormChange, URL: e.appURL + "/asana/form/change", Task: e.seed.Tasks[0].GID, ChangedField: "project",
					Values: map[string]any{"project": "OPS", "summary": "x"}}
			}, wants: "not answering"},
		{name: "on_change, Jira too slow", jira: &fakejira.Faults{LatencyMS: 30000},
			call: func(e *env) fakeasana.AppCall {
				return fakeasana.AppCall{Kind: fakeasana.CallFormChange, URL: e.appURL + "/asana/form/change", Task: e.seed.Tasks[0].GID, ChangedField: "project",
					Values: map[string]any{"project": "OPS"}}
			}, wants: "did not answer within"},
		{name: "on_submit, Jira down", jira: &fakejira.Faults{ErrorRate: 1, ErrorStatus: 503},
			call: func(e *env) fakeasana.AppCall {
				return fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: e.seed.Tasks[0].GID,
					Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "x"}}
			}, wants: "not answering"},
		{name: "on_submit, bad date",
			call: func(e *env) fakeasana.AppCall {
				return fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: e.seed.Tasks[0].GID,
					Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "x", "duedate": "soon"}}
			}, wants: "enter a date"},
		{name: "rule on_change, Jira down", jira: &fakejira.Faults{ErrorRate: 1, ErrorStatus: 503},
			call: func(e *env) fakeasana.AppCall {
				return fakeasana.AppCall{Kind: fakeasana.CallActionChange, URL: e.appURL + "/asana/rule/change", Project: e.seed.Project, ActionType: ruleType,
					ChangedField: "project", Values: map[string]any{"project": "OPS"}}
			}, wants: "not answering"},
		{name: "rule on_submit, Jira down", jira: &fakejira.Faults{ErrorRate: 1, ErrorStatus: 503},
			call: func(e *env) fakeasana.AppCall {
				return fakeasana.AppCall{Kind: fakeasana.CallActionSubmit, URL: e.appURL + "/asana/rule/submit", Project: e.seed.Project, ActionType: ruleType,
					Values: map[string]any{"project": "OPS", "issuetype": "10002"}}
			}, wants: "not answering"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{jiraTimeout: 2 * time.Second, metaTTL: -1})
			if tc.jira != nil {
				if err := e.jira.SetFaults(*tc.jira); err != nil {
					t.Fatal(err)
				}
			}
			c := tc.call(e)
			r := e.call(t, c)
			if r.Status != http.StatusBadRequest || r.Invalid != nil {
				t.Fatalf("%d %s (invalid: %v), want a 400 form", r.Status, r.Body, r.Invalid)
			}
			f := decode[formDoc](t, r.Body)
			if f.Template != "form_metadata_v0" || !strings.Contains(f.errors(), tc.wants) {
				t.Fatalf("form errors %q, want %q: %s", f.errors(), tc.wants, r.Body)
			}
			if tc.jira == nil || c.Kind != fakeasana.CallFormChange {
				return
			}
			// Jira is back: ticking "Try again" asks for the form anew,
			// prefilled from the task.
			if err := e.jira.SetFaults(fakejira.Faults{}); err != nil {
				t.Fatal(err)
			}
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormChange, URL: e.appURL + "/asana/form/change", Task: c.Task, ChangedField: bridge.FieldRetry,
				Values: map[string]any{bridge.FieldRetry: []any{"yes"}}})
			mustOK(t, r, http.StatusOK)
			if got := decode[formDoc](t, r.Body).value("summary"); got != e.seed.Tasks[0].Name {
				t.Errorf("after Try again the summary is %v, want the task's name", got)
			}
		})
	}
}

// TestFormPrefillsPriorityAndKeepsPickedDates: the task's Priority (High)
// preselects Jira's priority of that name, and a date Asana sends as the
// UTC instant of a midnight east of Greenwich reaches Jira as the day the
// person picked.
func TestFormPrefillsPriorityAndKeepsPickedDates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	var task fakeasana.SeedTask
	for _, st := range e.seed.Tasks {
		if e.asana.Task(st.GID).CustomFields[e.seed.PriorityField] == e.seed.PriorityOptions["High"] {
			task = st
		}
	}
	if task.GID == "" {
		t.Fatalf("no seeded task has Priority High: %+v", e.seed.Tasks)
	}
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, Task: task.GID})
	mustOK(t, r, http.StatusOK)
	if got := decode[formDoc](t, r.Body).value("priority"); got != "2" { // the Jira emulator's High
		t.Errorf("priority prefilled with %v, want 2 (High)", got)
	}

	r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: task.GID, Values: map[string]any{
		"project": "DEMO", "issuetype": "10002", "summary": "Picked in Berlin", "duedate": "2026-03-14T23:00:00.000Z"}})
	mustOK(t, r, http.StatusOK)
	key := strings.TrimPrefix(decode[attachedJSON](t, r.Body).ResourceURL, e.jiraURL+"/browse/")
	if is, _ := e.jira.Issue(key); is.DueDate != "2026-03-15" {
		t.Errorf("due date in Jira %q, want 2026-03-15", is.DueDate)
	}
}

// TestLookupSaysWhenNothingMatches: a key that exists nowhere gets an empty
// list with a header saying so.
func TestLookupSaysWhenNothingMatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallLookupTypeahead, Task: e.seed.Tasks[1].GID, Query: "DEMO-999"})
	mustOK(t, r, http.StatusOK)
	got := decode[struct {
		Header string           `json:"header"`
		Items  []map[string]any `json:"items"`
	}](t, r.Body)
	if len(got.Items) != 0 || !strings.Contains(got.Header, "No Jira issue matches “DEMO-999”") {
		t.Errorf("typeahead for a missing key: %s", r.Body)
	}
	r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallLookupTypeahead, Task: e.seed.Tasks[1].GID, Query: "DEMO-2"})
	mustOK(t, r, http.StatusOK)
	if bytes.Contains(r.Body, []byte(`"header"`)) {
		t.Errorf("a query with results has a header: %s", r.Body)
	}
}

// TestRuleRunOnATaskThatHasTheIssue: a run that finds the task already
// linked to an issue created nothing: it says "ok", names no resource and
// leaves the task with its one attachment.
func TestRuleRunOnATaskThatHasTheIssue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	task := e.newTask(t, "Rotate the signing keys")
	e.saveRule(t, e.alice, "", map[string]any{"project": "DEMO", "issuetype": "10002"})
	r := e.runRule(t, e.alice, "action-1", task, "run-1")
	mustOK(t, r, http.StatusOK)
	is := e.issueOf(t, r)

	r = e.runRule(t, e.alice, "action-1", task, "run-2")
	mustOK(t, r, http.StatusOK)
	var ran struct {
		Result  string           `json:"action_result"`
		Created []map[string]any `json:"resources_created"`
	}
	if err := json.Unmarshal(r.Body, &ran); err != nil || ran.Result != "ok" || len(ran.Created) != 0 {
		t.Errorf("second run on the same task: %s", r.Body)
	}
	n := 0
	for _, u := range e.attachmentURLs(t, task) {
		if strings.HasSuffix(u, "/browse/"+is.Key) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the task has %d attachments of %s, want 1", n, is.Key)
	}
	// The same run repeated (Asana's retry, same idempotency key) still
	// reports what that run did.
	r = e.runRule(t, e.alice, "action-1", task, "run-1")
	mustOK(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), `"resources_created"`) {
		t.Errorf("a retry of the first run: %s", r.Body)
	}
}

// attachmentURLs lists a task's attachments' view URLs through Asana's
// REST API.
func (e *env) attachmentURLs(t *testing.T, task string) []string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet,
		e.asanaURL+"/api/1.0/attachments?parent="+task+"&opt_fields=view_url", nil)
	req.Header.Set("Authorization", "Bearer "+e.seed.Tokens["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []struct {
			ViewURL string `json:"view_url"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, a := range out.Data {
		urls = append(urls, a.ViewURL)
	}
	return urls
}
