package admin_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// seedPages fills the database with one of everything the pages show.
func seedPages(t *testing.T, e *env) (store.JiraServer, store.JiraServer) {
	t.Helper()
	ctx := t.Context()
	dc := store.JiraServer{Name: "Jira DC", BaseURL: "https://jira.example.com/jira", Version: "9.12.0",
		ConsumerKey: "asanajira-0123456789abcdef", PrivateKeyPEM: "unused",
		PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----\n",
		AppLinkID:    "6f1c2a4e-0000-4000-8000-000000000001", WebhookURL: e.hs.URL + "/jira/webhook/x",
		WebhookSecret: store.Secret(strings.Repeat("ab", 32)), Status: "connected",
		AuthMethods: []store.AuthMethod{store.AuthOAuth1, store.AuthPAT}, CheckedAt: time.Now()}
	old := store.JiraServer{Name: "Legacy Jira", BaseURL: "http://jira-old.example.com", Version: "7.13.5",
		ConsumerKey: "asanajira-fedcba9876543210", PublicKeyPEM: dc.PublicKeyPEM, Status: "needs setup",
		WebhookSecret: store.Secret(strings.Repeat("cd", 32)), AuthMethods: []store.AuthMethod{store.AuthOAuth1}}
	for _, s := range []*store.JiraServer{&dc, &old} {
		if err := e.store.CreateJiraServer(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.store.PutWorkspace(ctx, store.Workspace{GID: "1201000000000001", Name: "Acme"}))
	must(e.store.PutConnection(ctx, store.Connection{WorkspaceGID: "1201000000000001", JiraServerID: dc.ID, IsDefault: true}))
	must(e.store.PutConnection(ctx, store.Connection{WorkspaceGID: "1201000000000001", JiraServerID: old.ID}))
	must(e.store.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: "1201000000000001", ProjectGID: "1201000000000101", JiraServerID: old.ID, JiraProjectKey: "LEG"}))
	must(e.store.PutAsanaUser(ctx, store.AsanaUser{GID: "1201000000000012", Name: "Alice Anders", Email: "alice@acme.example", AccessToken: "tok"}))
	must(e.store.PutAsanaUser(ctx, store.AsanaUser{GID: "1201000000000013", Name: "Bob Brown", Email: "bob@acme.example", AccessToken: "tok"}))
	must(e.store.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: "1201000000000012", JiraServerID: dc.ID, Method: store.AuthOAuth1,
		AccessToken: "a", JiraUsername: "alice", JiraDisplayName: "Alice Anders", ReconnectNeeded: true, ReconnectReason: "token_rejected"}))
	must(e.store.CreateLink(ctx, &store.Link{WorkspaceGID: "1201000000000001", TaskGID: "1201000000001001", JiraServerID: dc.ID,
		IssueID: "10001", IssueKey: "OPS-1", CreatedBy: "1201000000000012"}))
	return dc, old
}

func TestPagesGolden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedJobs(t, e)
	b := e.admin()
	dc, old := seedPages(t, e)
	if r := e.postForm(b, "/admin/workspaces", url.Values{"gid": {"1201000000000002"}, "name": {"Beta"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add workspace: %d", r.Status)
	}
	pages := []struct {
		name, path string
		b          *browser
		status     int
	}{
		{"signin", "/admin/signin", newBrowser(t), http.StatusOK},
		{"connections", "/admin/connections", b, http.StatusOK},
		{"server_new", "/admin/servers/new", b, http.StatusOK},
		{"server_9.12", "/admin/servers/" + dc.ID, b, http.StatusOK},
		{"server_7.13", "/admin/servers/" + old.ID, b, http.StatusOK},
		{"links", "/admin/links?q=ops", b, http.StatusOK},
		{"links_empty", "/admin/links?q=NOPE", b, http.StatusOK},
		{"users", "/admin/users", b, http.StatusOK},
		{"jobs", "/admin/jobs", b, http.StatusOK},
		{"audit", "/admin/audit", b, http.StatusOK},
		{"admins", "/admin/admins", b, http.StatusOK},
		{"api_tokens_empty", "/admin/api-tokens", b, http.StatusOK},
		{"workspaces_asana", "/admin/workspaces/asana", b, http.StatusOK},
		{"projects_asana", "/admin/workspaces/1201000000000001/projects", b, http.StatusOK},
		{"workspace_connect", "/admin/workspaces/1201000000000002/connect", b, http.StatusOK},
		{"workspace_connect_all", "/admin/workspaces/1201000000000001/connect", b, http.StatusOK},
		{"not_found", "/admin/servers/js_missing", b, http.StatusNotFound},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			r := p.b.get(e.hs.URL + p.path)
			if r.Status != p.status {
				t.Fatalf("%s: %d, want %d", p.path, r.Status, p.status)
			}
			golden(t, p.name, r.Body)
		})
	}
}

func TestConnectionsFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	ctx := t.Context()
	dc, old := seedPages(t, e)
	steps := []struct {
		name string
		path string
		form url.Values
		want int
	}{
		{"add workspace", "/admin/workspaces", url.Values{"gid": {"1201000000000002"}, "name": {"Beta"}}, http.StatusSeeOther},
		{"workspace gid must be a number", "/admin/workspaces", url.Values{"gid": {"beta"}}, http.StatusUnprocessableEntity},
		{"connect unknown workspace", "/admin/connections", url.Values{"workspace": {"999"}, "server": {dc.ID}}, http.StatusUnprocessableEntity},
		{"connect unknown server", "/admin/connections", url.Values{"workspace": {"1201000000000002"}, "server": {"js_nope"}}, http.StatusNotFound},
		{"route before connecting", "/admin/routes", url.Values{"workspace": {"1201000000000002"}, "server": {dc.ID}, "project": {"5"}}, http.StatusUnprocessableEntity},
		{"connect as default", "/admin/connections", url.Values{"workspace": {"1201000000000002"}, "server": {dc.ID}, "default": {"on"}}, http.StatusSeeOther},
		{"connect second server", "/admin/connections", url.Values{"workspace": {"1201000000000002"}, "server": {old.ID}}, http.StatusSeeOther},
		{"bad project key", "/admin/routes", url.Values{"workspace": {"1201000000000002"}, "server": {old.ID}, "project": {"5"}, "jira_project": {"1X"}}, http.StatusUnprocessableEntity},
		{"route a project", "/admin/routes", url.Values{"workspace": {"1201000000000002"}, "server": {old.ID}, "project": {"5"}, "jira_project": {"leg"}}, http.StatusSeeOther},
		{"switch default", "/admin/connections", url.Values{"workspace": {"1201000000000002"}, "server": {old.ID}, "default": {"on"}}, http.StatusSeeOther},
	}
	for _, s := range steps {
		if r := e.postForm(b, s.path, s.form); r.Status != s.want {
			t.Fatalf("%s: %d, want %d: %s", s.name, r.Status, s.want, r.Body)
		}
	}
	got, err := e.store.RouteProject(ctx, "1201000000000002", "5")
	if err != nil || got.ID != old.ID {
		t.Errorf("project 5 routes to %q, %v; want %s", got.ID, err, old.ID)
	}
	got, err = e.store.RouteProject(ctx, "1201000000000002", "6")
	if err != nil || got.ID != old.ID {
		t.Errorf("project 6 routes to %q, %v; want the new default %s", got.ID, err, old.ID)
	}
	for _, s := range []struct {
		path string
		form url.Values
	}{
		{"/admin/routes/delete", url.Values{"workspace": {"1201000000000002"}, "project": {"5"}}},
		{"/admin/connections/delete", url.Values{"workspace": {"1201000000000002"}, "server": {dc.ID}}},
	} {
		if r := e.postForm(b, s.path, s.form); r.Status != http.StatusSeeOther {
			t.Fatalf("%s: %d", s.path, r.Status)
		}
		if r := e.postForm(b, s.path, s.form); r.Status != http.StatusNotFound {
			t.Errorf("%s again: %d, want 404", s.path, r.Status)
		}
	}
	// Every change is in the audit log.
	entries, _ := e.store.ListAudit(ctx, store.AuditFilter{Limit: 100})
	count := map[string]int{}
	for _, en := range entries {
		count[en.Action]++
	}
	for action, n := range map[string]int{"workspace.add": 1, "connection.put": 3, "route.put": 1, "route.delete": 1, "connection.delete": 1} {
		if count[action] != n {
			t.Errorf("%d %s audit entries, want %d", count[action], action, n)
		}
	}
}

func TestAsanaWorkspacesPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	seed := e.asana.Seed().Workspace
	r := b.get(e.hs.URL + "/admin/workspaces/asana")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `data-workspace="`+seed+`"`) {
		t.Fatalf("workspaces page: %d\n%s", r.Status, r.Body)
	}
	name := "Acme"
	if err := e.store.PutWorkspace(t.Context(), store.Workspace{GID: seed, Name: name}); err != nil {
		t.Fatal(err)
	}
	if r := b.get(e.hs.URL + "/admin/workspaces/asana"); !strings.Contains(r.Body, "added") {
		t.Error("an added workspace is not marked")
	}
}

func TestDeleteServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	dc, _ := seedPages(t, e)
	if r := e.postForm(b, "/admin/servers/"+dc.ID+"/delete", url.Values{"confirm": {"wrong"}}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("wrong confirmation: %d", r.Status)
	}
	if r := e.postForm(b, "/admin/servers/"+dc.ID+"/delete", url.Values{"confirm": {dc.Name}}); r.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.Status)
	}
	if _, err := e.store.GetJiraServer(t.Context(), dc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("server still there: %v", err)
	}
}
