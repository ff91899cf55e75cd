package jira

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// commentIDs lists the ids of a comments page or of fields.comment.
func commentIDs(m map[string]any) []string {
	var out []string
	for _, c := range m["comments"].([]any) {
		out = append(out, c.(map[string]any)["id"].(string))
	}
	return out
}

// TestCommentVisibility: a comment restricted to a group or a project role
// keeps its restriction and is hidden from everyone outside it, in every
// place Jira shows comments.
func TestCommentVisibility(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		author     string
		visibility map[string]any
		readers    []string // may read it
		outsiders  []string // may not
	}{
		{"group", "admin", map[string]any{"type": "group", "value": "jira-administrators"}, []string{"admin"}, []string{"alice", "bob"}},
		{"role", "alice", map[string]any{"type": "role", "value": "Developers"}, []string{"alice", "bob"}, []string{"admin"}},
		{"public", "bob", nil, []string{"admin", "alice", "bob"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{})
			b := base(s, ts)
			rc, hookURL := newReceiver(t)
			if r := call(t, "POST", b+"/rest/webhooks/1.0/webhook", map[string]any{"name": "h", "url": hookURL,
				"events": []string{"comment_created", "jira:issue_updated"}}, basic("admin")...); r.status != 201 {
				t.Fatalf("register webhook: %d %s", r.status, r.body)
			}
			in := map[string]any{"body": "Only for some"}
			if tc.visibility != nil {
				in["visibility"] = tc.visibility
			}
			r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/comment", in, basic(tc.author)...)
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			created := r.json(t)
			id := created["id"].(string)
			if diff := cmp.Diff(tc.visibility, created["visibility"]); tc.visibility != nil && diff != "" {
				t.Errorf("created comment visibility (-want +got):\n%s", diff)
			}
			if _, ok := created["visibility"]; tc.visibility == nil && ok {
				t.Errorf("public comment has visibility: %v", created["visibility"])
			}
			is, _ := s.Issue("DEMO-1")
			if last := is.Comments[len(is.Comments)-1]; (last.Visibility != nil) != (tc.visibility != nil) {
				t.Errorf("snapshot visibility: %+v", last.Visibility)
			}

			// Webhooks are sent regardless of who may read the comment, and
			// carry it without its visibility, as Jira Server does.
			for _, ev := range rc.wait(t, 2) {
				c, _ := ev["comment"].(map[string]any)
				if c == nil || c["id"] != id {
					t.Errorf("%s without the comment: %v", ev["webhookEvent"], ev)
					continue
				}
				if _, ok := c["visibility"]; ok {
					t.Errorf("%s carries the visibility: %v", ev["webhookEvent"], c)
				}
				if ev["webhookEvent"] == "jira:issue_updated" && !slices.Contains(commentIDs(ev["issue"].(map[string]any)["fields"].(map[string]any)["comment"].(map[string]any)), id) {
					t.Errorf("issue_commented body lacks the comment in fields.comment")
				}
			}

			for _, who := range append(slices.Clone(tc.readers), tc.outsiders...) {
				sees := slices.Contains(tc.readers, who)
				auth := basic(who)
				get := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/comment/"+id, nil, auth...)
				if sees && (get.status != 200 || !cmp.Equal(get.json(t)["visibility"], created["visibility"])) {
					t.Errorf("%s GET comment: %d %s", who, get.status, get.body)
				}
				if !sees && (get.status != 404 || !strings.Contains(string(get.body), "Can not find a comment for the id: "+id)) {
					t.Errorf("%s GET hidden comment: %d %s", who, get.status, get.body)
				}
				list := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/comment", nil, auth...).json(t)
				fields := call(t, "GET", b+"/rest/api/2/issue/DEMO-1?fields=comment", nil, auth...).json(t)["fields"].(map[string]any)["comment"].(map[string]any)
				wantTotal := 1.0 // the seeded public comment
				if sees {
					wantTotal = 2
				}
				for what, m := range map[string]map[string]any{"list": list, "fields.comment": fields} {
					if slices.Contains(commentIDs(m), id) != sees || m["total"] != wantTotal {
						t.Errorf("%s %s: %v", who, what, m)
					}
				}
				search := call(t, "GET", b+"/rest/api/2/search?jql="+url.QueryEscape(`comment ~ "only for some"`), nil, auth...).json(t)
				if got := search["total"].(float64) == 1; got != sees {
					t.Errorf("%s JQL comment search: %v", who, search)
				}
				page := string(webGet(t, b, "/browse/DEMO-1", who).body)
				if strings.Contains(page, "Only for some") != sees {
					t.Errorf("%s web page shows the comment: %v", who, !sees)
				}
			}
		})
	}
}

// TestCommentVisibilityRefused: Jira refuses a restriction the author is
// not part of, or one that names nothing.
func TestCommentVisibilityRefused(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	tests := []struct {
		author     string
		visibility map[string]any
		want       string
	}{
		{"alice", map[string]any{"type": "group", "value": "jira-administrators"}, "You are currently not a member of the group: jira-administrators."},
		{"alice", map[string]any{"type": "role", "value": "Administrators"}, "You are currently not a member of the project role: Administrators."},
		{"admin", map[string]any{"type": "role", "value": "Developers"}, "You are currently not a member of the project role: Developers."},
		{"alice", map[string]any{"type": "group", "value": "nope"}, "Group: nope does not exist."},
	}
	for _, tc := range tests {
		r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/comment", map[string]any{"body": "x", "visibility": tc.visibility}, basic(tc.author)...)
		if diff := cmp.Diff(map[string]any{"errorMessages": []any{}, "errors": map[string]any{"commentLevel": tc.want}}, r.json(t)); r.status != 400 || diff != "" {
			t.Errorf("%s %v: %d (-want +got):\n%s", tc.author, tc.visibility, r.status, diff)
		}
	}
	if is, _ := s.Issue("DEMO-1"); len(is.Comments) != 1 {
		t.Errorf("refused comments were stored: %+v", is.Comments)
	}
	if err := s.AddRestrictedComment("DEMO-1", "bob", "x", Visibility{Type: "group", Value: "jira-administrators"}); err == nil {
		t.Error("AddRestrictedComment accepted a group bob is not in")
	}
}

// TestCommentVisibilityEditAndTransition: an edit without "visibility"
// keeps the restriction, one with it changes it; a comment added with a
// transition keeps its restriction too.
func TestCommentVisibilityEditAndTransition(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	alice := basic("alice")
	c := call(t, "POST", b+"/rest/api/2/issue/DEMO-2/comment", map[string]any{"body": "devs only", "visibility": map[string]any{"type": "role", "value": "Developers"}}, alice...).json(t)
	id := c["id"].(string)
	if r := call(t, "PUT", b+"/rest/api/2/issue/DEMO-2/comment/"+id, map[string]any{"body": "devs only, edited"}, alice...); r.status != 200 || r.json(t)["visibility"] == nil {
		t.Errorf("edit keeps visibility: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", b+"/rest/api/2/issue/DEMO-2/comment/"+id, nil, basic("admin")...); r.status != 404 {
		t.Errorf("admin reads the edited comment: %d", r.status)
	}
	if r := call(t, "PUT", b+"/rest/api/2/issue/DEMO-2/comment/"+id, map[string]any{"visibility": map[string]any{"type": "group", "value": "jira-software-users"}}, alice...); r.status != 200 {
		t.Errorf("edit visibility: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", b+"/rest/api/2/issue/DEMO-2/comment/"+id, nil, basic("admin")...); r.status != 200 || r.json(t)["body"] != "devs only, edited" {
		t.Errorf("admin after widening: %d %s", r.status, r.body)
	}
	if r := call(t, "PUT", b+"/rest/api/2/issue/DEMO-2/comment/"+id, map[string]any{"visibility": map[string]any{"type": "group", "value": "jira-administrators"}}, alice...); r.status != 400 {
		t.Errorf("edit to a group alice is not in: %d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", b+"/rest/api/2/issue/DEMO-1/comment/10001", nil, basic("admin")...); r.status != 204 {
		t.Fatalf("admin deletes the seeded comment: %d %s", r.status, r.body)
	}

	tr := map[string]any{"transition": map[string]any{"id": "31"}, "update": map[string]any{"comment": []any{
		map[string]any{"add": map[string]any{"body": "closing, devs only", "visibility": map[string]any{"type": "role", "value": "Developers"}}}}}}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/transitions", tr, alice...); r.status != 204 {
		t.Fatalf("transition with comment: %d %s", r.status, r.body)
	}
	if got := call(t, "GET", b+"/rest/api/2/issue/DEMO-1/comment", nil, basic("admin")...).json(t); got["total"] != 0.0 {
		t.Errorf("admin sees the restricted transition comment: %v", got)
	}
	tr["update"] = map[string]any{"comment": []any{map[string]any{"add": map[string]any{"body": "x", "visibility": map[string]any{"type": "group", "value": "jira-administrators"}}}}}
	tr["transition"] = map[string]any{"id": "11"}
	if r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/transitions", tr, alice...); r.status != 400 {
		t.Errorf("transition with a refused comment restriction: %d %s", r.status, r.body)
	}
	if is, _ := s.Issue("DEMO-1"); is.Status != "Done" {
		t.Errorf("a refused transition moved the issue: %s", is.Status)
	}
}

// webGet fetches a web UI page (path under base) logged in as username.
func webGet(t *testing.T, base, path, username string) resp {
	t.Helper()
	r := call(t, "POST", base+"/login.jsp", "os_username="+username+"&os_password="+username)
	var cookie string
	for _, c := range strings.Split(r.header.Get("Set-Cookie"), ";") {
		if strings.HasPrefix(c, sessionCookie+"=") {
			cookie = c
		}
	}
	if cookie == "" {
		t.Fatalf("web login as %s: %d %v", username, r.status, r.header)
	}
	return call(t, "GET", base+path, nil, "Cookie", cookie)
}
