package storetest

import (
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

// setupTests cover what the setup service and the admin API add.
var setupTests = map[string]func(t *testing.T, newStore NewStore){
	"DeleteWorkspace": testDeleteWorkspace,
	"AdminAPITokens":  testAdminAPITokens,
}

// testDeleteWorkspace: removing a workspace takes its connections and
// routes with it and leaves the links of its tasks and other workspaces.
func testDeleteWorkspace(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://one.example")
	for _, gid := range []string{"100", "200"} {
		must(t, s.PutWorkspace(ctx, store.Workspace{GID: gid, Name: "W" + gid}))
		must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: gid, JiraServerID: j.ID, IsDefault: true}))
		must(t, s.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: gid, ProjectGID: gid + "1", JiraServerID: j.ID}))
	}
	link := store.Link{WorkspaceGID: "100", TaskGID: "9001", JiraServerID: j.ID, IssueID: "10001", IssueKey: "OPS-1"}
	must(t, s.CreateLink(ctx, &link))

	must(t, s.DeleteWorkspace(ctx, "100"))
	wantErr(t, s.DeleteWorkspace(ctx, "100"), store.ErrNotFound)
	_, err := s.GetWorkspace(ctx, "100")
	wantErr(t, err, store.ErrNotFound)
	conns, err := s.ListConnections(ctx)
	must(t, err)
	if len(conns) != 1 || conns[0].WorkspaceGID != "200" {
		t.Errorf("connections after deleting workspace 100: %+v", conns)
	}
	if routes, err := s.ListProjectRoutes(ctx, "100"); err != nil || len(routes) != 0 {
		t.Errorf("routes of the deleted workspace: %+v, %v", routes, err)
	}
	if routes, err := s.ListProjectRoutes(ctx, "200"); err != nil || len(routes) != 1 {
		t.Errorf("routes of the other workspace: %+v, %v", routes, err)
	}
	if _, err := s.GetLinkByTask(ctx, j.ID, "9001"); err != nil {
		t.Errorf("the task's link went with its workspace: %v", err)
	}
}

// testAdminAPITokens: tokens are found by hash, listed newest first,
// revoked once (the row stays), and their use is recorded; only the hash
// is stored.
func testAdminAPITokens(t *testing.T, newStore NewStore) {
	s, c := open(t, newStore)
	ctx := t.Context()
	_, err := s.GetAdminAPITokenByHash(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)

	deploy := store.AdminAPIToken{Name: "deploy", Scope: store.ScopeWrite, Hash: "hash-deploy", CreatedBy: "Admin (1)"}
	must(t, s.CreateAdminAPIToken(ctx, &deploy))
	if deploy.ID == "" || deploy.CreatedAt.IsZero() {
		t.Fatalf("CreateAdminAPIToken did not fill ID and CreatedAt: %+v", deploy)
	}
	c.Add(time.Minute)
	monitor := store.AdminAPIToken{Name: "monitor", Scope: store.ScopeRead, Hash: "hash-monitor", CreatedBy: "Admin (1)"}
	must(t, s.CreateAdminAPIToken(ctx, &monitor))

	dupHash := store.AdminAPIToken{Name: "again", Scope: store.ScopeRead, Hash: "hash-deploy", CreatedBy: "Admin (1)"}
	wantErr(t, s.CreateAdminAPIToken(ctx, &dupHash), store.ErrConflict)
	for _, bad := range []store.AdminAPIToken{
		{Name: "x", Scope: "admin", Hash: "h1", CreatedBy: "a"},
		{Name: "", Scope: store.ScopeRead, Hash: "h2", CreatedBy: "a"},
		{Name: "x", Scope: store.ScopeRead, Hash: "", CreatedBy: "a"},
	} {
		if err := s.CreateAdminAPIToken(ctx, &bad); err == nil {
			t.Errorf("CreateAdminAPIToken(%+v) succeeded", bad)
		}
	}

	got, err := s.GetAdminAPITokenByHash(ctx, "hash-deploy")
	must(t, err)
	if diff := cmp.Diff(deploy, got); diff != "" {
		t.Fatalf("GetAdminAPITokenByHash (-want +got):\n%s", diff)
	}
	used := c.Now().Add(time.Hour)
	must(t, s.TouchAdminAPIToken(ctx, deploy.ID, used))
	wantErr(t, s.TouchAdminAPIToken(ctx, "at_missing", used), store.ErrNotFound)

	revoked := c.Now().Add(2 * time.Hour)
	must(t, s.RevokeAdminAPIToken(ctx, deploy.ID, revoked))
	wantErr(t, s.RevokeAdminAPIToken(ctx, deploy.ID, revoked), store.ErrNotFound)
	wantErr(t, s.RevokeAdminAPIToken(ctx, "at_missing", revoked), store.ErrNotFound)

	all, err := s.ListAdminAPITokens(ctx)
	must(t, err)
	deploy.LastUsedAt, deploy.RevokedAt = used.UTC().Truncate(time.Microsecond), revoked.UTC().Truncate(time.Microsecond)
	if diff := cmp.Diff([]store.AdminAPIToken{monitor, deploy}, all); diff != "" {
		t.Fatalf("ListAdminAPITokens (-want +got):\n%s", diff)
	}
	if !all[1].Revoked() || all[0].Revoked() {
		t.Errorf("Revoked: monitor %v, deploy %v", all[0].Revoked(), all[1].Revoked())
	}
}
