package bridge_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// permissionsEnv is the bridge bench with bob connected too, on a
// workspace whose default Jira server is the emulator, where bob may not
// browse OPS and DEMO-4 is Confidential (admin and alice only).
func permissionsEnv(t *testing.T) (*bridge.Service, *bridgetest.Env, store.JiraServer, map[string]bridge.Identity) {
	t.Helper()
	e := bridgetest.New(t, bridgetest.Options{})
	ws := e.Seed.Workspace
	if err := e.Store.PutWorkspace(t.Context(), store.Workspace{GID: ws, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.PutConnection(t.Context(), store.Connection{WorkspaceGID: ws, JiraServerID: e.Server.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bridge.Identity{"alice": {User: e.Alice, Workspace: ws}, "bob": {User: e.Connect(t, "bob"), Workspace: ws}}
	return e.Bridge, e, e.Server, ids
}

// TestWidgetShowsOnlyWhatJiraShows: the widget data of an issue is read as
// the viewer; an issue Jira hides from the viewer shows nothing but its key.
func TestWidgetShowsOnlyWhatJiraShows(t *testing.T) {
	t.Parallel()
	b, e, srv, ids := permissionsEnv(t)
	fj := e.Jira
	if err := fj.AddRestrictedComment("DEMO-2", "alice", "devs only", fakejira.Visibility{Type: "role", Value: "Developers"}); err != nil {
		t.Fatal(err)
	}
	if err := fj.SetProjectRole("DEMO", "Developers", []string{"alice"}, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, key string
		hidden    bool
		comments  int
	}{
		{"bob", "OPS-1", true, 0},
		{"bob", "DEMO-4", true, 0},
		{"alice", "DEMO-4", false, 0},
		{"alice", "OPS-1", false, 0},
		{"bob", "DEMO-2", false, 0}, // the Developers-only comment is not counted for bob
		{"alice", "DEMO-2", false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.user+" "+tc.key, func(t *testing.T) {
			t.Parallel()
			d, err := b.Widget(t.Context(), ids[tc.user], srv.BaseURL+"/browse/"+tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if d.NoAccess != tc.hidden {
				t.Errorf("NoAccess = %v, want %v", d.NoAccess, tc.hidden)
			}
			if tc.hidden {
				if want := (bridge.WidgetData{ServerID: srv.ID, Key: tc.key, URL: srv.BaseURL + "/browse/" + tc.key, NoAccess: true}); *d != want {
					t.Errorf("hidden issue shows %+v", *d)
				}
				return
			}
			if d.Summary == "" || d.Status == "" || d.Comments != tc.comments {
				t.Errorf("visible issue: %+v, want %d comments", *d, tc.comments)
			}
		})
	}
}

// TestTypeaheadNeverOffersHiddenIssues: bob's lookup finds neither OPS
// issues nor DEMO-4, by key, key prefix, text or browse URL; alice's does.
func TestTypeaheadNeverOffersHiddenIssues(t *testing.T) {
	t.Parallel()
	b, _, srv, ids := permissionsEnv(t)
	tests := []struct {
		user, query string
		want        []string
	}{
		{"bob", "OPS-1", nil},
		{"bob", "OPS-", nil},
		{"bob", "ops-2", nil},
		{"bob", srv.BaseURL + "/browse/OPS-1", nil},
		{"bob", "DEMO-4", nil},
		{"bob", "DEMO-", []string{"DEMO-3", "DEMO-2", "DEMO-1"}},
		{"bob", "password", nil},
		{"bob", "certificates", nil},
		{"alice", "OPS-1", []string{"OPS-1"}},
		{"alice", "DEMO-4", []string{"DEMO-4"}},
		{"alice", "password", []string{"DEMO-4"}},
		{"alice", "certificates", []string{"OPS-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.user+" "+tc.query, func(t *testing.T) {
			t.Parallel()
			items, err := b.Typeahead(t.Context(), ids[tc.user], "", tc.query)
			if err != nil {
				t.Fatalf("Typeahead: %v", err)
			}
			var got []string
			for _, it := range items {
				got = append(got, it.Value)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("items %v, want %v", got, want)
			}
		})
	}
}

// TestPickersNeverOfferHiddenProjects: the form's project typeahead and
// its assignee picker follow Jira: OPS does not exist for bob.
func TestPickersNeverOfferHiddenProjects(t *testing.T) {
	t.Parallel()
	b, _, srv, ids := permissionsEnv(t)
	bob, alice := ids["bob"], ids["alice"]
	items, err := b.ProjectTypeahead(t.Context(), bob, srv.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Value != "DEMO" {
		t.Errorf("bob's projects: %+v", items)
	}
	items, err = b.ProjectTypeahead(t.Context(), alice, srv.ID, "op")
	if err != nil || len(items) != 1 || items[0].Value != "OPS" {
		t.Errorf("alice's projects: %+v %v", items, err)
	}
	_, err = b.UserTypeahead(t.Context(), bob, srv.ID, "OPS", "")
	if !errors.Is(err, bridge.ErrNoAccess) || strings.Contains(bridge.UserMessage(err), "alice") {
		t.Errorf("bob's assignee picker in OPS: %v", err)
	}
	users, err := b.UserTypeahead(t.Context(), alice, srv.ID, "OPS", "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Value)
	}
	if !slices.Equal(names, []string{"admin", "alice"}) {
		t.Errorf("assignable in OPS: %v", names)
	}
}
