package jira

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFieldChangelogItems: each field the sync maps (summary, due date,
// priority, assignee, status) leaves a changelog item in Jira's format:
// user keys with display names, due dates as the day with the timestamp
// Jira shows, status and priority by id with their names.
func TestFieldChangelogItems(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Version: "9.12.0"})
	b := base(s, ts)
	alice := basic("alice")
	created := call(t, "POST", b+"/rest/api/2/issue", map[string]any{"fields": map[string]any{"project": map[string]any{"key": "DEMO"},
		"issuetype": map[string]any{"name": "Task"}, "summary": "Fresh"}}, alice...).json(t)
	key := created["key"].(string)
	edit := func(fields map[string]any) {
		t.Helper()
		if r := call(t, "PUT", b+"/rest/api/2/issue/"+key, map[string]any{"fields": fields}, alice...); r.status != 204 {
			t.Fatalf("edit %v: %d %s", fields, r.status, r.body)
		}
	}
	before := len(call(t, "GET", b+"/rest/api/2/issue/"+key+"?fields=summary&expand=changelog", nil, alice...).json(t)["changelog"].(map[string]any)["histories"].([]any))
	old, _ := s.Issue(key)
	edit(map[string]any{"summary": "Renamed"})
	edit(map[string]any{"duedate": "2026-12-01"})
	edit(map[string]any{"duedate": "2026-12-24"})
	edit(map[string]any{"duedate": nil})
	edit(map[string]any{"priority": map[string]any{"name": "High"}})
	edit(map[string]any{"assignee": map[string]any{"name": "bob"}})
	if err := s.TransitionIssue(key, "In Progress", "alice"); err != nil {
		t.Fatal(err)
	}
	hs := call(t, "GET", b+"/rest/api/2/issue/"+key+"?fields=summary&expand=changelog", nil, alice...).json(t)["changelog"].(map[string]any)["histories"].([]any)
	var got []map[string]any
	for _, h := range hs[before:] {
		if a := h.(map[string]any)["author"].(map[string]any)["name"]; a != "alice" {
			t.Errorf("author %v", a)
		}
		for _, it := range h.(map[string]any)["items"].([]any) {
			got = append(got, it.(map[string]any))
		}
	}
	bob := s.userByName("bob")
	var oldAssignee any
	var oldAssigneeName any
	if old.Assignee != "" {
		u := s.userByName(old.Assignee)
		oldAssignee, oldAssigneeName = u.key, u.displayName
	}
	want := []map[string]any{
		{"field": "summary", "fieldtype": "jira", "from": nil, "fromString": old.Summary, "to": nil, "toString": "Renamed"},
		{"field": "duedate", "fieldtype": "jira", "from": nilIfEmpty(old.DueDate), "fromString": dueString(old.DueDate), "to": "2026-12-01", "toString": "2026-12-01 00:00:00.0"},
		{"field": "duedate", "fieldtype": "jira", "from": "2026-12-01", "fromString": "2026-12-01 00:00:00.0", "to": "2026-12-24", "toString": "2026-12-24 00:00:00.0"},
		{"field": "duedate", "fieldtype": "jira", "from": "2026-12-24", "fromString": "2026-12-24 00:00:00.0", "to": nil, "toString": nil},
		{"field": "priority", "fieldtype": "jira", "from": "3", "fromString": "Medium", "to": "2", "toString": "High"},
		{"field": "assignee", "fieldtype": "jira", "from": oldAssignee, "fromString": oldAssigneeName, "to": bob.key, "toString": bob.displayName},
		{"field": "status", "fieldtype": "jira", "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changelog items (-want +got):\n%s", diff)
	}
}
