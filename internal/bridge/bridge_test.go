package bridge

import (
	"testing"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

func TestJiraValue(t *testing.T) {
	t.Parallel()
	f := func(id, typ, items, custom string) jira.CreateField {
		return jira.CreateField{ID: id, Name: id, Schema: jira.FieldSchema{Type: typ, Items: items, Custom: custom}}
	}
	sel := f("customfield_1", "option", "", "com.atlassian.jira.plugin.system.customfieldtypes:select")
	sel.AllowedValues = []jira.AllowedValue{{ID: "10"}}
	tests := []struct {
		name    string
		field   jira.CreateField
		values  Values
		want    any
		wantErr bool
	}{
		{"text", f("summary", "string", "", ""), Values{"summary": " Hi "}, "Hi", false},
		{"empty is unset", f("summary", "string", "", ""), Values{}, nil, false},
		{"number", f("customfield_2", "number", "", ""), Values{"customfield_2": "3,5"}, 3.5, false},
		{"not a number", f("customfield_2", "number", "", ""), Values{"customfield_2": "three"}, nil, true},
		{"select", sel, Values{"customfield_1": "10"}, map[string]any{"id": "10"}, false},
		{"labels", f("labels", "array", "string", ""), Values{"labels": "a, b c"}, []any{"a", "b", "c"}, false},
		{"checkbox", f("components", "array", "component", ""), Values{"components": []any{"1", "2"}}, []any{map[string]any{"id": "1"}, map[string]any{"id": "2"}}, false},
		{"user typeahead", f("assignee", "user", "", ""), Values{"assignee": map[string]any{"title": "Alice", "value": "alice"}}, map[string]any{"name": "alice"}, false},
		{"date from ISO", f("duedate", "date", "", ""), Values{"duedate": "2026-03-02T00:00:00Z"}, "2026-03-02", false},
		{"datetime", f("customfield_3", "datetime", "", ""), Values{"customfield_3": "2026-03-02T10:00:00Z"}, "2026-03-02T10:00:00.000+0000", false},
		{"cascade", f("customfield_4", "option-with-child", "", ""), Values{"customfield_4": "1", "customfield_4__child": "2"}, map[string]any{"id": "1", "child": map[string]any{"id": "2"}}, false},
		{"parent", f("parent", "issuelink", "", ""), Values{"parent": "ops-1"}, map[string]any{"key": "OPS-1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := jiraValue(tc.field, tc.values)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeyFromInput(t *testing.T) {
	t.Parallel()
	s := New(Config{DownloadHosts: []string{"files.example", "127.0.0.1:8080"}})
	srv := store.JiraServer{BaseURL: "https://jira.example.com/jira"}
	tests := map[string]string{
		"OPS-12": "OPS-12", "ops-12": "OPS-12",
		"https://jira.example.com/jira/browse/OPS-7":                            "OPS-7",
		"https://jira.example.com/jira/projects/OPS/issues?selectedIssue=OPS-9": "OPS-9",
		"https://evil.example.com/jira/browse/OPS-7":                            "",
		"https://jira.example.com/other/browse/OPS-7":                           "",
		"OPS": "",
	}
	for in, want := range tests {
		got, _ := s.keyFromInput(srv, in)
		if got != want {
			t.Errorf("keyFromInput(%q) = %q, want %q", in, got, want)
		}
	}
	for host, want := range map[string]bool{"files.example": true, "files.example:443": true, "files.example:8443": false, "127.0.0.1:8080": true, "127.0.0.1:9090": false, "169.254.169.254": false} {
		if got := s.allowedHost(host); got != want {
			t.Errorf("allowedHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestWikiFromAsana(t *testing.T) {
	t.Parallel()
	got := WikiFromAsana("Line {code}\r\nsee [link] | pipe")
	if want := `Line \{code\}` + "\n" + `see \[link\] \| pipe`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
