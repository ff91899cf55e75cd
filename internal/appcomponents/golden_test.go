package appcomponents_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// specPath is Asana's App Components OpenAPI file, kept in the repository
// (internal/testdata/README.md says where it comes from).
var specPath = filepath.Join("..", "testdata", "asana", "app_components_oas.yaml")

// TestGoldenResponses records what each endpoint sends Asana in one flow on
// Jira 9.12, compares it with testdata/*.golden.json (go test -update
// rewrites them), and validates every answer against its schema in
// app_components_oas.yaml with kin-openapi.
func TestGoldenResponses(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{version: "9.12.0"})
	task := e.seed.Tasks[0].GID
	values := map[string]any{"project": "OPS", "issuetype": "10002", "summary": "Write the launch announcement"}
	steps := []struct {
		name   string
		schema string
		status int
		call   fakeasana.AppCall
	}{
		{"form_metadata", "FormMetadataResponse", 200, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, Task: task}},
		{"form_on_change", "FormMetadataResponse", 200, fakeasana.AppCall{Kind: fakeasana.CallFormChange, URL: e.appURL + "/asana/form/change", Task: task, Values: values, ChangedField: "project"}},
		{"form_submit_errors", "FormMetadataResponse", 400, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: task, Values: values}},
		{"form_user_typeahead", "TypeaheadListResponse", 200, fakeasana.AppCall{Kind: fakeasana.CallFormTypeahead, URL: e.appURL + "/asana/form/typeahead?kind=user&project=OPS&server=" + e.server.ID, Task: task, Query: "a"}},
		{"form_submit", "AttachedResourceResponse", 200, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: task, Values: merge(values, map[string]any{"customfield_10200": "10300"})}},
		{"lookup_typeahead", "TypeaheadListResponse", 200, fakeasana.AppCall{Kind: fakeasana.CallLookupTypeahead, Task: task, Query: "DEMO-"}},
		{"lookup_attach", "AttachedResourceResponse", 200, fakeasana.AppCall{Kind: fakeasana.CallAttach, Task: e.seed.Tasks[1].GID, Query: "DEMO-2"}},
		{"lookup_attach_error", "BadRequestResponse", 400, fakeasana.AppCall{Kind: fakeasana.CallAttach, Task: e.seed.Tasks[2].GID, Query: "not a key"}},
		{"unauthorized", "UnauthorizedResponse", 401, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, User: e.bob, Task: task}},
		{"action_metadata", "FormMetadataResponse", 200, fakeasana.AppCall{Kind: fakeasana.CallActionMetadata, Project: e.seed.Project, ActionType: "create_jira_issue"}},
		{"action_submit", "", 200, fakeasana.AppCall{Kind: fakeasana.CallActionSubmit, URL: e.appURL + "/asana/rule/submit", Project: e.seed.Project, ActionType: "create_jira_issue", Values: map[string]any{"project": "DEMO", "issuetype": "10002"}}},
		{"run_action", "RanActionResponse", 200, fakeasana.AppCall{Kind: fakeasana.CallRunAction, Project: e.seed.Project, ActionType: "create_jira_issue", Action: "rule-1", Task: e.seed.Tasks[2].GID, IdempotencyKey: "k1"}},
		{"run_action_gone", "", 410, fakeasana.AppCall{Kind: fakeasana.CallRunAction, Project: "none", ActionType: "create_jira_issue", Action: "rule-x", Task: e.seed.Tasks[2].GID, IdempotencyKey: "k2"}},
	}
	var widgetAttachment string
	for _, s := range steps {
		r := e.call(t, s.call)
		if s.name == "form_submit" {
			widgetAttachment = r.Attachment
		}
		check(t, doc, s.name, s.schema, s.status, r, e)
	}
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallWidget, Attachment: widgetAttachment})
	check(t, doc, "widget", "WidgetMetadataResponse", 200, r, e)
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

var timestamps = regexp.MustCompile(`"(last_updated_at|datetime)":"[^"]*"`)

func check(t *testing.T, doc *openapi3.T, name, schema string, status int, r *fakeasana.AppResponse, e *env) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d: %s", name, r.Status, status, r.Body)
		return
	}
	if status < 300 && r.Invalid != nil {
		t.Errorf("%s: the emulator's validator refuses it: %v", name, r.Invalid)
	}
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Errorf("%s: not JSON: %v", name, err)
		return
	}
	if schema != "" {
		if err := doc.Components.Schemas[schema].Value.VisitJSON(v); err != nil {
			t.Errorf("%s: does not match %s: %v", name, schema, err)
		}
	} else if m, ok := v.(map[string]any); status >= 400 && (!ok || m["error"] == nil) {
		t.Errorf("%s: error body without error: %s", name, r.Body)
	}
	// Ports, ids and times change per run; the golden files hold stable text.
	norm := strings.NewReplacer(e.appURL, "https://asanajira.example", e.jiraURL, "https://jira.example/jira",
		e.asanaURL, "https://app.asana.example", "server="+e.server.ID, "server=SERVER").Replace(string(r.Body))
	norm = timestamps.ReplaceAllString(norm, `"$1":"TIME"`)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(norm), "", "  "); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (run go test -update)", name, err)
	}
	if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
		t.Errorf("%s differs from %s (-want +got):\n%s", name, path, diff)
	}
	_ = http.StatusOK
}
