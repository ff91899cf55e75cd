package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

var adminListTests = map[string]func(t *testing.T, newStore NewStore){
	"ListUsers":             testListUsers,
	"ListJiraCredentialsOf": testListJiraCredentialsOf,
	"ListAuditFilters":      testListAuditFilters,
	"FindAndCount":          testFindAndCount,
}

// A server's credential is found by its Jira user name (case ignored, none
// that must reconnect, the lowest gid first); credentials and links are
// counted per server, links up to a limit.
func testFindAndCount(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j1 := createServer(t, s, "https://one.example")
	j2 := createServer(t, s, "https://two.example")
	for _, c := range []struct {
		gid, server, user string
		reconnect         bool
	}{
		{"301", j1.ID, "Alice", true}, {"302", j1.ID, "alice", false}, {"303", j1.ID, "ALICE", false},
		{"304", j1.ID, "bob", false}, {"305", j2.ID, "carol", false},
	} {
		must(t, s.PutAsanaUser(ctx, store.AsanaUser{GID: c.gid, Name: c.gid}))
		must(t, s.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: c.gid, JiraServerID: c.server, Method: store.AuthPAT,
			AccessToken: store.Secret("pat-" + c.gid), JiraUsername: c.user, ReconnectNeeded: c.reconnect}))
	}
	for _, tc := range []struct{ server, user, want string }{
		{j1.ID, "aLiCe", "302"}, {j1.ID, "bob", "304"}, {j1.ID, "carol", ""}, {j2.ID, "carol", "305"}, {j2.ID, "alice", ""},
	} {
		c, err := s.FindJiraCredential(ctx, tc.server, tc.user)
		switch {
		case tc.want == "" && !errors.Is(err, store.ErrNotFound):
			t.Errorf("FindJiraCredential(%s): %+v, %v; want ErrNotFound", tc.user, c, err)
		case tc.want != "" && (err != nil || c.AsanaUserGID != tc.want || c.AccessToken.Reveal() != "pat-"+tc.want):
			t.Errorf("FindJiraCredential(%s): %+v, %v; want %s's", tc.user, c, err, tc.want)
		}
	}
	full, err := s.ListJiraServers(ctx)
	must(t, err)
	var want []store.JiraServer
	for _, j := range full {
		want = append(want, store.JiraServer{ID: j.ID, Name: j.Name, BaseURL: j.BaseURL})
	}
	names, err := s.ListJiraServerNames(ctx)
	must(t, err)
	if diff := cmp.Diff(want, names); diff != "" || len(names) != 2 {
		t.Errorf("ListJiraServerNames: ID, Name and BaseURL of ListJiraServers, in its order (-want +got):\n%s", diff)
	}
	for server, want := range map[string]int{j1.ID: 4, j2.ID: 1, "js_none": 0} {
		if n, err := s.CountJiraCredentials(ctx, server); err != nil || n != want {
			t.Errorf("CountJiraCredentials(%s) = %d, %v; want %d", server, n, err, want)
		}
	}
	for i := range 5 {
		must(t, s.CreateLink(ctx, &store.Link{WorkspaceGID: "1", TaskGID: fmt.Sprint(400 + i), JiraServerID: j1.ID,
			IssueID: fmt.Sprint(10400 + i), IssueKey: fmt.Sprintf("DEMO-%d", i+1), CreatedBy: "301"}))
	}
	for _, tc := range []struct {
		server      string
		limit, want int
	}{{j1.ID, 10, 5}, {j1.ID, 3, 3}, {j2.ID, 10, 0}} {
		if n, err := s.CountLinks(ctx, tc.server, tc.limit); err != nil || n != tc.want {
			t.Errorf("CountLinks(limit %d) = %d, %v; want %d", tc.limit, n, err, tc.want)
		}
	}
}

// Users page by name (case ignored, byte order), then gid; a search finds a
// gid, an email or the start of a name.
func testListUsers(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	users := []store.AsanaUser{
		{GID: "105", Name: "bob", Email: "Bob@Example.com"},
		{GID: "101", Name: "Alice", Email: "alice@example.com"},
		{GID: "103", Name: "alice", Email: "alice2@example.com"},
		{GID: "102", Name: "Albert", Email: "albert@example.com"},
		{GID: "104", Name: "Émile", Email: "emile@example.com"},
		{GID: "106", Name: "", Email: ""},
	}
	for _, u := range users {
		must(t, s.PutAsanaUser(ctx, u))
	}
	gids := func(f store.UserFilter) []string {
		t.Helper()
		got, err := s.ListUsers(ctx, f)
		must(t, err)
		var out []string
		for _, u := range got {
			out = append(out, u.GID)
		}
		return out
	}
	for name, tc := range map[string]struct {
		f    store.UserFilter
		want []string
	}{
		"all, by name":          {store.UserFilter{}, []string{"106", "102", "101", "103", "105", "104"}},
		"a page":                {store.UserFilter{Limit: 2}, []string{"106", "102"}},
		"the next page":         {store.UserFilter{Limit: 2, AfterGID: "102"}, []string{"101", "103"}},
		"the last page":         {store.UserFilter{Limit: 2, AfterGID: "105"}, []string{"104"}},
		"name prefix, any case": {store.UserFilter{Query: "AL"}, []string{"102", "101", "103"}},
		"a longer prefix":       {store.UserFilter{Query: "ali"}, []string{"101", "103"}},
		"prefix, next page":     {store.UserFilter{Query: "al", AfterGID: "101"}, []string{"103"}},
		"email, any case":       {store.UserFilter{Query: "bob@example.COM"}, []string{"105"}},
		"gid":                   {store.UserFilter{Query: "103"}, []string{"103"}},
		"no match":              {store.UserFilter{Query: "zed"}, nil},
		"like meta is plain":    {store.UserFilter{Query: "%"}, nil},
	} {
		if diff := cmp.Diff(tc.want, gids(tc.f)); diff != "" {
			t.Errorf("ListUsers %s (-want +got):\n%s", name, diff)
		}
	}
	got, err := s.ListUsers(ctx, store.UserFilter{Query: "105"})
	must(t, err)
	if len(got) != 1 || got[0].Email != "Bob@Example.com" || got[0].Name != "bob" {
		t.Errorf("ListUsers returned %+v", got)
	}
}

func testListJiraCredentialsOf(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j1 := createServer(t, s, "https://one.example")
	j2 := createServer(t, s, "https://two.example")
	for i := range 4 {
		gid := fmt.Sprint(200 + i)
		must(t, s.PutAsanaUser(ctx, store.AsanaUser{GID: gid, Name: gid}))
		for _, srv := range []store.JiraServer{j1, j2}[:1+i%2] {
			must(t, s.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: gid, JiraServerID: srv.ID, Method: store.AuthPAT,
				AccessToken: store.Secret("pat-" + gid + "-" + srv.ID)}))
		}
	}
	got, err := s.ListJiraCredentialsOf(ctx, []string{"203", "201", "999"})
	must(t, err)
	var keys []string
	for _, c := range got {
		keys = append(keys, c.AsanaUserGID+" "+c.JiraServerID+" "+c.AccessToken.Reveal())
	}
	first, second := j1.ID, j2.ID
	if second < first {
		first, second = second, first
	}
	want := []string{"201 " + first + " pat-201-" + first, "201 " + second + " pat-201-" + second,
		"203 " + first + " pat-203-" + first, "203 " + second + " pat-203-" + second}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("ListJiraCredentialsOf (-want +got):\n%s", diff)
	}
	none, err := s.ListJiraCredentialsOf(ctx, nil)
	must(t, err)
	if len(none) != 0 {
		t.Errorf("ListJiraCredentialsOf(nil) = %+v", none)
	}
}

func testListAuditFilters(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	for i, e := range []store.AuditEntry{
		{Actor: "admin", Action: "server.create", Target: "js_1"},
		{Actor: "admin", Action: "connection.put", Target: "100"},
		{Actor: "admin", Action: "server.update", Target: "js_1"},
		{Actor: "admin", Action: "server.create", Target: "js_2"},
	} {
		e.Detail = fmt.Sprint(i)
		must(t, s.AppendAudit(ctx, e))
	}
	details := func(f store.AuditFilter) []string {
		t.Helper()
		es, err := s.ListAudit(ctx, f)
		must(t, err)
		var out []string
		for _, e := range es {
			out = append(out, e.Detail)
		}
		return out
	}
	all, err := s.ListAudit(ctx, store.AuditFilter{})
	must(t, err)
	for name, tc := range map[string]struct {
		f    store.AuditFilter
		want []string
	}{
		"all, newest first":  {store.AuditFilter{}, []string{"3", "2", "1", "0"}},
		"by action":          {store.AuditFilter{Action: "server.create"}, []string{"3", "0"}},
		"by target":          {store.AuditFilter{Target: "js_1"}, []string{"2", "0"}},
		"action and target":  {store.AuditFilter{Action: "server.create", Target: "js_1"}, []string{"0"}},
		"by target, older":   {store.AuditFilter{Target: "js_1", BeforeID: all[1].ID}, []string{"0"}},
		"a page":             {store.AuditFilter{Limit: 2}, []string{"3", "2"}},
		"the page after one": {store.AuditFilter{Limit: 2, BeforeID: all[1].ID}, []string{"1", "0"}},
	} {
		if diff := cmp.Diff(tc.want, details(tc.f)); diff != "" {
			t.Errorf("ListAudit %s (-want +got):\n%s", name, diff)
		}
	}
}
