package jira

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const noPermission = "You do not have the permission to see the specified issue."

// TestHiddenIssuesAnswerLikeJira: bob may not browse OPS, and DEMO-4 has a
// security level only admin and alice pass. Every resource of those issues
// answers bob as Jira Server does; a key that does not exist stays a 404.
func TestHiddenIssuesAnswerLikeJira(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	body, ct := multipartBody(t, "x.txt", []byte("x"))
	link := map[string]any{"object": map[string]any{"url": "https://app.asana.com/0/1/2", "title": "t"}}
	type req struct {
		method, path string
		body         any
		hdr          []string
	}
	requests := func(key string) []req {
		return []req{
			{"GET", "/rest/api/2/issue/" + key, nil, nil},
			{"PUT", "/rest/api/2/issue/" + key, map[string]any{"fields": map[string]any{"summary": "x"}}, nil},
			{"DELETE", "/rest/api/2/issue/" + key, nil, nil},
			{"PUT", "/rest/api/2/issue/" + key + "/assignee", map[string]any{"name": "bob"}, nil},
			{"GET", "/rest/api/2/issue/" + key + "/transitions", nil, nil},
			{"POST", "/rest/api/2/issue/" + key + "/transitions", map[string]any{"transition": map[string]any{"id": "31"}}, nil},
			{"GET", "/rest/api/2/issue/" + key + "/comment", nil, nil},
			{"POST", "/rest/api/2/issue/" + key + "/comment", map[string]any{"body": "x"}, nil},
			{"POST", "/rest/api/2/issue/" + key + "/attachments", body.Bytes(), []string{"Content-Type", ct, "X-Atlassian-Token", "no-check"}},
			{"GET", "/rest/api/2/issue/" + key + "/remotelink", nil, nil},
			{"POST", "/rest/api/2/issue/" + key + "/remotelink", link, nil},
			{"GET", "/rest/api/2/user/assignable/search?username=&issueKey=" + key, nil, nil},
			{"GET", "/rest/api/2/mypermissions?issueKey=" + key, nil, nil},
		}
	}
	want403 := fixtureMore(t, "rest-issue-no-permission-403.json") // recorded from Jira
	for _, key := range []string{"OPS-1", "DEMO-4"} {
		for _, rq := range requests(key) {
			r := call(t, rq.method, b+rq.path, rq.body, append(basic("bob"), rq.hdr...)...)
			if diff := cmp.Diff(want403, r.json(t)); r.status != 403 || diff != "" {
				t.Errorf("bob %s %s: %d (-want +got):\n%s", rq.method, rq.path, r.status, diff)
			}
		}
	}
	for _, rq := range requests("NOPE-1") {
		if r := call(t, rq.method, b+rq.path, rq.body, append(basic("bob"), rq.hdr...)...); r.status != 404 || !strings.Contains(string(r.body), "Issue Does Not Exist") {
			t.Errorf("bob %s %s: %d %s", rq.method, rq.path, r.status, r.body)
		}
	}
	if is, _ := s.Issue("OPS-1"); is.Summary != "Rotate TLS certificates" || len(is.Comments) != 0 || len(is.Attachments) != 0 || len(is.RemoteLinks) != 0 || is.Status != "To Do" {
		t.Errorf("a refused request changed OPS-1: %+v", is)
	}
	if _, ok := s.Issue("DEMO-4"); !ok {
		t.Error("bob deleted DEMO-4")
	}

	// Those allowed see the issue, its security level included.
	for _, who := range []string{"admin", "alice"} {
		r := call(t, "GET", b+"/rest/api/2/issue/DEMO-4?fields=security,summary", nil, basic(who)...)
		sec, _ := r.json(t)["fields"].(map[string]any)["security"].(map[string]any)
		if r.status != 200 || sec["name"] != "Confidential" || sec["id"] != "10000" || sec["self"] != b+"/rest/api/2/securitylevel/10000" {
			t.Errorf("%s GET DEMO-4: %d %s", who, r.status, r.body)
		}
	}
	if is, _ := s.Issue("DEMO-4"); is.Security != "Confidential" {
		t.Errorf("snapshot security = %q", is.Security)
	}
}

// TestProjectsHiddenFromBob: a project bob may not browse is absent from
// the project list and the create metadata and does not exist for him.
func TestProjectsHiddenFromBob(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"8.20.1", "9.12.0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{Version: v})
			b := base(s, ts)
			projects := func(who string) []string {
				var keys []string
				for _, p := range call(t, "GET", b+"/rest/api/2/project", nil, basic(who)...).list(t) {
					keys = append(keys, p.(map[string]any)["key"].(string))
				}
				return keys
			}
			if diff := cmp.Diff([]string{"DEMO"}, projects("bob")); diff != "" {
				t.Errorf("bob's projects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"DEMO", "OPS"}, projects("alice")); diff != "" {
				t.Errorf("alice's projects (-want +got):\n%s", diff)
			}
			for _, path := range []string{"/project/OPS", "/project/OPS/statuses", "/project/OPS/components", "/project/OPS/versions",
				"/issue/createmeta/OPS/issuetypes", "/issue/createmeta/OPS/issuetypes/10002", "/user/assignable/search?project=OPS&username=",
				"/mypermissions?projectKey=OPS"} {
				r := call(t, "GET", b+"/rest/api/2"+path, nil, basic("bob")...)
				if r.status != 404 || !strings.Contains(string(r.body), "No project could be found with key 'OPS'.") {
					t.Errorf("bob GET %s: %d %s", path, r.status, r.body)
				}
			}
			if s.prof.hasOldCreatemeta() {
				var keys []string
				for _, p := range call(t, "GET", b+"/rest/api/2/issue/createmeta", nil, basic("bob")...).json(t)["projects"].([]any) {
					keys = append(keys, p.(map[string]any)["key"].(string))
				}
				if diff := cmp.Diff([]string{"DEMO"}, keys); diff != "" {
					t.Errorf("bob's legacy createmeta (-want +got):\n%s", diff)
				}
			}
			r := call(t, "POST", b+"/rest/api/2/issue", map[string]any{"fields": map[string]any{"project": map[string]any{"key": "OPS"},
				"issuetype": map[string]any{"name": "Task"}, "summary": "x"}}, basic("bob")...)
			if diff := cmp.Diff(map[string]any{"errorMessages": []any{}, "errors": map[string]any{"project": "valid project is required"}}, r.json(t)); r.status != 400 || diff != "" {
				t.Errorf("bob creates in OPS: %d (-want +got):\n%s", r.status, diff)
			}
		})
	}
}

// TestSearchHidesWhatBobMayNotSee: JQL never returns an issue the caller
// may not see, and a project it may not browse does not exist for it.
func TestSearchHidesWhatBobMayNotSee(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	tests := []struct {
		who, jql string
		want     []string
	}{
		{"bob", `project = DEMO ORDER BY key ASC`, []string{"DEMO-1", "DEMO-2", "DEMO-3"}},
		{"alice", `project = DEMO ORDER BY key ASC`, []string{"DEMO-1", "DEMO-2", "DEMO-3", "DEMO-4"}},
		{"bob", `key in (DEMO-4, OPS-1, DEMO-1)`, []string{"DEMO-1"}},
		{"bob", `text ~ "rotate" OR summary ~ "password"`, nil},
		{"alice", `text ~ "rotate" OR summary ~ "password" ORDER BY key ASC`, []string{"DEMO-4", "OPS-1"}},
		{"bob", `assignee = alice ORDER BY key ASC`, []string{"DEMO-2"}},
		{"admin", `ORDER BY key ASC`, []string{"DEMO-1", "DEMO-2", "DEMO-3", "DEMO-4", "OPS-1", "OPS-2"}},
	}
	for _, tc := range tests {
		r := call(t, "GET", b+"/rest/api/2/search?fields=summary&jql="+url.QueryEscape(tc.jql), nil, basic(tc.who)...)
		var got []string
		for _, is := range r.json(t)["issues"].([]any) {
			got = append(got, is.(map[string]any)["key"].(string))
		}
		if diff := cmp.Diff(tc.want, got); r.status != 200 || diff != "" {
			t.Errorf("%s %q: %d (-want +got):\n%s", tc.who, tc.jql, r.status, diff)
		}
	}
	r := call(t, "GET", b+"/rest/api/2/search?jql="+url.QueryEscape(`project = OPS`), nil, basic("bob")...)
	if r.status != 400 || !strings.Contains(string(r.body), "The value 'OPS' does not exist for the field 'project'.") {
		t.Errorf("bob searches OPS: %d %s", r.status, r.body)
	}
}

// TestPermissionScheme: what each role may do, on REST and in the web UI.
func TestPermissionScheme(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	rc, hookURL := newReceiver(t)
	if r := call(t, "POST", b+"/rest/webhooks/1.0/webhook", map[string]any{"name": "h", "url": hookURL, "events": []string{"comment_created"}}, basic("admin")...); r.status != 201 {
		t.Fatalf("webhook: %d %s", r.status, r.body)
	}
	// Webhooks are sent whoever may read the issue.
	if err := s.AddComment("DEMO-4", "alice", "secret note"); err != nil {
		t.Fatal(err)
	}
	if ev := rc.wait(t, 1)[0]; ev["comment"].(map[string]any)["body"] != "secret note" {
		t.Errorf("webhook for the secured issue: %v", ev)
	}
	if err := s.AddComment("DEMO-4", "bob", "x"); err == nil {
		t.Error("bob commented on DEMO-4 through the web helper")
	}
	if err := s.TransitionIssue("OPS-1", "Done", "bob"); err == nil {
		t.Error("bob transitioned OPS-1 through the web helper")
	}

	// Developers edit, transition and assign; a user who only has the Users
	// role browses, creates and comments, and gets no transition.
	if err := s.SetProjectRole("DEMO", "Developers", []string{"alice"}, nil); err != nil {
		t.Fatal(err)
	}
	bob := basic("bob")
	if tr := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/transitions", nil, bob...).json(t); len(tr["transitions"].([]any)) != 0 {
		t.Errorf("transitions without Transition Issues: %v", tr)
	}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/transitions", map[string]any{"transition": map[string]any{"id": "31"}}, bob...); r.status != 400 || !strings.Contains(string(r.body), "not valid for the current state") {
		t.Errorf("transition without Transition Issues: %d %s", r.status, r.body)
	}
	if r := call(t, "PUT", b+"/rest/api/2/issue/DEMO-1", map[string]any{"fields": map[string]any{"summary": "x"}}, bob...); r.status != 403 || !strings.Contains(string(r.body), "You do not have permission to edit issues in this project.") {
		t.Errorf("edit without Edit Issues: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/comment", map[string]any{"body": "still may comment"}, bob...); r.status != 201 {
		t.Errorf("comment as a project user: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", b+"/rest/api/2/mypermissions?projectKey=DEMO&permissions=BROWSE_PROJECTS,TRANSITION_ISSUES,CREATE_ISSUES", nil, bob...); r.status != 200 {
		t.Errorf("mypermissions: %d %s", r.status, r.body)
	} else {
		got := map[string]bool{}
		for k, v := range r.json(t)["permissions"].(map[string]any) {
			got[k] = v.(map[string]any)["havePermission"].(bool)
		}
		if diff := cmp.Diff(map[string]bool{"BROWSE_PROJECTS": true, "TRANSITION_ISSUES": false, "CREATE_ISSUES": true}, got); diff != "" {
			t.Errorf("mypermissions (-want +got):\n%s", diff)
		}
	}
	// Assignees must be assignable; reporter and security need their
	// permissions, so their fields are not on the screen for bob.
	create := func(who string, extra map[string]any) resp {
		f := map[string]any{"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"name": "Task"}, "summary": "x"}
		for k, v := range extra {
			f[k] = v
		}
		return call(t, "POST", b+"/rest/api/2/issue", map[string]any{"fields": f}, basic(who)...)
	}
	for field, v := range map[string]any{"reporter": map[string]any{"name": "alice"}, "security": map[string]any{"name": "Confidential"}, "assignee": map[string]any{"name": "alice"}} {
		if r := create("bob", map[string]any{field: v}); r.status != 400 || !strings.Contains(string(r.body), notOnScreen(field)) {
			t.Errorf("bob sets %s: %d %s", field, r.status, r.body)
		}
	}
	if r := create("alice", map[string]any{"assignee": map[string]any{"name": "bob"}}); r.status != 400 || !strings.Contains(string(r.body), "User 'bob' cannot be assigned issues.") {
		t.Errorf("assign to a non-assignable user: %d %s", r.status, r.body)
	}
	r := create("admin", map[string]any{"security": map[string]any{"id": "10000"}})
	key, _ := r.json(t)["key"].(string)
	if r.status != 201 {
		t.Fatalf("admin creates a confidential issue: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", b+"/rest/api/2/issue/"+key, nil, bob...); r.status != 403 {
		t.Errorf("bob reads the new confidential issue: %d", r.status)
	}

	// The web UI shows bob neither the hidden issues nor buttons he may not use.
	dash := string(webGet(t, b, "/browse/DEMO-1", "bob").body)
	if !strings.Contains(dash, "DEMO-1") || strings.Contains(dash, `id="action_id_31"`) || !strings.Contains(dash, `id="addcomment"`) {
		t.Errorf("bob's DEMO-1 page: %s", dash)
	}
	for _, key := range []string{"OPS-1", "DEMO-4"} {
		p := webGet(t, b, "/browse/"+key, "bob")
		if p.status != 403 || strings.Contains(string(p.body), "Rotate TLS") || strings.Contains(string(p.body), "reset my password") {
			t.Errorf("bob's %s page: %d", key, p.status)
		}
	}
	if p := webGet(t, b, "/browse/DEMO-4", "alice"); p.status != 200 || !strings.Contains(string(p.body), `id="security-val">Confidential`) {
		t.Errorf("alice's DEMO-4 page: %d", p.status)
	}
	board := string(webGet(t, b, "/secure/Dashboard.jspa", "bob").body)
	for _, key := range []string{"OPS-1", "OPS-2", "DEMO-4"} {
		if strings.Contains(board, ">"+key+"<") {
			t.Errorf("bob's dashboard lists %s", key)
		}
	}
	if !strings.Contains(board, ">DEMO-1<") {
		t.Error("bob's dashboard lacks DEMO-1")
	}
}

// TestAttachmentsOfHiddenIssues: an attachment is as visible as its issue.
func TestAttachmentsOfHiddenIssues(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	body, ct := multipartBody(t, "plan.txt", []byte("secret plan"))
	r := call(t, "POST", b+"/rest/api/2/issue/DEMO-4/attachments", body.Bytes(), append(basic("alice"), "Content-Type", ct, "X-Atlassian-Token", "no-check")...)
	if r.status != 200 {
		t.Fatalf("alice attaches: %d %s", r.status, r.body)
	}
	a := r.list(t)[0].(map[string]any)
	id := a["id"].(string)
	for _, tc := range []struct {
		method, url string
		status      int
	}{
		{"GET", b + "/rest/api/2/attachment/" + id, 403},
		{"DELETE", b + "/rest/api/2/attachment/" + id, 403},
		{"GET", a["content"].(string), 403},
	} {
		if r := call(t, tc.method, tc.url, nil, basic("bob")...); r.status != tc.status || strings.Contains(string(r.body), "secret plan") {
			t.Errorf("bob %s %s: %d %s", tc.method, tc.url, r.status, r.body)
		}
	}
	if got := call(t, "GET", a["content"].(string), nil, basic("admin")...); string(got.body) != "secret plan" {
		t.Errorf("admin download: %d %q", got.status, got.body)
	}
	if is, _ := s.Issue("DEMO-4"); len(is.Attachments) != 1 {
		t.Errorf("attachments of DEMO-4: %+v", is.Attachments)
	}
}
