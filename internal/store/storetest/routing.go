package storetest

import (
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var routingTests = map[string]func(t *testing.T, newStore NewStore){
	"RoutingLookups":           testRoutingLookups,
	"RoutingChangesInsideTx":   testRoutingChangesInsideTx,
	"RoutingFollowsServerEdit": testRoutingFollowsServerEdit,
}

// A workspace's connections and a project's route are read by key.
func testRoutingLookups(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j1 := createServer(t, s, "https://one.example")
	j2 := createServer(t, s, "https://two.example")
	for _, gid := range []string{"100", "200"} {
		must(t, s.PutWorkspace(ctx, store.Workspace{GID: gid, Name: gid}))
	}
	got, err := s.ListWorkspaceConnections(ctx, "100")
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("connections of an unconnected workspace: %+v", got)
	}
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: j1.ID, IsDefault: true}))
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: j2.ID}))
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "200", JiraServerID: j2.ID, IsDefault: true}))
	got, err = s.ListWorkspaceConnections(ctx, "100")
	must(t, err)
	want := []store.Connection{{WorkspaceGID: "100", JiraServerID: j1.ID, IsDefault: true}, {WorkspaceGID: "100", JiraServerID: j2.ID}}
	if j2.ID < j1.ID {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.Connection{}, "CreatedAt")); diff != "" {
		t.Fatalf("ListWorkspaceConnections (-want +got):\n%s", diff)
	}

	_, err = s.GetProjectRoute(ctx, "100", "p1")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: "100", ProjectGID: "p1", JiraServerID: j2.ID, JiraProjectKey: "OPS"}))
	r, err := s.GetProjectRoute(ctx, "100", "p1")
	must(t, err)
	if r.JiraServerID != j2.ID || r.JiraProjectKey != "OPS" || r.CreatedAt.IsZero() {
		t.Fatalf("GetProjectRoute = %+v", r)
	}
	_, err = s.GetProjectRoute(ctx, "200", "p1")
	wantErr(t, err, store.ErrNotFound)

	// Every change is seen by the next read.
	must(t, s.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: "100", ProjectGID: "p1", JiraServerID: j1.ID, JiraProjectKey: "DEMO"}))
	r, err = s.GetProjectRoute(ctx, "100", "p1")
	must(t, err)
	if r.JiraServerID != j1.ID || r.JiraProjectKey != "DEMO" {
		t.Fatalf("GetProjectRoute after the change = %+v", r)
	}
	must(t, s.DeleteProjectRoute(ctx, "100", "p1"))
	_, err = s.GetProjectRoute(ctx, "100", "p1")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.DeleteConnection(ctx, "100", j2.ID))
	got, err = s.ListWorkspaceConnections(ctx, "100")
	must(t, err)
	if len(got) != 1 || got[0].JiraServerID != j1.ID {
		t.Fatalf("connections after deleting one: %+v", got)
	}
	must(t, s.DeleteJiraServer(ctx, j1.ID))
	got, err = s.ListWorkspaceConnections(ctx, "100")
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("connections after deleting their server: %+v", got)
	}
	_, err = s.RouteProject(ctx, "100", "p1")
	wantErr(t, err, store.ErrNotFound)
}

// A change made in a transaction is seen by reads after the commit, and a
// rolled-back one is not.
func testRoutingChangesInsideTx(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j1 := createServer(t, s, "https://one.example")
	j2 := createServer(t, s, "https://two.example")
	must(t, s.PutWorkspace(ctx, store.Workspace{GID: "100", Name: "Acme"}))
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: j1.ID, IsDefault: true}))
	routed := func() string {
		t.Helper()
		srv, err := s.RouteProject(ctx, "100", "p1")
		must(t, err)
		conns, err := s.ListWorkspaceConnections(ctx, "100")
		must(t, err)
		return srv.ID + " " + strconv.Itoa(len(conns))
	}
	if got := routed(); got != j1.ID+" 1" {
		t.Fatalf("before: %s", got)
	}
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: j2.ID, IsDefault: true}); err != nil {
			return err
		}
		return tx.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: "100", ProjectGID: "p9", JiraServerID: j1.ID})
	}))
	if got := routed(); got != j2.ID+" 2" {
		t.Fatalf("after a committed change: %s, want %s 2", got, j2.ID)
	}
	errRollback := store.ErrConflict
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteConnection(ctx, "100", j2.ID); err != nil {
			return err
		}
		return errRollback
	})
	wantErr(t, err, errRollback)
	if got := routed(); got != j2.ID+" 2" {
		t.Fatalf("after a rolled-back change: %s, want %s 2", got, j2.ID)
	}
}

// A server's record read through routing follows its edits.
func testRoutingFollowsServerEdit(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j1 := createServer(t, s, "https://one.example")
	must(t, s.PutWorkspace(ctx, store.Workspace{GID: "100", Name: "Acme"}))
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: j1.ID, IsDefault: true}))
	for _, name := range []string{"First", "Second"} {
		j1.Name = name
		must(t, s.UpdateJiraServer(ctx, &j1))
		got, err := s.GetJiraServer(ctx, j1.ID)
		must(t, err)
		routed, err := s.RouteProject(ctx, "100", "p1")
		must(t, err)
		if got.Name != name || routed.Name != name {
			t.Fatalf("after renaming to %q: GetJiraServer %q, RouteProject %q", name, got.Name, routed.Name)
		}
	}
}

// RunConfigCache runs the cases that read and change what
// store.ConfigCache keeps (servers, connections, routes) through the cache,
// over newStore: reads through it must follow every change as the store's
// own reads do.
func RunConfigCache(t *testing.T, newStore NewStore) {
	cached := func(t *testing.T, sealer store.Sealer, now func() time.Time) store.Store {
		return store.NewConfigCache(newStore(t, sealer, now), 0, nil)
	}
	tests := map[string]func(t *testing.T, newStore NewStore){
		"JiraServers":          testJiraServers,
		"WorkspacesAndRouting": testWorkspacesAndRouting,
		"Transactions":         testTransactions,
		"ResealSecrets":        testResealSecrets,
		"JiraServerCABundle":   testJiraServerCABundle,
		"AsanaUsers":           testAsanaUsers,
	}
	maps.Copy(tests, routingTests)
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, cached)
		})
	}
	// These wrap the store in a cache of their own.
	for name, fn := range map[string]func(t *testing.T, newStore NewStore){
		"AsanaUserCache": testConfigCacheAsanaUsers,
		"AsanaUserRace":  testConfigCacheAsanaUserRace,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newStore)
		})
	}
}
