package jira

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestIssueProperties: an issue keeps entity properties (written on create
// or with PUT, read one by one, listed, selected on GET issue, deleted);
// reading needs the issue to be visible, writing Edit Issues.
func TestIssueProperties(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	alice := basic("alice")
	p := b + "/rest/api/2/issue/DEMO-1/properties/asanajira"
	if r := call(t, "PUT", p, []byte(`{"fingerprint":"f1"}`), append(alice, "Content-Type", "application/json")...); r.status != 201 {
		t.Fatalf("create property: %d %s", r.status, r.body)
	}
	if r := call(t, "PUT", p, []byte(`{"fingerprint":"f2"}`), append(alice, "Content-Type", "application/json")...); r.status != 200 {
		t.Fatalf("update property: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff(map[string]any{"key": "asanajira", "value": map[string]any{"fingerprint": "f2"}}, call(t, "GET", p, nil, alice...).json(t)); diff != "" {
		t.Errorf("GET property (-want +got):\n%s", diff)
	}
	keys := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/properties", nil, alice...).json(t)
	if diff := cmp.Diff(map[string]any{"keys": []any{map[string]any{"key": "asanajira", "self": b + "/rest/api/2/issue/10001/properties/asanajira"}}}, keys); diff != "" {
		t.Errorf("property keys (-want +got):\n%s", diff)
	}
	for spec, want := range map[string]any{"*all": map[string]any{"asanajira": map[string]any{"fingerprint": "f2"}}, "other": map[string]any{},
		"*all,-asanajira": map[string]any{}} {
		if got := call(t, "GET", b+"/rest/api/2/issue/DEMO-1?fields=summary&properties="+url.QueryEscape(spec), nil, alice...).json(t)["properties"]; !cmp.Equal(want, got) {
			t.Errorf("properties=%s: %v", spec, got)
		}
	}
	if _, ok := call(t, "GET", b+"/rest/api/2/issue/DEMO-1?fields=summary", nil, alice...).json(t)["properties"]; ok {
		t.Error("properties without ?properties=")
	}
	if is, _ := s.Issue("DEMO-1"); string(is.Properties["asanajira"]) != `{"fingerprint":"f2"}` {
		t.Errorf("snapshot: %s", is.Properties)
	}
	refusals := []struct {
		who, method, url, body string
		status                 int
		want                   string
	}{
		{"alice", "PUT", p, `{"fingerprint":`, 400, "valid JSON"},
		{"alice", "PUT", p, ``, 400, "valid JSON"},
		{"alice", "PUT", b + "/rest/api/2/issue/DEMO-1/properties/" + strings.Repeat("k", 256), `1`, 400, "255"},
		{"alice", "PUT", p, `"` + strings.Repeat("x", 32768) + `"`, 400, "32768"},
		{"bob", "GET", b + "/rest/api/2/issue/OPS-1/properties", "", 403, noPermission},
		{"bob", "PUT", b + "/rest/api/2/issue/DEMO-4/properties/x", `1`, 403, noPermission},
		{"alice", "GET", b + "/rest/api/2/issue/DEMO-1/properties/nope", "", 404, "The property with key 'nope' does not exist."},
	}
	for _, tc := range refusals {
		if r := call(t, tc.method, tc.url, []byte(tc.body), append(basic(tc.who), "Content-Type", "application/json")...); r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s %s %.80s: %d %s", tc.who, tc.method, tc.url, r.status, r.body)
		}
	}
	// Without Edit Issues, properties can be read but not written.
	if err := s.SetProjectRole("DEMO", "Developers", []string{"alice"}, nil); err != nil {
		t.Fatal(err)
	}
	if r := call(t, "GET", p, nil, basic("bob")...); r.status != 200 {
		t.Errorf("bob reads: %d", r.status)
	}
	if r := call(t, "DELETE", p, nil, basic("bob")...); r.status != 403 {
		t.Errorf("bob deletes: %d", r.status)
	}
	if r := call(t, "DELETE", p, nil, alice...); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", p, nil, alice...); r.status != 404 {
		t.Errorf("delete again: %d", r.status)
	}

	// A new issue can carry properties from its creation.
	r := call(t, "POST", b+"/rest/api/2/issue", map[string]any{"fields": map[string]any{"project": map[string]any{"key": "DEMO"},
		"issuetype": map[string]any{"name": "Task"}, "summary": "x"}, "properties": []any{map[string]any{"key": "asanajira", "value": map[string]any{"task": "1"}}}}, alice...)
	key, _ := r.json(t)["key"].(string)
	if got := call(t, "GET", b+"/rest/api/2/issue/"+key+"/properties/asanajira", nil, alice...).json(t)["value"]; !cmp.Equal(map[string]any{"task": "1"}, got) {
		t.Errorf("property from the create: %d %v", r.status, got)
	}
}

// TestCommentProperties: a comment keeps properties written with it (as
// the effects ledger writes its fingerprint) or later, read with
// expand=properties or /comment/{id}/properties, as visible as the comment.
func TestCommentProperties(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	alice := basic("alice")
	r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/comment?expand=properties", map[string]any{"body": "mirrored",
		"properties": []any{map[string]any{"key": "asanajira", "value": map[string]any{"fingerprint": "abc"}}}}, alice...)
	c := r.json(t)
	id, _ := c["id"].(string)
	want := []any{map[string]any{"key": "asanajira", "value": map[string]any{"fingerprint": "abc"}}}
	if r.status != 201 || !cmp.Equal(want, c["properties"]) {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if got := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/comment/"+id+"?expand=properties", nil, alice...).json(t)["properties"]; !cmp.Equal(want, got) {
		t.Errorf("GET comment expand=properties: %v", got)
	}
	if _, ok := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/comment/"+id, nil, alice...).json(t)["properties"]; ok {
		t.Error("properties without expand")
	}
	list := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/comment?expand=properties", nil, alice...).json(t)["comments"].([]any)
	if got := list[len(list)-1].(map[string]any)["properties"]; !cmp.Equal(want, got) || !cmp.Equal([]any{}, list[0].(map[string]any)["properties"]) {
		t.Errorf("list expand=properties: %v", list)
	}
	p := b + "/rest/api/2/comment/" + id + "/properties"
	if got := call(t, "GET", p+"/asanajira", nil, basic("bob")...).json(t); !cmp.Equal(want[0], got) {
		t.Errorf("GET comment property: %v", got)
	}
	// Only who may edit the comment writes its properties.
	if r := call(t, "PUT", p+"/other", []byte(`true`), basic("bob")...); r.status != 403 {
		t.Errorf("bob writes alice's comment property: %d", r.status)
	}
	if r := call(t, "PUT", p+"/other", []byte(`true`), alice...); r.status != 201 {
		t.Errorf("alice writes: %d %s", r.status, r.body)
	}
	if r := call(t, "PUT", p+"/other", []byte(`false`), basic("admin")...); r.status != 200 {
		t.Errorf("admin (Edit All Comments) writes: %d %s", r.status, r.body)
	}
	if keys := call(t, "GET", p, nil, alice...).json(t)["keys"].([]any); len(keys) != 2 {
		t.Errorf("keys: %v", keys)
	}
	if is, _ := s.Issue("DEMO-1"); string(is.Comments[len(is.Comments)-1].Properties["other"]) != "false" {
		t.Errorf("snapshot: %+v", is.Comments)
	}
	// A restricted comment's properties are as hidden as the comment.
	hidden := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/comment", map[string]any{"body": "admins",
		"visibility": map[string]any{"type": "group", "value": "jira-administrators"},
		"properties": []any{map[string]any{"key": "k", "value": 1}}}, basic("admin")...).json(t)["id"].(string)
	for _, tc := range []struct{ method, url string }{{"GET", "/rest/api/2/comment/" + hidden + "/properties"}, {"GET", "/rest/api/2/comment/" + hidden + "/properties/k"},
		{"PUT", "/rest/api/2/comment/" + hidden + "/properties/k"}, {"GET", "/rest/api/2/comment/99999/properties"}} {
		if r := call(t, tc.method, b+tc.url, []byte(`2`), alice...); r.status != 404 {
			t.Errorf("alice %s %s: %d", tc.method, tc.url, r.status)
		}
	}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/comment", map[string]any{"body": "x", "properties": []any{map[string]any{"key": "", "value": 1}}}, alice...); r.status != 400 {
		t.Errorf("empty property key: %d %s", r.status, r.body)
	}
}

// TestJQLDatesInCallersZone: absolute JQL dates are read in the calling
// user's time zone (its /myself timeZone), relative ones from now.
func TestJQLDatesInCallersZone(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s, ts := start(t, Options{Now: func() time.Time { return now }})
	b := base(s, ts)
	r := call(t, "POST", b+"/rest/api/2/issue", map[string]any{"fields": map[string]any{"project": map[string]any{"key": "DEMO"},
		"issuetype": map[string]any{"name": "Task"}, "summary": "At noon UTC"}}, basic("admin")...)
	key := r.json(t)["key"].(string)
	tests := []struct {
		who, zone, since string
		found            bool
	}{
		{"admin", "Etc/UTC", "2025-03-01 12:00", true},
		{"admin", "Etc/UTC", "2025-03-01 12:01", false},
		{"alice", "Europe/Paris", "2025-03-01 13:00", true},  // 12:00 UTC
		{"alice", "Europe/Paris", "2025-03-01 13:01", false}, // 12:01 UTC
		{"bob", "America/New_York", "2025-03-01 07:00", true},
		{"bob", "America/New_York", "2025-03-01 07:01", false},
		{"bob", "America/New_York", "2025/03/01 07:01", false},
		{"alice", "Europe/Paris", "2025-03-01", true}, // midnight in Paris
		{"alice", "Europe/Paris", "-1m", true},
	}
	for _, tc := range tests {
		if z := call(t, "GET", b+"/rest/api/2/myself", nil, basic(tc.who)...).json(t)["timeZone"]; z != tc.zone {
			t.Errorf("%s's timeZone = %v", tc.who, z)
		}
		jql := `key = ` + key + ` AND created >= "` + tc.since + `"`
		r := call(t, "GET", b+"/rest/api/2/search?jql="+url.QueryEscape(jql), nil, basic(tc.who)...)
		if got := r.json(t)["total"] == 1.0; r.status != 200 || got != tc.found {
			t.Errorf("%s %s: %d %s", tc.who, jql, r.status, r.body)
		}
	}
}

// TestEditmeta: the edit screen is its own (environment and comment, no
// project, issue type or parent) and shows what the caller may set.
func TestEditmeta(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	fieldIDs := func(m map[string]any) []string {
		var ids []string
		for id := range m["fields"].(map[string]any) {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}
	base := []string{"assignee", "comment", "components", "customfield_10100", "description", "duedate", "environment", "fixVersions", "labels", "priority", "summary"}
	tests := []struct {
		who, key string
		want     []string
	}{
		{"alice", "DEMO-2", base},
		{"admin", "DEMO-2", slices.Sorted(slices.Values(append(slices.Clone(base), "reporter", "security")))},
		{"alice", "OPS-1", slices.Sorted(slices.Values(append(slices.Clone(base), FieldSeverity)))},
	}
	for _, tc := range tests {
		em := call(t, "GET", b+"/rest/api/2/issue/"+tc.key+"/editmeta", nil, basic(tc.who)...).json(t)
		if diff := cmp.Diff(tc.want, fieldIDs(em)); diff != "" {
			t.Errorf("%s editmeta of %s (-want +got):\n%s", tc.who, tc.key, diff)
		}
		expanded := call(t, "GET", b+"/rest/api/2/issue/"+tc.key+"?fields=summary&expand=editmeta", nil, basic(tc.who)...).json(t)["editmeta"].(map[string]any)
		if diff := cmp.Diff(em, expanded); diff != "" {
			t.Errorf("expand=editmeta differs (-editmeta +expand):\n%s", diff)
		}
	}
	em := call(t, "GET", b+"/rest/api/2/issue/DEMO-2/editmeta", nil, basic("alice")...).json(t)["fields"].(map[string]any)
	if c := em["comment"].(map[string]any); !cmp.Equal([]any{"add"}, c["operations"]) {
		t.Errorf("comment meta: %v", c)
	}
	if sum := em["summary"].(map[string]any); sum["required"] != true || sum["key"] != "summary" {
		t.Errorf("summary meta: %v", sum)
	}
	// The edit screen decides what PUT may set.
	if r := call(t, "PUT", b+"/rest/api/2/issue/DEMO-2", map[string]any{"fields": map[string]any{"environment": "Safari 17"}}, basic("alice")...); r.status != 204 {
		t.Errorf("edit environment: %d %s", r.status, r.body)
	}
	if is, _ := s.Issue("DEMO-2"); is.Environment != "Safari 17" {
		t.Errorf("environment = %q", is.Environment)
	}
	for field, v := range map[string]any{"project": map[string]any{"key": "OPS"}, "issuetype": map[string]any{"name": "Task"}, "reporter": map[string]any{"name": "alice"}} {
		if r := call(t, "PUT", b+"/rest/api/2/issue/DEMO-2", map[string]any{"fields": map[string]any{field: v}}, basic("alice")...); r.status != 400 || !strings.Contains(string(r.body), notOnScreen(field)) {
			t.Errorf("edit %s: %d %s", field, r.status, r.body)
		}
	}
	if err := s.SetProjectRole("DEMO", "Developers", []string{"alice"}, nil); err != nil {
		t.Fatal(err)
	}
	if em := call(t, "GET", b+"/rest/api/2/issue/DEMO-2/editmeta", nil, basic("bob")...).json(t); len(em["fields"].(map[string]any)) != 0 {
		t.Errorf("editmeta without Edit Issues: %v", em)
	}
}

// TestEditAddsComment: PUT issue with update.comment[].add comments, with
// the comment's restriction, and refuses a restriction Jira refuses.
func TestEditAddsComment(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	add := func(comment map[string]any) resp {
		return call(t, "PUT", b+"/rest/api/2/issue/DEMO-2", map[string]any{"update": map[string]any{"comment": []any{map[string]any{"add": comment}}}}, basic("alice")...)
	}
	if r := add(map[string]any{"body": "devs only", "visibility": map[string]any{"type": "role", "value": "Developers"}}); r.status != 204 {
		t.Fatalf("edit with comment: %d %s", r.status, r.body)
	}
	is, _ := s.Issue("DEMO-2")
	if len(is.Comments) != 1 || is.Comments[0].Body != "devs only" || is.Comments[0].Visibility == nil || is.Comments[0].Author != "alice" {
		t.Errorf("comments: %+v", is.Comments)
	}
	if r := add(map[string]any{"body": "x", "visibility": map[string]any{"type": "group", "value": "jira-administrators"}}); r.status != 400 || !strings.Contains(string(r.body), "commentLevel") {
		t.Errorf("refused restriction: %d %s", r.status, r.body)
	}
	if r := add(map[string]any{"body": ""}); r.status != 400 {
		t.Errorf("empty comment: %d %s", r.status, r.body)
	}
	if r := call(t, "PUT", b+"/rest/api/2/issue/DEMO-2", map[string]any{"update": map[string]any{"comment": []any{map[string]any{"set": "x"}}}}, basic("alice")...); r.status != 400 {
		t.Errorf("comment set: %d %s", r.status, r.body)
	}
	if is, _ := s.Issue("DEMO-2"); len(is.Comments) != 1 {
		t.Errorf("refused edits added comments: %+v", is.Comments)
	}
}

// TestAssigneeAndChangelogKeys: {"name": null} and null unassign, "-1"
// picks the project's default assignee, and the changelog names people by
// user key (the name before 8.3) with display names.
func TestAssigneeAndChangelogKeys(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"7.13.5", "9.12.0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{Version: v})
			b := base(s, ts)
			alice := basic("alice")
			assign := func(key, body string) {
				t.Helper()
				if r := call(t, "PUT", b+"/rest/api/2/issue/"+key+"/assignee", []byte(body), append(alice, "Content-Type", "application/json")...); r.status != 204 {
					t.Fatalf("assign %s %s: %d %s", key, body, r.status, r.body)
				}
			}
			assignee := func(key string) string { is, _ := s.Issue(key); return is.Assignee }
			assign("DEMO-2", `{"name":null}`)
			if got := assignee("DEMO-2"); got != "" {
				t.Errorf(`after {"name":null}: %q`, got)
			}
			assign("DEMO-2", `{"name":"admin"}`)
			assign("DEMO-2", `{"name":"-1"}`) // DEMO's default: unassigned
			if got := assignee("DEMO-2"); got != "" {
				t.Errorf(`after "-1" in DEMO: %q`, got)
			}
			if err := s.SetDefaultAssignee("OPS", true); err != nil {
				t.Fatal(err)
			}
			assign("OPS-2", `{"name":"-1"}`) // OPS's default: its lead, alice
			if got := assignee("OPS-2"); got != "alice" {
				t.Errorf(`after "-1" in OPS: %q`, got)
			}
			if r := call(t, "PUT", b+"/rest/api/2/issue/OPS-2", map[string]any{"fields": map[string]any{"assignee": nil}}, alice...); r.status != 204 || assignee("OPS-2") != "" {
				t.Errorf("fields.assignee null: %d %s", r.status, r.body)
			}
			if r := call(t, "PUT", b+"/rest/api/2/issue/OPS-2/assignee", []byte(`{}`), append(alice, "Content-Type", "application/json")...); r.status != 400 {
				t.Errorf("assign {}: %d %s", r.status, r.body)
			}
			created := call(t, "POST", b+"/rest/api/2/issue", map[string]any{"fields": map[string]any{"project": map[string]any{"key": "OPS"},
				"issuetype": map[string]any{"name": "Story"}, "summary": "automatic"}}, alice...).json(t)
			if got := assignee(created["key"].(string)); got != "alice" {
				t.Errorf("create without assignee in OPS: %q", got)
			}

			hs := call(t, "GET", b+"/rest/api/2/issue/DEMO-2?fields=summary&expand=changelog", nil, alice...).json(t)["changelog"].(map[string]any)["histories"].([]any)
			var got []map[string]any
			for _, h := range hs {
				for _, it := range h.(map[string]any)["items"].([]any) {
					got = append(got, it.(map[string]any))
				}
			}
			key := func(n string) any { return s.userByName(n).key }
			want := []map[string]any{
				{"field": "assignee", "fieldtype": "jira", "from": key("alice"), "fromString": "Alice Anderson", "to": nil, "toString": nil},
				{"field": "assignee", "fieldtype": "jira", "from": nil, "fromString": nil, "to": key("admin"), "toString": "Administrator"},
				{"field": "assignee", "fieldtype": "jira", "from": key("admin"), "fromString": "Administrator", "to": nil, "toString": nil},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("changelog (-want +got):\n%s", diff)
			}
			if v == "9.12.0" && !strings.HasPrefix(key("admin").(string), "JIRAUSER") || v == "7.13.5" && key("admin") != "admin" {
				t.Errorf("user key on %s: %v", v, key("admin"))
			}
			if diff := cmp.Diff(keysOf(fixtureMore(t, "changelog-assignee-user-key.json")), keysOf(got[0])); diff != "" {
				t.Errorf("REST changelog item keys (-recorded +emitted):\n%s", diff)
			}
		})
	}
}

// TestUserSearchByEmail: user searches match the e-mail address, whole or
// its start, in any case, on every release.
func TestUserSearchByEmail(t *testing.T) {
	t.Parallel()
	for _, v := range Versions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{Version: v})
			b := base(s, ts)
			for path, want := range map[string][]string{
				"/rest/api/2/user/search?username=bob@example.com":                     {"bob"},
				"/rest/api/2/user/search?username=BOB%40EXAMPLE.COM":                   {"bob"},
				"/rest/api/2/user/search?username=alice@":                              {"alice"},
				"/rest/api/2/user/search?username=nobody@example.com":                  nil,
				"/rest/api/2/user/assignable/search?project=DEMO&username=bob@example": {"bob"},
				"/rest/api/2/user/assignable/search?project=OPS&username=bob@example":  nil,
			} {
				var got []string
				for _, u := range call(t, "GET", b+path, nil, basic("alice")...).list(t) {
					got = append(got, u.(map[string]any)["name"].(string))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
			}
			picked := call(t, "GET", b+"/rest/api/2/user/picker?query=alice@example.com", nil, basic("bob")...).json(t)
			if picked["total"] != 1.0 {
				t.Errorf("picker by e-mail: %v", picked)
			}
		})
	}
}
