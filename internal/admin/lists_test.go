package admin_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
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
