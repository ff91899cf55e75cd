package admin_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/store"
)

var (
	issueCell = regexp.MustCompile(`>(ZZ-\d+)<`)
	userCell  = regexp.MustCompile(`<td>(User \d+)<span class="sub">`)
	auditCell = regexp.MustCompile(`<td class="text">(entry \d+)</td></tr>`)
	wsCell    = regexp.MustCompile(`<h3 id="ws-\d+">(Workspace \d+)</h3>`)
	pageLink  = func(label string) *regexp.Regexp { return regexp.MustCompile(`<a href="([^"]+)">` + label + `</a>`) }
)

// walk follows a list page's label link from path to the end and returns
// every row each page showed, in order.
func walk(t *testing.T, e *env, b *browser, path, label string, cell *regexp.Regexp) []string {
	t.Helper()
	var rows []string
	for pages := 0; path != ""; pages++ {
		if pages > 10 {
			t.Fatalf("more than 10 pages following %q", label)
		}
		r := b.get(e.hs.URL + path)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		for _, m := range cell.FindAllStringSubmatch(r.Body, -1) {
			rows = append(rows, m[1])
		}
		path = ""
		if m := pageLink(label).FindStringSubmatch(r.Body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return rows
}

// The list pages show every row once, a page at a time, in both directions
// where there are two.
func TestListPagesPageThrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	b := e.admin()
	srv := store.JiraServer{Name: "Jira", BaseURL: "https://jira.example.com"}
	if err := e.store.CreateJiraServer(ctx, &srv); err != nil {
		t.Fatal(err)
	}
	var keys, names, workspaces []string
	for i := range 120 {
		key := fmt.Sprintf("ZZ-%d", i)
		if err := e.store.CreateLink(ctx, &store.Link{WorkspaceGID: "1", TaskGID: fmt.Sprint(5000 + i), JiraServerID: srv.ID,
			IssueID: fmt.Sprint(9000 + i), IssueKey: key}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
		name := fmt.Sprintf("User %03d", i)
		if err := e.store.PutAsanaUser(ctx, store.AsanaUser{GID: fmt.Sprint(7000 + i), Name: name}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		if err := e.store.AppendAudit(ctx, store.AuditEntry{Actor: "test", Action: "test.entry", Target: "t", Detail: fmt.Sprintf("entry %d", i)}); err != nil {
			t.Fatal(err)
		}
		ws := store.Workspace{GID: fmt.Sprint(8000 + i), Name: fmt.Sprintf("Workspace %03d", i)}
		if err := e.store.PutWorkspace(ctx, ws); err != nil {
			t.Fatal(err)
		}
		if err := e.store.PutConnection(ctx, store.Connection{WorkspaceGID: ws.GID, JiraServerID: srv.ID, IsDefault: true}); err != nil {
			t.Fatal(err)
		}
		workspaces = append(workspaces, ws.Name)
	}
	newestFirst := slices.Clone(keys)
	slices.Reverse(newestFirst)

	older := walk(t, e, b, "/admin/links", "Older", issueCell)
	if !slices.Equal(older, newestFirst) {
		t.Fatalf("links paging to older: %d rows %v", len(older), older)
	}
	// From a page of older links back up with Newer: every link once, each
	// page newest first (8…0, then 58…9, 108…59, 119…109).
	newer := walk(t, e, b, "/admin/links?before="+fmt.Sprint(linkID(t, e, "ZZ-9")), "Newer", issueCell)
	want := slices.Concat(newestFirst[111:], newestFirst[61:111], newestFirst[11:61], newestFirst[:11])
	if !slices.Equal(newer, want) {
		t.Fatalf("links paging to newer from below ZZ-9: %d rows %v", len(newer), newer)
	}
	if got := walk(t, e, b, "/admin/links?q=zz", "Older", issueCell); !slices.Equal(got, newestFirst) {
		t.Fatalf("links of project ZZ: %d rows", len(got))
	}

	users := walk(t, e, b, "/admin/users?q=user", "Next", userCell)
	if !slices.Equal(users, names) {
		t.Fatalf("users paging: %d rows %v", len(users), users)
	}

	if got := walk(t, e, b, "/admin/connections", "Next", wsCell); !slices.Equal(got, workspaces) {
		t.Fatalf("workspaces paging: %d rows %v", len(got), got)
	}
	if got := walk(t, e, b, "/admin/connections?q=WORKSPACE+1", "Next", wsCell); !slices.Equal(got, workspaces[100:]) {
		t.Fatalf("workspaces named Workspace 1…: %d rows %v", len(got), got)
	}
	if got := walk(t, e, b, "/admin/connections?q=8007", "Next", wsCell); !slices.Equal(got, []string{"Workspace 007"}) {
		t.Fatalf("the workspace of gid 8007: %v", got)
	}

	var entries []string
	for i := 119; i >= 0; i-- {
		entries = append(entries, fmt.Sprintf("entry %d", i))
	}
	if got := walk(t, e, b, "/admin/audit?action=test.entry", "Older entries", auditCell); !slices.Equal(got, entries) {
		t.Fatalf("audit paging: %d rows %v", len(got), got)
	}
}

func linkID(t *testing.T, e *env, key string) int64 {
	t.Helper()
	ls, err := e.store.ListLinks(t.Context(), store.LinkFilter{Query: key})
	if err != nil || len(ls) != 1 {
		t.Fatalf("link %s: %v %v", key, ls, err)
	}
	return ls[0].ID
}

// The Connections page lists the Jira servers a page at a time by name,
// every server once, and not while it searches workspaces; a workspace's
// connect page offers them a page at a time.
func TestConnectionsPageListsServersAPageAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	b := e.admin()
	var (
		names []string
		last  store.JiraServer
	)
	for _, i := range []int{7, 23, 0, 12, 3, 18, 9, 21, 1, 15, 5, 11, 20, 2, 16, 8, 22, 4, 13, 19, 6, 10, 17, 14} {
		last = store.JiraServer{Name: fmt.Sprintf("Server %02d", i), BaseURL: fmt.Sprintf("https://jira%d.example.com", i)}
		if err := e.store.CreateJiraServer(ctx, &last); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 24 {
		names = append(names, fmt.Sprintf("Server %02d", i))
	}
	if err := e.store.PutWorkspace(ctx, store.Workspace{GID: "8001", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	serverCell := regexp.MustCompile(`<td><a href="/admin/servers/js_[^"]+">(Server \d+)</a>`)
	if got := walk(t, e, b, "/admin/connections", "More servers", serverCell); !slices.Equal(got, names) {
		t.Fatalf("servers paging: %d rows %v", len(got), got)
	}
	// A workspace's connect page offers them a page at a time too.
	optionCell := regexp.MustCompile(`<option value="js_[^"]+">(Server \d+)</option>`)
	if got := walk(t, e, b, "/admin/workspaces/8001/connect", "More servers", optionCell); !slices.Equal(got, names) {
		t.Fatalf("servers offered to connect: %d rows %v", len(got), got)
	}
	r := b.get(e.hs.URL + "/admin/connections?q=acme")
	if r.Status != http.StatusOK || strings.Contains(r.Body, `id="servers"`) || !strings.Contains(r.Body, `href="/admin/workspaces/8001/connect"`) {
		t.Errorf("a workspace search lists the servers, or offers no connect page: %d\n%s", r.Status, r.Body)
	}

	// With more servers than a page, the Links page's filter is set from a
	// server's page, and names the server it is set to.
	if err := e.store.CreateLink(ctx, &store.Link{WorkspaceGID: "8001", TaskGID: "5001", JiraServerID: last.ID, IssueID: "9001", IssueKey: "ZZ-1"}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]string{
		"/admin/links": {`<p class="hint" id="server-filter">A Jira server's page`, `<td>Server 14</td>`},
		"/admin/links?server=" + last.ID: {`<input type="hidden" name="server" value="` + last.ID + `">`,
			`Links of Server 14 only: <a href="/admin/links">all servers</a>.`, `<a href="https://jira14.example.com/browse/ZZ-1">ZZ-1</a>`},
	} {
		r := b.get(e.hs.URL + path)
		if r.Status != http.StatusOK || strings.Contains(r.Body, `<select id="server"`) {
			t.Errorf("%s: %d, or it offers every server", path, r.Status)
		}
		for _, w := range want {
			if !strings.Contains(r.Body, w) {
				t.Errorf("%s lacks %s", path, w)
			}
		}
	}
}
