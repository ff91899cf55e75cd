package jira

import (
	"bytes"
	"mime/multipart"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestVersionGates(t *testing.T) {
	t.Parallel()
	type want struct {
		pat, oauth2, newMeta, oldMeta, oldHooks, newHooks int
		adminKey                                          string
		health                                            bool
	}
	tests := map[string]want{
		"7.13.5": {pat: 404, oauth2: 404, newMeta: 404, oldMeta: 200, oldHooks: 200, newHooks: 404, adminKey: "admin", health: true},
		"8.5.0":  {pat: 404, oauth2: 404, newMeta: 200, oldMeta: 200, oldHooks: 200, newHooks: 404, adminKey: "JIRAUSER10000", health: true},
		"8.13.0": {pat: 404, oauth2: 404, newMeta: 200, oldMeta: 200, oldHooks: 200, newHooks: 404, adminKey: "JIRAUSER10000", health: true},
		"8.20.1": {pat: 201, oauth2: 404, newMeta: 200, oldMeta: 200, oldHooks: 200, newHooks: 404, adminKey: "JIRAUSER10000", health: true},
		"9.12.0": {pat: 201, oauth2: 401, newMeta: 200, oldMeta: 404, oldHooks: 200, newHooks: 404, adminKey: "JIRAUSER10000", health: true},
		"10.3.0": {pat: 201, oauth2: 401, newMeta: 200, oldMeta: 404, oldHooks: 404, newHooks: 200, adminKey: "JIRAUSER10000", health: false},
	}
	if got := Versions(); !slices.Equal(got, []string{"7.13.5", "8.5.0", "8.13.0", "8.20.1", "9.12.0", "10.3.0"}) {
		t.Fatalf("Versions() = %v", got)
	}
	for v, w := range tests {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{Version: v})
			b := base(s, ts)
			got := want{
				pat:      call(t, "POST", b+"/rest/pat/latest/tokens", map[string]any{"name": "x"}, basic("alice")...).status,
				oauth2:   call(t, "POST", b+"/rest/oauth2/latest/token", "grant_type=authorization_code&client_id=x").status,
				newMeta:  call(t, "GET", b+"/rest/api/2/issue/createmeta/DEMO/issuetypes", nil, basic("alice")...).status,
				oldMeta:  call(t, "GET", b+"/rest/api/2/issue/createmeta?projectKeys=OPS&expand=projects.issuetypes.fields", nil, basic("alice")...).status,
				oldHooks: call(t, "GET", b+"/rest/webhooks/1.0/webhook", nil, basic("admin")...).status,
				newHooks: call(t, "GET", b+"/rest/jira-webhook/1.0/webhooks", nil, basic("admin")...).status,
			}
			info := call(t, "GET", b+"/rest/api/2/serverInfo?doHealthCheck=true", nil)
			m := info.json(t)
			_, got.health = m["healthChecks"]
			got.adminKey = call(t, "GET", b+"/rest/api/2/myself", nil, basic("admin")...).json(t)["key"].(string)
			if diff := cmp.Diff(w, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("gates (-want +got):\n%s", diff)
			}
			if m["version"] != v || m["deploymentType"] != "Server" || m["baseUrl"] != b {
				t.Errorf("serverInfo = %v", m)
			}
			if _, err := time.Parse(jiraTime, m["serverTime"].(string)); err != nil {
				t.Errorf("serverTime: %v", err)
			}
			if w.oldMeta == 404 {
				r := call(t, "GET", b+"/rest/api/2/issue/createmeta?projectKeys=OPS", nil, basic("alice")...)
				if diff := cmp.Diff(map[string]any{"errorMessages": []any{"Issue Does Not Exist"}, "errors": map[string]any{}}, r.json(t)); diff != "" {
					t.Errorf("legacy createmeta on %s (-want +got):\n%s", v, diff)
				}
			}
		})
	}
}

func TestCreatemeta(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Version: "8.20.1"})
	b := base(s, ts)
	types := call(t, "GET", b+"/rest/api/2/issue/createmeta/OPS/issuetypes?maxResults=2", nil, basic("alice")...).json(t)
	if types["total"] != 5.0 || types["isLast"] != false || len(types["values"].([]any)) != 2 {
		t.Errorf("issuetypes page: %v", types)
	}
	fields := call(t, "GET", b+"/rest/api/2/issue/createmeta/OPS/issuetypes/10004", nil, basic("alice")...).json(t)
	var sev map[string]any
	for _, f := range fields["values"].([]any) {
		if f.(map[string]any)["fieldId"] == FieldSeverity {
			sev = f.(map[string]any)
		}
	}
	if sev == nil || sev["required"] != true || len(sev["allowedValues"].([]any)) != 3 {
		t.Errorf("severity meta: %v", sev)
	}
	legacy := call(t, "GET", b+"/rest/api/2/issue/createmeta?projectKeys=DEMO&issuetypeNames=Epic&expand=projects.issuetypes.fields", nil, basic("alice")...).json(t)
	it := legacy["projects"].([]any)[0].(map[string]any)["issuetypes"].([]any)[0].(map[string]any)
	epicName := it["fields"].(map[string]any)[FieldEpicName].(map[string]any)
	if it["name"] != "Epic" || epicName["required"] != true || epicName["name"] != "Epic Name" {
		t.Errorf("legacy createmeta: %v", it)
	}
}

func TestCreateIssueValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields map[string]any
		status int
		errors map[string]any
	}{
		{"ok", map[string]any{"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"name": "Task"}, "summary": "x",
			"priority": map[string]any{"name": "High"}, "labels": []string{"asana"}, "assignee": map[string]any{"name": "bob"},
			"duedate": "2025-05-01", "components": []any{map[string]any{"id": "10000"}}}, 201, nil},
		{"missing summary", map[string]any{"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"id": "10002"}}, 400,
			map[string]any{"summary": "You must specify a summary of the issue."}},
		{"required custom field in OPS", map[string]any{"project": map[string]any{"key": "OPS"}, "issuetype": map[string]any{"name": "Bug"}, "summary": "x"}, 400,
			map[string]any{FieldSeverity: "Severity is required."}},
		{"OPS with severity", map[string]any{"project": map[string]any{"id": "10001"}, "issuetype": map[string]any{"name": "Bug"}, "summary": "x",
			FieldSeverity: map[string]any{"value": "Sev 3"}}, 201, nil},
		{"bad option", map[string]any{"project": map[string]any{"key": "OPS"}, "issuetype": map[string]any{"name": "Bug"}, "summary": "x",
			FieldSeverity: map[string]any{"value": "Sev 9"}}, 400, map[string]any{FieldSeverity: "Option value 'Sev 9' is not valid"}},
		{"not on screen", map[string]any{"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"name": "Task"}, "summary": "x",
			FieldSeverity: map[string]any{"value": "Sev 1"}, "environment": "prod"}, 400,
			map[string]any{FieldSeverity: notOnScreen(FieldSeverity), "environment": notOnScreen("environment")}},
		{"epic name required", map[string]any{"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"name": "Epic"}, "summary": "x"}, 400,
			map[string]any{FieldEpicName: "Epic Name is required."}},
		{"sub-task needs parent", map[string]any{"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"name": "Sub-task"}, "summary": "x"}, 400,
			map[string]any{"parent": "Issue type is a sub-task but parent issue key or id not specified."}},
		{"unknown project", map[string]any{"project": map[string]any{"key": "NOPE"}, "issuetype": map[string]any{"name": "Task"}, "summary": "x"}, 400,
			map[string]any{"project": "valid project is required"}},
		{"unknown user", map[string]any{"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"name": "Task"}, "summary": "x",
			"assignee": map[string]any{"name": "zed"}}, 400, map[string]any{"assignee": "User 'zed' does not exist."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{})
			r := call(t, "POST", base(s, ts)+"/rest/api/2/issue", map[string]any{"fields": tc.fields}, basic("alice")...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			m := r.json(t)
			if tc.errors != nil {
				if diff := cmp.Diff(map[string]any{"errorMessages": []any{}, "errors": tc.errors}, m); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
				return
			}
			is, ok := s.Issue(m["key"].(string))
			if !ok || is.Reporter != "alice" || is.Status != "To Do" || m["self"] != base(s, ts)+"/rest/api/2/issue/"+is.ID {
				t.Errorf("created %v -> %+v", m, is)
			}
		})
	}
}

func TestIssueReadEditTransition(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	r := call(t, "GET", b+"/rest/api/2/issue/DEMO-2?fields=summary,status,assignee&expand=renderedFields,names,transitions", nil, basic("bob")...)
	m := r.json(t)
	fields := m["fields"].(map[string]any)
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"assignee", "status", "summary"}, keys); diff != "" {
		t.Errorf("fields filter (-want +got):\n%s", diff)
	}
	st := fields["status"].(map[string]any)
	if st["statusCategory"].(map[string]any)["key"] != "indeterminate" || m["renderedFields"] == nil || m["names"] == nil || len(m["transitions"].([]any)) != 3 {
		t.Errorf("issue: %s", r.body)
	}
	if _, err := time.Parse(jiraTime, call(t, "GET", b+"/rest/api/2/issue/DEMO-2", nil, basic("bob")...).json(t)["fields"].(map[string]any)["created"].(string)); err != nil {
		t.Errorf("created: %v", err)
	}
	if r := call(t, "PUT", b+"/rest/api/2/issue/DEMO-2", map[string]any{"fields": map[string]any{"summary": "Renamed"}, "update": map[string]any{"labels": []any{map[string]any{"add": "triaged"}}}}, basic("bob")...); r.status != 204 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	tr := call(t, "GET", b+"/rest/api/2/issue/DEMO-2/transitions?expand=transitions.fields", nil, basic("bob")...).json(t)
	var doneID string
	for _, x := range tr["transitions"].([]any) {
		if x.(map[string]any)["to"].(map[string]any)["statusCategory"].(map[string]any)["key"] == "done" && x.(map[string]any)["name"] == "Done" {
			doneID = x.(map[string]any)["id"].(string)
		}
	}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-2/transitions", map[string]any{"transition": map[string]any{"id": doneID},
		"fields": map[string]any{"resolution": map[string]any{"name": "Won't Do"}}, "update": map[string]any{"comment": []any{map[string]any{"add": map[string]any{"body": "Closed from Asana"}}}}},
		basic("bob")...); r.status != 204 {
		t.Fatalf("transition: %d %s", r.status, r.body)
	}
	is, _ := s.Issue("DEMO-2")
	if is.Summary != "Renamed" || !slices.Contains(is.Labels, "triaged") || is.Status != "Done" || is.Resolution != "Won't Do" || is.Comments[len(is.Comments)-1].Body != "Closed from Asana" {
		t.Errorf("after edit+transition: %+v", is)
	}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-2/transitions", map[string]any{"transition": map[string]any{"id": doneID}}, basic("bob")...); r.status != 400 {
		t.Errorf("invalid transition: %d", r.status)
	}
	if err := s.TransitionIssue("DEMO-2", "To Do", "alice"); err != nil {
		t.Fatal(err)
	}
	if is, _ := s.Issue("DEMO-2"); is.Status != "To Do" || is.Resolution != "" {
		t.Errorf("reopened: %+v", is)
	}
	if r := call(t, "GET", b+"/rest/api/2/issue/NOPE-1", nil, basic("bob")...); r.status != 404 || !strings.Contains(string(r.body), "Issue Does Not Exist") {
		t.Errorf("missing issue: %d %s", r.status, r.body)
	}
}

func TestSearchJQL(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s, ts := start(t, Options{Now: func() time.Time { return now }})
	b := base(s, ts)
	if r := call(t, "POST", b+"/rest/api/2/issue/OPS-1/remotelink", map[string]any{"globalId": "asana:task:42", "object": map[string]any{"url": "https://app.asana.com/0/1/42", "title": "t"}}, basic("alice")...); r.status != 201 {
		t.Fatalf("remote link: %d %s", r.status, r.body)
	}
	tests := []struct {
		jql  string
		want []string
	}{
		{`key in (DEMO-1, OPS-2) ORDER BY key ASC`, []string{"DEMO-1", "OPS-2"}},
		{`issuekey = DEMO-3`, []string{"DEMO-3"}},
		{`project = OPS ORDER BY key`, []string{"OPS-1", "OPS-2"}},
		{`project = DEMO AND text ~ "safari"`, []string{"DEMO-2"}},
		{`issue in issuesWithRemoteLinksByGlobalId("asana:task:42")`, []string{"OPS-1"}},
		{`issue in issuesWithRemoteLinksByGlobalId("asana:task:nope")`, nil},
		{`updated >= -80h AND updated < -70h ORDER BY created ASC`, []string{"DEMO-1", "DEMO-2"}},
		{`updated >= -5m`, nil},
		{`statusCategory = Done`, []string{"DEMO-4"}},
		{`assignee = alice OR reporter = alice ORDER BY key ASC`, []string{"DEMO-2", "DEMO-4", "OPS-1", "OPS-2"}},
		{`project in (DEMO) AND NOT status = "To Do" ORDER BY key ASC`, []string{"DEMO-2", "DEMO-4"}},
		{`assignee is EMPTY AND project = DEMO ORDER BY key ASC`, []string{"DEMO-1", "DEMO-3"}},
	}
	for _, tc := range tests {
		t.Run(tc.jql, func(t *testing.T) {
			t.Parallel()
			for _, method := range []string{"GET", "POST"} {
				var r resp
				if method == "GET" {
					r = call(t, "GET", b+"/rest/api/2/search?fields=summary&jql="+url.QueryEscape(tc.jql), nil, basic("alice")...)
				} else {
					r = call(t, "POST", b+"/rest/api/2/search", map[string]any{"jql": tc.jql, "fields": []string{"summary"}}, basic("alice")...)
				}
				if r.status != 200 {
					t.Fatalf("%s: %d %s", method, r.status, r.body)
				}
				var got []string
				for _, is := range r.json(t)["issues"].([]any) {
					got = append(got, is.(map[string]any)["key"].(string))
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", method, diff)
				}
			}
		})
	}
	r := call(t, "GET", b+"/rest/api/2/search?jql="+url.QueryEscape(`project = NOPE`), nil, basic("alice")...)
	if r.status != 400 || !strings.Contains(string(r.body), "does not exist for the field 'project'") {
		t.Errorf("bad JQL: %d %s", r.status, r.body)
	}
}

func multipartBody(t *testing.T, name string, data []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

func TestAttachments(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{AttachmentLimit: 16})
	b := base(s, ts)
	auth := basic("alice")
	body, ct := multipartBody(t, "notes.txt", []byte("hello"))
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/attachments", body.Bytes(), append(auth, "Content-Type", ct)...); r.status != 403 || string(r.body) != "XSRF check failed" {
		t.Fatalf("without XSRF header: %d %s", r.status, r.body)
	}
	r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/attachments", body.Bytes(), append(auth, "Content-Type", ct, "X-Atlassian-Token", "no-check")...)
	if r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	a := r.list(t)[0].(map[string]any)
	if a["filename"] != "notes.txt" || a["size"] != 5.0 || a["mimeType"] != "text/plain" {
		t.Errorf("attachment: %v", a)
	}
	if got := call(t, "GET", a["content"].(string), nil, auth...); string(got.body) != "hello" {
		t.Errorf("download: %d %q", got.status, got.body)
	}
	big, ct := multipartBody(t, "big.bin", bytes.Repeat([]byte("x"), 17))
	r = call(t, "POST", b+"/rest/api/2/issue/DEMO-1/attachments", big.Bytes(), append(auth, "Content-Type", ct, "X-Atlassian-Token", "nocheck")...)
	if r.status != 404 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || string(r.body) != "The field file exceeds its maximum permitted size of 16 bytes." {
		t.Errorf("over limit: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	if m := call(t, "GET", b+"/rest/api/2/attachment/meta", nil, auth...).json(t); m["uploadLimit"] != 16.0 || m["enabled"] != true {
		t.Errorf("meta: %v", m)
	}
	if is, _ := s.Issue("DEMO-1"); len(is.Attachments) != 1 || string(is.Attachments[0].Content) != "hello" {
		t.Errorf("stored: %+v", is.Attachments)
	}
}

func TestRemoteLinksAndComments(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	auth := basic("bob")
	link := map[string]any{"globalId": "asana:task:7", "application": map[string]any{"type": "com.asana", "name": "Asana"},
		"relationship": "tracked in", "object": map[string]any{"url": "https://app.asana.com/0/1/7", "title": "First"}}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/remotelink", link, auth...); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	link["object"] = map[string]any{"url": "https://app.asana.com/0/1/7", "title": "Renamed"}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/remotelink", link, auth...); r.status != 200 {
		t.Fatalf("update by globalId: %d %s", r.status, r.body)
	}
	if got := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/remotelink", nil, auth...).list(t); len(got) != 1 || got[0].(map[string]any)["object"].(map[string]any)["title"] != "Renamed" {
		t.Errorf("list: %v", got)
	}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/remotelink", map[string]any{"object": map[string]any{"title": "no url"}}, auth...); r.status != 400 {
		t.Errorf("missing url: %d", r.status)
	}
	if r := call(t, "DELETE", b+"/rest/api/2/issue/DEMO-1/remotelink?globalId=asana:task:7", nil, auth...); r.status != 204 {
		t.Errorf("delete: %d", r.status)
	}
	r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/comment", map[string]any{"body": "hi"}, auth...)
	c := r.json(t)
	if r.status != 201 || c["author"].(map[string]any)["name"] != "bob" {
		t.Fatalf("comment: %d %s", r.status, r.body)
	}
	cs := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/comment", nil, auth...).json(t)
	if cs["total"] != 2.0 {
		t.Errorf("comments: %v", cs)
	}
	if r := call(t, "DELETE", b+"/rest/api/2/issue/DEMO-1/comment/"+c["id"].(string), nil, basic("alice")...); r.status != 403 {
		t.Errorf("delete someone else's comment: %d", r.status)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Version: "8.20.1"})
	b := base(s, ts)
	tests := []struct {
		path string
		want []string
	}{
		{"/rest/api/2/user/search?username=alice@example.com", []string{"alice"}},
		{"/rest/api/2/user/search?username=Brown", []string{"bob"}},
		{"/rest/api/2/user/assignable/search?project=OPS&username=", []string{"admin", "alice"}},
		{"/rest/api/2/user/assignable/search?issueKey=DEMO-1&username=b&maxResults=5", []string{"bob"}},
	}
	for _, tc := range tests {
		var got []string
		for _, u := range call(t, "GET", b+tc.path, nil, basic("alice")...).list(t) {
			got = append(got, u.(map[string]any)["name"].(string))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.path, diff)
		}
	}
	u := call(t, "GET", b+"/rest/api/2/user?key=JIRAUSER10100", nil, basic("bob")...).json(t)
	if u["name"] != "alice" || u["avatarUrls"] == nil || u["emailAddress"] != "alice@example.com" {
		t.Errorf("user by key: %v", u)
	}
}

func TestStrictRoutes(t *testing.T) {
	t.Parallel()
	var unknown []string
	s, ts := start(t, Options{Version: "7.13.5", OnUnknownRoute: func(m, p string) { unknown = append(unknown, m+" "+p) }})
	b := base(s, ts)
	if r := call(t, "GET", b+"/rest/api/3/issue/DEMO-1", nil, basic("alice")...); r.status != 404 {
		t.Errorf("v3: %d", r.status)
	}
	if r := call(t, "PATCH", b+"/rest/api/2/issue/DEMO-1", nil, basic("alice")...); r.status != 404 {
		t.Errorf("wrong method: %d", r.status)
	}
	// Routes that exist in Jira, but not in 7.13, are not client drift.
	r := call(t, "GET", b+"/rest/pat/latest/tokens", nil, basic("alice")...)
	if r.status != 404 || !strings.Contains(string(r.body), "null for uri") {
		t.Errorf("gated route: %d %s", r.status, r.body)
	}
	want := []string{"GET /jira/rest/api/3/issue/DEMO-1", "PATCH /jira/rest/api/2/issue/DEMO-1"}
	if diff := cmp.Diff(want, unknown); diff != "" {
		t.Errorf("OnUnknownRoute (-want +got):\n%s", diff)
	}
}

func TestNewRejectsUnknownVersion(t *testing.T) {
	t.Parallel()
	_, err := New(Options{Version: "9.0.0"})
	if err == nil || !strings.Contains(err.Error(), "7.13.5, 8.5.0, 8.13.0, 8.20.1, 9.12.0, 10.3.0") {
		t.Fatalf("err = %v", err)
	}
	s, err := New(Options{ContextPath: "/"})
	if err != nil || s.ContextPath() != "" {
		t.Fatalf("root context path: %v %q", err, s.ContextPath())
	}
}
