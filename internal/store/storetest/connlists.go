package storetest

import (
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var connectionListTests = map[string]func(t *testing.T, newStore NewStore){
	"ListWorkspacesPage":  testListWorkspacesPage,
	"ListJiraServersPage": testListJiraServersPage,
	"ConnectionsOf":       testConnectionsOf,
}

// Workspaces page by name (case ignored, byte order), then gid; a search
// finds a gid or the start of a name.
func testListWorkspacesPage(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	for _, w := range []store.Workspace{{GID: "104", Name: "beta"}, {GID: "101", Name: "Acme"}, {GID: "103", Name: "Beta"},
		{GID: "102", Name: "acme labs"}, {GID: "105", Name: "Zed"}} {
		must(t, s.PutWorkspace(ctx, w))
	}
	for name, tc := range map[string]struct {
		f    store.WorkspaceFilter
		want []string
	}{
		"all":               {store.WorkspaceFilter{}, []string{"101", "102", "103", "104", "105"}},
		"a page":            {store.WorkspaceFilter{Limit: 2}, []string{"101", "102"}},
		"the next page":     {store.WorkspaceFilter{AfterGID: "102", Limit: 2}, []string{"103", "104"}},
		"the last page":     {store.WorkspaceFilter{AfterGID: "104", Limit: 2}, []string{"105"}},
		"a name prefix":     {store.WorkspaceFilter{Query: "ACME"}, []string{"101", "102"}},
		"a prefix, paged":   {store.WorkspaceFilter{Query: "be", AfterGID: "103"}, []string{"104"}},
		"a gid":             {store.WorkspaceFilter{Query: "105"}, []string{"105"}},
		"nothing matches":   {store.WorkspaceFilter{Query: "nope"}, []string{}},
		"an unknown cursor": {store.WorkspaceFilter{AfterGID: "999"}, []string{}},
	} {
		got, err := s.ListWorkspacesPage(ctx, tc.f)
		must(t, err)
		if diff := cmp.Diff(tc.want, keysOf(got, func(w store.Workspace) string { return w.GID })); diff != "" {
			t.Errorf("ListWorkspacesPage %s (-want +got):\n%s", name, diff)
		}
	}
}

// Servers page by name (case ignored) then id, with what a list shows of
// each and no secret.
func testListJiraServersPage(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	var ids []string
	for _, name := range []string{"beta", "Alpha", "Beta", "zed"} {
		j := store.JiraServer{Name: name, BaseURL: "https://" + name + ".example", Version: "9.12.0", Status: "connected",
			AppLinkID: "link-" + name, WebhookURL: "https://bridge.example/jira/webhook/" + name, CheckedAt: time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC),
			ConsumerKey: "key-" + name, PrivateKeyPEM: "private", WebhookSecret: "secret", AuthMethods: []store.AuthMethod{store.AuthPAT}}
		must(t, s.CreateJiraServer(ctx, &j))
		ids = append(ids, j.ID)
	}
	beta, alpha, betaUpper, zed := ids[0], ids[1], ids[2], ids[3]
	// "beta" and "Beta" tie on the name: the lower id comes first.
	betas := []string{beta, betaUpper}
	if betaUpper < beta {
		betas = []string{betaUpper, beta}
	}
	all := append(append([]string{alpha}, betas...), zed)
	for name, tc := range map[string]struct {
		f    store.JiraServerFilter
		want []string
	}{
		"all":               {store.JiraServerFilter{}, all},
		"a page":            {store.JiraServerFilter{Limit: 2}, all[:2]},
		"the next page":     {store.JiraServerFilter{AfterID: all[1], Limit: 2}, all[2:]},
		"the last page":     {store.JiraServerFilter{AfterID: all[3], Limit: 2}, []string{}},
		"an unknown cursor": {store.JiraServerFilter{AfterID: "js_none"}, []string{}},
	} {
		page, err := s.ListJiraServersPage(ctx, tc.f)
		must(t, err)
		if diff := cmp.Diff(tc.want, keysOf(page, func(j store.JiraServer) string { return j.ID })); diff != "" {
			t.Errorf("ListJiraServersPage %s (-want +got):\n%s", name, diff)
		}
	}
	page, err := s.ListJiraServersPage(ctx, store.JiraServerFilter{Limit: 1})
	must(t, err)
	want := store.JiraServer{ID: alpha, Name: "Alpha", BaseURL: "https://Alpha.example", Version: "9.12.0", Status: "connected",
		AppLinkID: "link-Alpha", WebhookURL: "https://bridge.example/jira/webhook/Alpha", CheckedAt: time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)}
	if diff := cmp.Diff([]store.JiraServer{want}, page, cmpopts.EquateApproxTime(time.Second)); diff != "" {
		t.Errorf("ListJiraServersPage shows (-want +got):\n%s", diff)
	}
}

// keysOf is the keys of rows, in their order (none: empty, not nil).
func keysOf[T any](rows []T, key func(T) string) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, key(r))
	}
	return out
}

// The connections and routes of some workspaces; what uses a server,
// counted and listed a few at a time.
func testConnectionsOf(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j1 := createServer(t, s, "https://one.example")
	j2 := createServer(t, s, "https://two.example")
	for _, gid := range []string{"201", "202", "203"} {
		must(t, s.PutWorkspace(ctx, store.Workspace{GID: gid, Name: "W" + gid}))
	}
	for _, c := range []store.Connection{{WorkspaceGID: "201", JiraServerID: j1.ID, IsDefault: true}, {WorkspaceGID: "201", JiraServerID: j2.ID},
		{WorkspaceGID: "202", JiraServerID: j1.ID, IsDefault: true}, {WorkspaceGID: "203", JiraServerID: j2.ID, IsDefault: true}} {
		must(t, s.PutConnection(ctx, c))
	}
	for _, r := range []store.ProjectRoute{{WorkspaceGID: "201", ProjectGID: "9", JiraServerID: j2.ID, JiraProjectKey: "OPS"},
		{WorkspaceGID: "203", ProjectGID: "8", JiraServerID: j2.ID}, {WorkspaceGID: "202", ProjectGID: "7", JiraServerID: j1.ID}} {
		must(t, s.PutProjectRoute(ctx, r))
	}
	conns, err := s.ListConnectionsOf(ctx, []string{"203", "201"})
	must(t, err)
	var got []string
	for _, c := range conns {
		got = append(got, c.WorkspaceGID+"/"+c.JiraServerID)
	}
	want := []string{"201/" + j1.ID, "201/" + j2.ID, "203/" + j2.ID}
	if j2.ID < j1.ID {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListConnectionsOf (-want +got):\n%s", diff)
	}
	routes, err := s.ListProjectRoutesOf(ctx, []string{"203", "201"})
	must(t, err)
	got = nil
	for _, r := range routes {
		got = append(got, r.WorkspaceGID+"/"+r.ProjectGID+"/"+r.JiraProjectKey)
	}
	if diff := cmp.Diff([]string{"201/9/OPS", "203/8/"}, got); diff != "" {
		t.Errorf("ListProjectRoutesOf (-want +got):\n%s", diff)
	}
	if none, err := s.ListConnectionsOf(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("ListConnectionsOf(none) = %v, %v", none, err)
	}
	for server, want := range map[string][2]int{j1.ID: {2, 1}, j2.ID: {2, 2}, "js_none": {0, 0}} {
		if c, r, err := s.CountServerUse(ctx, server); err != nil || c != want[0] || r != want[1] {
			t.Errorf("CountServerUse(%s) = %d, %d, %v; want %v", server, c, r, err, want)
		}
	}
	ws, err := s.ListServerWorkspaces(ctx, j2.ID, 1)
	must(t, err)
	if diff := cmp.Diff([]store.Workspace{{GID: "201", Name: "W201"}}, ws, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".CreatedAt"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("ListServerWorkspaces (-want +got):\n%s", diff)
	}
}
