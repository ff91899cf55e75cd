package setup_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

// Removal undoes in Jira only what asanajira made there, and says what is
// left for a person to remove.
func TestRemoveServer(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		admin := setup.JiraAdmin{User: "admin", Password: "admin"}

		// Connected automatically, removed with credentials: Jira is clean.
		j, base := newJira(t, "9.12.0")
		srv := b.connected(base)
		other := mustHooks(t, jiraAdmin(t, base))[0]
		other.URL, other.Name = "https://elsewhere.example/hook", "someone else's"
		if _, err := jiraAdmin(t, base).CreateWebhook(ctx, other); err != nil {
			t.Fatal(err)
		}
		rm, err := b.svc.RemoveServer(ctx, actor, srv.ID, admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(rm.Undone) != 2 || len(rm.LeftInJira) != 0 || len(j.ApplicationLinks()) != 0 || len(j.Webhooks()) != 1 || j.Webhooks()[0].Name != "someone else's" {
			t.Errorf("removal %+v; Jira has %d links and webhooks %+v", rm, len(j.ApplicationLinks()), j.Webhooks())
		}
		if _, err := b.svc.Server(ctx, srv.ID); setup.CodeOf(err) != setup.NotFound {
			t.Errorf("server still there: %v", err)
		}

		// Connected automatically, removed without credentials: what is left is listed.
		j2, base2 := newJira(t, "9.12.0")
		srv2 := b.connected(base2)
		rm, err = b.svc.RemoveServer(ctx, actor, srv2.ID, setup.JiraAdmin{})
		if err != nil || len(rm.Undone) != 0 || len(rm.LeftInJira) != 2 || !strings.Contains(rm.LeftInJira[0], "application link") ||
			!strings.Contains(rm.LeftInJira[1], base2+"/plugins/servlet/webhooks") || len(j2.ApplicationLinks()) != 1 {
			t.Errorf("removal without credentials: %+v, %v", rm, err)
		}

		// Never set up: nothing to undo and nothing left.
		_, base3 := newJira(t, "9.12.0")
		rm, err = b.svc.RemoveServer(ctx, actor, b.register(base3).ID, admin)
		if err != nil || len(rm.Undone)+len(rm.LeftInJira) != 0 {
			t.Errorf("removal of a server never set up: %+v, %v", rm, err)
		}

		// A link made by hand cannot be found by asanajira: it is listed.
		j4, base4 := newJira(t, "8.20.1")
		srv4 := b.register(base4)
		if _, err := j4.RegisterConsumer(srv4.ConsumerKey, "asanajira", publicKey(t, srv4.PublicKeyPEM)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Verify(ctx, actor, srv4.ID); err != nil {
			t.Fatal(err)
		}
		rm, err = b.svc.RemoveServer(ctx, actor, srv4.ID, admin)
		if err != nil || len(rm.LeftInJira) != 1 || !strings.Contains(rm.LeftInJira[0], "made by hand for consumer key "+srv4.ConsumerKey) {
			t.Errorf("removal of a manual link: %+v, %v", rm, err)
		}

		// Jira refuses: nothing is removed, so it can be tried again.
		_, base5 := newJira(t, "9.12.0")
		srv5 := b.connected(base5)
		_, err = b.svc.RemoveServer(ctx, actor, srv5.ID, setup.JiraAdmin{User: "alice", Password: "alice"})
		wantCode(t, err, setup.JiraFailed, "remove the application link")
		if _, err := b.svc.Server(ctx, srv5.ID); err != nil {
			t.Errorf("the server went although Jira refused: %v", err)
		}
		_, err = b.svc.RemoveServer(ctx, actor, srv5.ID+"x", admin)
		wantCode(t, err, setup.NotFound, "No Jira server")

		deletes := 0
		for _, e := range b.audit() {
			if e.Action == "server.delete" {
				deletes++
				if strings.Contains(e.Detail, "password") {
					t.Errorf("audit %+v", e)
				}
			}
		}
		if deletes != 4 {
			t.Errorf("%d server.delete entries, want 4", deletes)
		}
	})
}

func TestWorkspacesConnectionsAndRoutes(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		_, base1 := newJira(t, "9.12.0")
		_, base2 := newJira(t, "8.20.1")
		one, two := b.register(base1), b.register(base2)
		renamed := "Two"
		if _, err := b.svc.UpdateServer(ctx, actor, two.ID, setup.ServerChanges{Name: &renamed}); err != nil {
			t.Fatal(err)
		}
		one.Name, two.Name = "Emulated Jira", "Two"

		changed := func(ok bool, err error) {
			t.Helper()
			if err != nil || !ok {
				t.Fatalf("changed %v, %v; want a change", ok, err)
			}
		}
		same := func(ok bool, err error) {
			t.Helper()
			if err != nil || ok {
				t.Fatalf("changed %v, %v; want no change", ok, err)
			}
		}
		ws, ok, err := b.svc.AddWorkspace(ctx, actor, " 100 ", "")
		changed(ok, err)
		if ws.Name != "Workspace 100" {
			t.Errorf("default name %q", ws.Name)
		}
		_, ok, err = b.svc.AddWorkspace(ctx, actor, "100", "Acme")
		changed(ok, err)
		_, ok, err = b.svc.AddWorkspace(ctx, actor, "100", "Acme")
		same(ok, err)
		_, _, err = b.svc.AddWorkspace(ctx, actor, "acme", "Acme")
		wantCode(t, err, setup.Invalid, "a number")
		_, ok, err = b.svc.AddWorkspace(ctx, actor, "200", "Beta")
		changed(ok, err)

		_, err = b.svc.Connect(ctx, actor, "999", one.ID, true)
		wantCode(t, err, setup.Invalid, "add it first")
		_, err = b.svc.Connect(ctx, actor, "100", "js_nope", true)
		wantCode(t, err, setup.NotFound, "No Jira server")
		_, err = b.svc.SetRoute(ctx, actor, store.ProjectRoute{WorkspaceGID: "100", ProjectGID: "5", JiraServerID: two.ID})
		wantCode(t, err, setup.Invalid, "before routing")
		changed(b.svc.Connect(ctx, actor, "100", one.ID, true))
		same(b.svc.Connect(ctx, actor, "100", one.ID, true))
		changed(b.svc.Connect(ctx, actor, "100", two.ID, false))
		for _, r := range []store.ProjectRoute{
			{WorkspaceGID: "100", ProjectGID: "five", JiraServerID: two.ID},
			{WorkspaceGID: "100", ProjectGID: "5", JiraServerID: two.ID, JiraProjectKey: "1X"},
		} {
			_, err := b.svc.SetRoute(ctx, actor, r)
			wantCode(t, err, setup.Invalid, "")
		}
		changed(b.svc.SetRoute(ctx, actor, store.ProjectRoute{WorkspaceGID: "100", ProjectGID: "5", JiraServerID: two.ID, JiraProjectKey: "leg"}))
		same(b.svc.SetRoute(ctx, actor, store.ProjectRoute{WorkspaceGID: "100", ProjectGID: "5", JiraServerID: two.ID, JiraProjectKey: "LEG"}))
		if got, err := b.st.RouteProject(ctx, "100", "5"); err != nil || got.ID != two.ID {
			t.Errorf("project 5 routes to %q, %v", got.ID, err)
		}
		if got, err := b.st.RouteProject(ctx, "100", "6"); err != nil || got.ID != one.ID {
			t.Errorf("project 6 routes to %q, %v; want the default", got.ID, err)
		}
		changed(b.svc.Connect(ctx, actor, "100", two.ID, true)) // switch the default
		if got, err := b.st.RouteProject(ctx, "100", "6"); err != nil || got.ID != two.ID {
			t.Errorf("project 6 routes to %q, %v; want the new default", got.ID, err)
		}
		for _, ref := range []string{"100", "acme"} {
			if w, err := b.svc.FindWorkspace(ctx, ref); err != nil || w.GID != "100" {
				t.Errorf("FindWorkspace(%q) = %+v, %v", ref, w, err)
			}
		}

		o, err := b.svc.Overview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := summarize(o)
		want := []string{
			"server Emulated Jira: not created, not registered, 0 users, 0 links",
			"server Two: not created, not registered, 0 users, 0 links",
			"workspace Acme (100): Emulated Jira, Two (default); route 5 → Two (LEG)",
			"workspace Beta (200):",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("overview (-want +got):\n%s", diff)
		}

		if err := b.svc.RemoveRoute(ctx, actor, "100", "5"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, b.svc.RemoveRoute(ctx, actor, "100", "5"), setup.NotFound, "does not exist")
		if err := b.svc.Disconnect(ctx, actor, "100", one.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, b.svc.Disconnect(ctx, actor, "100", one.ID), setup.NotFound, "does not exist")
		if err := b.svc.RemoveWorkspace(ctx, actor, "100"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, b.svc.RemoveWorkspace(ctx, actor, "100"), setup.NotFound, "No workspace")
		if conns, _ := b.svc.Connections(ctx); len(conns) != 0 {
			t.Errorf("connections of a removed workspace: %+v", conns)
		}
		want = []string{"server.create", "server.create", "server.update", "workspace.add", "workspace.rename", "workspace.add",
			"connection.put", "connection.put", "route.put", "connection.put", "route.delete", "connection.delete", "workspace.delete"}
		if diff := cmp.Diff(want, b.actions()); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
		for _, e := range b.audit() {
			if e.Actor != string(actor) {
				t.Errorf("audit entry %+v names %q", e, e.Actor)
			}
		}
	})
}

// summarize writes an overview as lines, for comparison.
func summarize(o setup.Overview) []string {
	var out []string
	for _, s := range o.Servers {
		out = append(out, "server "+s.Server.Name+": "+s.LinkState+", "+s.WebhookState+", "+strconv.Itoa(s.Users)+" users, "+strconv.Itoa(s.Links)+" links")
	}
	for _, w := range o.Workspaces {
		var conns, routes []string
		for _, c := range w.Connections {
			if c.IsDefault {
				conns = append(conns, c.ServerName+" (default)")
			} else {
				conns = append(conns, c.ServerName)
			}
		}
		for _, r := range w.Routes {
			routes = append(routes, "route "+r.Route.ProjectGID+" → "+r.ServerName+" ("+r.Route.JiraProjectKey+")")
		}
		line := "workspace " + w.Workspace.Name + " (" + w.Workspace.GID + "):"
		if len(conns) > 0 {
			line += " " + strings.Join(conns, ", ")
		}
		if len(routes) > 0 {
			line += "; " + strings.Join(routes, "; ")
		}
		out = append(out, line)
	}
	return out
}

func TestActorsInTheAuditLog(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		got  setup.Actor
		want string
	}{
		{setup.AdminActor("Ada Admin", "1201"), "Ada Admin (1201)"},
		{setup.AdminActor("bootstrap admin", ""), "bootstrap admin"},
		{setup.CommandLineActor("ops", "jira add"), "ops (asanajira jira add)"},
		{setup.CommandLineActor("", "apply"), "unknown user (asanajira apply)"},
		{setup.APITokenActor("deploy", "at_1"), "API token deploy (at_1)"},
	} {
		if string(tt.got) != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
	databases(t, func(t *testing.T, b *bench) {
		if _, _, err := b.svc.AddWorkspace(t.Context(), "", "100", "Acme"); err == nil {
			t.Error("a change without an actor was made")
		}
		if ws, _ := b.svc.Workspaces(t.Context()); len(ws) != 0 || !slices.Equal(b.actions(), nil) {
			t.Errorf("something changed: %+v, %v", ws, b.actions())
		}
	})
}
