package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

// jiraOnly connects each Asana user (by gid = Jira username) to the Jira
// emulator with a personal access token, and to no Asana.
type jiraOnly struct {
	base   string
	server store.JiraServer
	tokens map[string]string
}

func (c *jiraOnly) Jira(_ context.Context, user, serverID string) (*jira.Client, store.JiraServer, error) {
	tok, ok := c.tokens[user]
	if !ok || serverID != c.server.ID {
		return nil, store.JiraServer{}, fmt.Errorf("%s: %w", user, bridge.ErrNotConnected)
	}
	jc, err := jira.New(c.base, jira.NewHTTPClient(&jira.BearerTransport{Token: tok}, 0))
	return jc, c.server, err
}

func (c *jiraOnly) Asana(context.Context, string) (*asana.Client, error) {
	return nil, bridge.ErrNotConnected
}

// permissionsEnv is the bridge over the Jira emulator, where bob may not
// browse OPS and DEMO-4 is Confidential (admin and alice only).
func permissionsEnv(t *testing.T) (*bridge.Service, *fakejira.Server, store.JiraServer) {
	t.Helper()
	fj, err := fakejira.New(fakejira.Options{OnUnknownRoute: func(m, p string) { t.Errorf("unknown Jira route %s %s", m, p) }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(fj)
	t.Cleanup(ts.Close)
	base := ts.URL + "/jira"
	if err := fj.SetPublicBaseURL(base); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "asanajira.db"), storetest.NewSealer(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	srv := store.JiraServer{Name: "Jira", BaseURL: base, Version: fj.Version()}
	if err := st.CreateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	if err := st.PutWorkspace(t.Context(), store.Workspace{GID: "ws", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutConnection(t.Context(), store.Connection{WorkspaceGID: "ws", JiraServerID: srv.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	clients := &jiraOnly{base: base, server: srv, tokens: map[string]string{}}
	for _, login := range []string{"alice", "bob"} {
		if clients.tokens[login], err = fj.CreatePAT(login, "asanajira"); err != nil {
			t.Fatal(err)
		}
	}
	return bridge.New(bridge.Config{Store: st, Clients: clients}), fj, srv
}

// TestWidgetShowsOnlyWhatJiraShows: the widget data of an issue is read as
// the viewer; an issue Jira hides from the viewer shows nothing but its key.
func TestWidgetShowsOnlyWhatJiraShows(t *testing.T) {
	t.Parallel()
	b, fj, srv := permissionsEnv(t)
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
			d, err := b.Widget(t.Context(), bridge.Identity{User: tc.user, Workspace: "ws"}, srv.BaseURL+"/browse/"+tc.key)
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
	b, _, srv := permissionsEnv(t)
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
			items, err := b.Typeahead(t.Context(), bridge.Identity{User: tc.user, Workspace: "ws"}, "", tc.query)
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
	b, _, srv := permissionsEnv(t)
	bob, alice := bridge.Identity{User: "bob", Workspace: "ws"}, bridge.Identity{User: "alice", Workspace: "ws"}
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
