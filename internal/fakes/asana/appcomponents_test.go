package asana

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
)

func TestSignKnownAnswers(t *testing.T) {
	t.Parallel()
	// Expected values computed independently with
	// printf '%s' MESSAGE | openssl dgst -sha256 -hmac SECRET.
	tests := []struct{ name, secret, msg, want string }{
		{"GET query string", "demo-secret",
			"workspace=1201000000000001&task=1201000000001001&user=1201000000000012&expires_at=2019-04-15T01%3A01%3A46.055Z",
			"a871daccd8053cf9a1c9ef1f5cd66bab3a5f893267430cc7164ed2ad7dc29789"},
		{"POST data string", "demo-secret",
			`{"expires_at":"2019-04-15T01:01:46.055Z","query":"DEMO-1","task":"1201000000001001","user":"1201000000000012","workspace":"1201000000000001"}`,
			"c4ca177e339dd3700010d8692095a5885efc160074a082c302d1f7c420cdbb22"},
		{"empty message", "key", "", "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Sign(tc.secret, tc.msg); got != tc.want {
				t.Errorf("Sign = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPrepareSignsWhatItSends(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2019, 4, 15, 1, 0, 46, 55e6, time.UTC)
	s, _ := newTestServer(t, Options{Now: func() time.Time { return fixed },
		App: AppRegistration{WidgetMetadataURL: "https://app.example/widget", ResourceAttachURL: "https://app.example/attach"}})
	seed := s.Seed()
	// The widget query string and its signature, byte for byte.
	p, err := s.prepare(AppCall{Kind: CallWidget, User: seed.Users["alice"], Attachment: seed.Tasks[0].Attachments["Press kit (Dropbox)"]})
	if err != nil {
		t.Fatal(err)
	}
	wantQuery := "workspace=1201000000000001&task=1201000000001001&user=1201000000000012&locale=en&attachment=1201000000002004" +
		"&resource_url=https%3A%2F%2Fwww.dropbox.com%2Fs%2Facmedemo%2Fpress-kit.zip%3Fdl%3D0&expires_at=2019-04-15T01%3A01%3A46.055Z"
	if diff := cmp.Diff("https://app.example/widget?"+wantQuery, p.URL); diff != "" {
		t.Errorf("URL (-want +got):\n%s", diff)
	}
	if p.Signature != Sign("demo-secret", wantQuery) {
		t.Errorf("signature %s does not sign the query", p.Signature)
	}
	// POST: the signature covers the data string exactly.
	p, err = s.prepare(AppCall{Kind: CallAttach, User: seed.Users["alice"], Task: seed.Tasks[0].GID, Query: "DEMO-1"})
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Data string }
	if err := json.Unmarshal([]byte(p.Body), &env); err != nil {
		t.Fatal(err)
	}
	if p.Signature != Sign("demo-secret", env.Data) {
		t.Errorf("POST signature does not sign the data string")
	}
	var inner map[string]any
	if err := json.Unmarshal([]byte(env.Data), &inner); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"workspace": seed.Workspace, "user": seed.Users["alice"], "task": seed.Tasks[0].GID,
		"query": "DEMO-1", "attachment": p.Attachment, "expires_at": "2019-04-15T01:01:46.055Z"}
	if diff := cmp.Diff(want, inner); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

func TestCallApp(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, "app-secret")
	s, _ := newTestServer(t, Options{App: app.registration()})
	seed := s.Seed()
	ctx := t.Context()
	alice, task := seed.Users["alice"], seed.Tasks[2].GID

	// Modal form: metadata, a watched change, a failed and a good submit.
	res := mustCall(t, s, AppCall{Kind: CallFormMetadata, User: alice, Task: task})
	var form struct {
		Metadata struct {
			Fields []map[string]any
		}
	}
	if err := json.Unmarshal(res.Body, &form); err != nil {
		t.Fatal(err)
	}
	if len(form.Metadata.Fields) != 10 {
		t.Fatalf("form has %d fields", len(form.Metadata.Fields))
	}
	res = mustCall(t, s, AppCall{Kind: CallFormChange, URL: app.URL + "/form/change", User: alice, Task: task,
		Values: map[string]any{"issue_type": "bug"}, ChangedField: "issue_type"})
	if err := json.Unmarshal(res.Body, &form); err != nil {
		t.Fatal(err)
	}
	if len(form.Metadata.Fields) != 11 {
		t.Errorf("on_change did not add a field: %d", len(form.Metadata.Fields))
	}
	res, err := s.CallApp(ctx, AppCall{Kind: CallFormSubmit, URL: app.URL + "/form/submit", User: alice, Task: task, Values: map[string]any{}})
	if err != nil || res.Status != 400 || res.Invalid != nil || res.Attachment != "" {
		t.Fatalf("empty submit: %+v %v", res, err)
	}
	res = mustCall(t, s, AppCall{Kind: CallFormSubmit, URL: app.URL + "/form/submit", User: alice, Task: task,
		Values: map[string]any{"summary": "Checkout logs users out"}})
	if res.Attachment == "" {
		t.Fatalf("submit created no attachment")
	}
	atts := s.Attachments(task)
	if len(atts) != 1 || atts[0].URL != "https://jira.example/browse/DEMO-7" || !atts[0].ConnectedToApp || atts[0].Name != "DEMO-7: Checkout logs users out" {
		t.Errorf("attachments after submit: %+v", atts)
	}

	// Widget for the new attachment.
	res = mustCall(t, s, AppCall{Kind: CallWidget, User: alice, Attachment: res.Attachment})
	if !strings.Contains(string(res.Body), "DEMO-7: Checkout page logs users out") {
		t.Errorf("widget: %s", res.Body)
	}
	// Lookup: typeahead then attach.
	res = mustCall(t, s, AppCall{Kind: CallLookupTypeahead, User: alice, Task: task, Query: "demo-1"})
	if !strings.Contains(string(res.Body), "DEMO-12") {
		t.Errorf("typeahead: %s", res.Body)
	}
	mustCall(t, s, AppCall{Kind: CallAttach, User: alice, Task: task, Query: "DEMO-1"})
	if got := len(s.Attachments(task)); got != 2 {
		t.Errorf("attach: %d attachments", got)
	}
	res, _ = s.CallApp(ctx, AppCall{Kind: CallAttach, User: alice, Task: task, Query: "nope"})
	if res.Status != 400 || res.Invalid != nil {
		t.Errorf("bad attach: %+v", res)
	}

	// Rule actions: metadata, change, submit saves the rule, run.
	mustCall(t, s, AppCall{Kind: CallActionMetadata, User: alice, Project: seed.Project, ActionType: "create_issue"})
	mustCall(t, s, AppCall{Kind: CallActionChange, URL: app.URL + "/rule/change", User: alice, Project: seed.Project,
		ActionType: "create_issue", Values: map[string]any{"jira_project": "DEMO"}, ChangedField: "jira_project"})
	mustCall(t, s, AppCall{Kind: CallActionSubmit, URL: app.URL + "/rule/submit", User: alice, Project: seed.Project,
		ActionType: "create_issue", RuleName: "Bugs to Jira", Values: map[string]any{"jira_project": "DEMO"}})
	rules := s.Rules()
	if len(rules) != 1 || rules[0].Name != "Bugs to Jira" {
		t.Fatalf("rules: %+v", rules)
	}
	res = mustCall(t, s, AppCall{Kind: CallRunAction, User: alice, Project: seed.Project, Task: task,
		Action: rules[0].GID, ActionType: "create_issue", IdempotencyKey: "k1"})
	if !strings.Contains(string(res.Body), "resources_created") {
		t.Errorf("run: %s", res.Body)
	}

	// What the app received: browser calls carry the emulator's Origin, the
	// run action call does not; the run carries its idempotency key.
	for _, r := range app.received() {
		browser := r.Path != "/rule/run"
		if got := r.Origin != ""; got != browser {
			t.Errorf("%s: Origin %q", r.Path, r.Origin)
		}
		if r.Path == "/rule/run" && r.Payload["idempotency_key"] != "k1" {
			t.Errorf("run payload: %v", r.Payload)
		}
	}
}

func mustCall(t *testing.T, s *Server, c AppCall) *AppResponse {
	t.Helper()
	res, err := s.CallApp(t.Context(), c)
	if err != nil {
		t.Fatalf("%s: %v", c.Kind, err)
	}
	if res.Status != 200 || res.Invalid != nil {
		t.Fatalf("%s: status %d invalid %v: %s", c.Kind, res.Status, res.Invalid, res.Body)
	}
	return res
}

func TestCallAppRejections(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, "app-secret")
	tests := []struct {
		name   string
		app    func(AppRegistration) AppRegistration
		faults Faults
		status int
	}{
		{"wrong secret", func(r AppRegistration) AppRegistration { r.ClientSecret = "other"; return r }, Faults{}, 401},
		{"clock skew expires the request", func(r AppRegistration) AppRegistration { return r }, Faults{ClockSkewSeconds: -3600}, 408},
		{"invalid widget", func(r AppRegistration) AppRegistration { r.WidgetMetadataURL = app.URL + "/bad/widget"; return r }, Faults{}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs strings.Builder
			var mu sync.Mutex
			s, _ := newTestServer(t, Options{App: tc.app(app.registration()), Logger: newLogger(&logs, &mu)})
			if err := s.SetFaults(tc.faults); err != nil {
				t.Fatal(err)
			}
			seed := s.Seed()
			res, err := s.CallApp(t.Context(), AppCall{Kind: CallWidget, User: seed.Users["bob"], Attachment: seed.Tasks[0].Attachments["Press kit (Dropbox)"]})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status {
				t.Errorf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			if tc.name == "invalid widget" {
				if res.Invalid == nil || !strings.Contains(res.Invalid.Error(), "rainbow") {
					t.Errorf("Invalid = %v", res.Invalid)
				}
				mu.Lock()
				defer mu.Unlock()
				if !strings.Contains(logs.String(), "rainbow") {
					t.Errorf("validation error not logged: %s", logs.String())
				}
			}
		})
	}
}

// TestAppValidatorAgreesWithSpec checks the emulator's stdlib validator
// against kin-openapi on app_components_oas.yaml for answers both judge.
func TestAppValidatorAgreesWithSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromFile(specPath("app_components_oas.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	schema := func(name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	tests := []struct {
		name, schema string
		kind         AppCallKind
		body         string
		valid        bool
	}{
		{"widget", "WidgetMetadataResponse", CallWidget, `{"template":"summary_with_details_v0","metadata":{"title":"T","fields":[{"type":"pill","name":"S","text":"x","color":"red"}],"footer":{"footer_type":"updated","last_updated_at":"2026-01-01T00:00:00Z"}}}`, true},
		{"widget bad template", "WidgetMetadataResponse", CallWidget, `{"template":"other","metadata":{"title":"T","fields":[],"footer":{}}}`, false},
		{"widget no footer", "WidgetMetadataResponse", CallWidget, `{"template":"summary_with_details_v0","metadata":{"title":"T","fields":[{"type":"pill","name":"S","text":"x","color":"red"}]}}`, false},
		{"form", "FormMetadataResponse", CallFormMetadata, `{"template":"form_metadata_v0","metadata":{"title":"F","fields":[{"type":"single_line_text","id":"a"}]}}`, true},
		{"form no title", "FormMetadataResponse", CallFormMetadata, `{"template":"form_metadata_v0","metadata":{"fields":[]}}`, false},
		{"typeahead", "TypeaheadListResponse", CallLookupTypeahead, `{"items":[{"title":"A","value":"a"}]}`, true},
		{"typeahead no items", "TypeaheadListResponse", CallLookupTypeahead, `{"header":"h"}`, false},
		{"attached", "AttachedResourceResponse", CallAttach, `{"resource_name":"n","resource_url":"u"}`, true},
		{"attached no url", "AttachedResourceResponse", CallAttach, `{"resource_name":"n"}`, false},
		{"ran", "RanActionResponse", CallRunAction, `{"action_result":"ok"}`, true},
		{"ran bad result", "RanActionResponse", CallRunAction, `{"action_result":"maybe"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v any
			if err := json.Unmarshal([]byte(tc.body), &v); err != nil {
				t.Fatal(err)
			}
			specErr := schema(tc.schema).VisitJSON(v)
			ours := validateAppResponse(tc.kind, 200, []byte(tc.body))
			if (specErr == nil) != tc.valid {
				t.Errorf("kin-openapi says %v, want valid=%v", specErr, tc.valid)
			}
			if (ours == nil) != tc.valid {
				t.Errorf("emulator says %v, want valid=%v", ours, tc.valid)
			}
		})
	}
}
