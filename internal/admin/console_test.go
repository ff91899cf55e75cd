package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/admin"
	"github.com/asanajira/asanajira/internal/store"
)

// clockedEnv is an env whose console clock starts now and moves when the
// test sets it; the store and the Asana emulator keep real time.
func clockedEnv(t *testing.T) (e *env, start time.Time, set func(time.Time)) {
	t.Helper()
	var now atomic.Int64
	start = time.Now().UTC().Truncate(time.Second)
	now.Store(start.Unix())
	e = newEnv(t, func(d *admin.Deps) { d.Now = func() time.Time { return time.Unix(now.Load(), 0).UTC() } })
	return e, start, func(t time.Time) { now.Store(t.Unix()) }
}

// The header marks the page's section for assistive technology: the
// section's own page is aria-current="page", a page inside it "true", and
// no other link is marked.
func TestHeaderMarksTheCurrentSection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	dc, _ := seedPages(t, e)
	current := regexp.MustCompile(`<a href="(/admin/[a-z-]+)" aria-current="([a-z]+)">`)
	for _, tc := range []struct{ path, link, value string }{
		{"/admin/connections", "/admin/connections", "page"},
		{"/admin/servers/" + dc.ID, "/admin/connections", "true"},
		{"/admin/servers/new", "/admin/connections", "true"},
		{"/admin/workspaces/asana", "/admin/connections", "true"},
		{"/admin/workspaces/1201000000000001/projects", "/admin/connections", "true"},
		{"/admin/links", "/admin/links", "page"},
		{"/admin/users", "/admin/users", "page"},
		{"/admin/jobs", "/admin/jobs", "page"},
		{"/admin/audit", "/admin/audit", "page"},
		{"/admin/admins", "/admin/admins", "page"},
		{"/admin/api-tokens", "/admin/api-tokens", "page"},
	} {
		r := b.get(e.hs.URL + tc.path)
		got := current.FindAllStringSubmatch(r.Body, -1)
		if len(got) != 1 || got[0][1] != tc.link || got[0][2] != tc.value {
			t.Errorf("%s marks %v, want %s as %q", tc.path, got, tc.link, tc.value)
		}
		if !strings.Contains(r.Body, `<button class="quiet" id="signout">Sign out</button>`) {
			t.Errorf("%s has no sign-out button of its own", tc.path)
		}
	}
}

// A workspace is offered only the servers it is not connected to yet, on
// its own connect page, which its card on the Connections page links to.
func TestConnectedServerIsNotOfferedAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	dc, old := seedPages(t, e)
	if r := e.postForm(b, "/admin/workspaces", url.Values{"gid": {"1201000000000002"}, "name": {"Beta"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add workspace: %d", r.Status)
	}
	offered := func(gid string) []string {
		t.Helper()
		r := b.get(e.hs.URL + "/admin/workspaces/" + gid + "/connect")
		if r.Status != http.StatusOK {
			t.Fatalf("the connect page of workspace %s: %d", gid, r.Status)
		}
		_, sel, ok := strings.Cut(r.Body, `<select id="connect-`+gid+`" name="server">`)
		if !ok {
			return nil
		}
		sel, _, _ = strings.Cut(sel, "</select>")
		var ids []string
		for _, m := range regexp.MustCompile(`<option value="([^"]+)">`).FindAllStringSubmatch(sel, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	page := b.get(e.hs.URL + "/admin/connections").Body
	for _, gid := range []string{"1201000000000001", "1201000000000002"} {
		if !strings.Contains(page, `href="/admin/workspaces/`+gid+`/connect"`) {
			t.Errorf("the card of workspace %s does not link to its connect page", gid)
		}
	}
	if r := b.get(e.hs.URL + "/admin/workspaces/999/connect"); r.Status != http.StatusNotFound {
		t.Errorf("the connect page of an unknown workspace: %d, want 404", r.Status)
	}
	if got := offered("1201000000000001"); got != nil {
		t.Errorf("Acme, connected to both servers, is offered %v", got)
	}
	if got := strings.Join(offered("1201000000000002"), ","); got != dc.ID+","+old.ID {
		t.Errorf("Beta is offered %s, want both servers", got)
	}
	if r := e.postForm(b, "/admin/connections", url.Values{"workspace": {"1201000000000002"}, "server": {dc.ID}, "default": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("connect: %d %s", r.Status, r.Body)
	}
	if got := strings.Join(offered("1201000000000002"), ","); got != old.ID {
		t.Errorf("Beta, connected to %s, is offered %s", dc.Name, got)
	}
}

// A server whose application link exists does not ask for it to be made:
// the setup moves into "Make the link again".
func TestServerPageAsksForTheLinkOnlyWhileThereIsNone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	dc, old := seedPages(t, e)
	linked := b.get(e.hs.URL + "/admin/servers/" + dc.ID).Body
	for _, unwanted := range []string{"Create the application link", "Pick one way", `<div class="card" id="automatic">`} {
		if strings.Contains(linked, unwanted) {
			t.Errorf("the page of a linked server shows %q", unwanted)
		}
	}
	for _, want := range []string{`<details id="relink"><summary>Make the link again</summary>`, `<details id="webhook-repair">`, "asanajira created the application link"} {
		if !strings.Contains(linked, want) {
			t.Errorf("the page of a linked server lacks %q", want)
		}
	}
	unlinked := b.get(e.hs.URL + "/admin/servers/" + old.ID).Body
	for _, want := range []string{"Create the application link", "Pick one way", `<div class="card" id="automatic">`} {
		if !strings.Contains(unlinked, want) {
			t.Errorf("the page of a server without a link lacks %q", want)
		}
	}
}

// "Run the checks again" runs the doctor and records when: the page and
// the database show the new time.
func TestRunTheChecksAgainRecordsTheTime(t *testing.T) {
	t.Parallel()
	// The console's clock moves on by hours between the sign-in and the
	// check.
	e, start, setNow := clockedEnv(t)
	b := e.admin()
	_, old := seedPages(t, e)
	later := start.Add(3*time.Hour + 17*time.Minute)
	setNow(later)
	r := e.postForm(b, "/admin/servers/"+old.ID+"/check", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/admin/servers/"+old.ID {
		t.Fatalf("check: %d %q %s", r.Status, r.Location, r.Body)
	}
	srv, err := e.store.GetJiraServer(t.Context(), old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !srv.CheckedAt.Equal(later) {
		t.Errorf("checked at %v, want %v", srv.CheckedAt, later)
	}
	page := b.get(e.hs.URL + r.Location).Body
	for _, want := range []string{
		`Last checked <time datetime="` + later.Format(time.RFC3339) + `" title="` + later.Format("2006-01-02 15:04:05 UTC") + `">` + later.Format("2 Jan 2006, 15:04 UTC") + `</time>.`,
		"Checked again: every required check passed.", `<details class="checks">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page after the check lacks %q", want)
		}
	}
}

// A Jira that refuses connections is not saved: the form comes back with
// the failed checks and "Save anyway", which saves it.
func TestServerFailingItsChecksIsSavedOnlyWhenTheAdminInsists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.doctor = nil // the real doctor, against a closed port
	e.restart()
	b := e.admin()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/jira"
	_ = ln.Close()

	r := e.postForm(b, "/admin/servers", url.Values{"base_url": {refused}, "name": {"Typo Jira"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a refused server: %d %q, want 422", r.Status, r.Location)
	}
	for _, want := range []string{"nothing was saved", `id="failed-checks"`, `<tr data-check="tcp">`, `id="save-anyway"`, `value="` + refused + `"`, `value="Typo Jira"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	if strings.Contains(r.Body, `id="flash"`) {
		t.Error("the refused form shows a success message")
	}
	if servers, _ := e.store.ListJiraServers(t.Context()); len(servers) != 0 {
		t.Fatalf("a server that failed its checks was saved: %+v", servers)
	}
	srv := e.addServerWith(b, url.Values{"base_url": {refused}, "name": {"Typo Jira"}, "insist": {"1"}})
	if srv.Status != "unreachable" {
		t.Errorf("the server saved anyway is %q, want unreachable", srv.Status)
	}
	page := b.get(e.hs.URL + "/admin/servers/" + srv.ID).Body
	if !strings.Contains(page, "saved although some checks failed") {
		t.Error("the server page does not say it was saved despite failed checks")
	}
	// Its removal describes only what exists: nothing in Jira, nothing in
	// asanajira besides the server.
	for _, want := range []string{"Removes Typo Jira from asanajira. No workspace uses it, nobody has authorized it and it has no links.",
		"asanajira made nothing in Jira for this server, so nothing is removed there."} {
		if !strings.Contains(page, want) {
			t.Errorf("the removal lacks %q", want)
		}
	}
	for _, unwanted := range []string{"application link and", "the webhook", `id="remove_admin_token"`} {
		_, removal, _ := strings.Cut(page, `id="remove"`)
		if strings.Contains(removal, unwanted) {
			t.Errorf("the removal of a server with nothing in Jira mentions %q", unwanted)
		}
	}
	r = e.postForm(b, "/admin/servers/"+srv.ID+"/delete", url.Values{"confirm": {"Typo Jira"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	if flash := b.get(e.hs.URL + "/admin/connections").Body; !strings.Contains(flash, ">Removed Typo Jira.</p>") {
		t.Errorf("the removal's message says more than what was removed:\n%s", flash)
	}
}

// The removal of a server in use names what goes with it and what
// asanajira made in Jira.
func TestServerRemovalDescribesWhatExists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	dc, _ := seedPages(t, e)
	page := b.get(e.hs.URL + "/admin/servers/" + dc.ID).Body
	for _, want := range []string{
		`<p id="remove-what">Removes Jira DC from asanajira with its 1 workspace connection (Acme), 1 user&#39;s Jira authorization and 1 task ↔ issue link.</p>`,
		"In Jira: the application link asanajira (", ") and the webhook.", `id="remove_admin_token"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the removal lacks %q", want)
		}
	}
	// A server many workspaces use: they are counted, a few named.
	for i := range 12 {
		gid := fmt.Sprint(1301000000000000 + i)
		if err := e.store.PutWorkspace(t.Context(), store.Workspace{GID: gid, Name: fmt.Sprintf("W%02d", i)}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.PutConnection(t.Context(), store.Connection{WorkspaceGID: gid, JiraServerID: dc.ID, IsDefault: true}); err != nil {
			t.Fatal(err)
		}
	}
	page = b.get(e.hs.URL + "/admin/servers/" + dc.ID).Body
	want := `<p id="remove-what">Removes Jira DC from asanajira with its 13 workspace connections (Acme, W00, W01, W02, W03, W04, W05, W06, W07, W08 and 3 more), `
	if !strings.Contains(page, want) {
		_, removal, _ := strings.Cut(page, `id="remove-what">`)
		removal, _, _ = strings.Cut(removal, "</p>")
		t.Errorf("the removal of a server 13 workspaces use says %q, want %q", removal, want)
	}
}

// The pickers list the admin's Asana workspaces and a workspace's projects
// by name, a page at a time, searchable by name; choosing a project and a
// server adds the override.
func TestPickProjectsByName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	dc, _ := seedPages(t, e)
	ws := e.asana.Seed().Workspace
	var made []string
	for i := range 60 {
		made = append(made, e.createProject(t, ws, fmt.Sprintf("Project %02d", i)))
	}

	page := b.get(e.hs.URL + "/admin/workspaces/asana?q=acm").Body
	if !strings.Contains(page, `<tr data-workspace="`+ws+`"><td>Acme<span class="sub">`+ws+`</span>`) {
		t.Errorf("the workspace search does not find Acme:\n%s", page)
	}
	if page := b.get(e.hs.URL + "/admin/workspaces/asana?q=nope").Body; !strings.Contains(page, "None of your workspaces is called “nope”.") {
		t.Errorf("a search without matches:\n%s", page)
	}

	row := regexp.MustCompile(`<tr data-project="(\d+)"><td><label class="check"><input type="radio" name="project" value="\d+" required> <span>([^<]+)<span`)
	names := func(body string) []string {
		var out []string
		for _, m := range row.FindAllStringSubmatch(body, -1) {
			out = append(out, m[2])
		}
		return out
	}
	first := b.get(e.hs.URL + "/admin/workspaces/" + ws + "/projects")
	if first.Status != http.StatusOK {
		t.Fatalf("projects: %d %s", first.Status, first.Body)
	}
	got := names(first.Body)
	if len(got) != 50 || got[0] != "Launch" || got[1] != "Project 00" || strings.Contains(first.Body, ">First page<") {
		t.Fatalf("the first page lists %d projects: %v", len(got), got)
	}
	next := regexp.MustCompile(`<a href="([^"]+)">Next page</a>`).FindStringSubmatch(first.Body)
	if next == nil {
		t.Fatal("no next page")
	}
	second := b.get(e.hs.URL + strings.ReplaceAll(next[1], "&amp;", "&")).Body
	if got := names(second); len(got) != 11 || got[10] != "Project 59" || !strings.Contains(second, ">First page<") || strings.Contains(second, ">Next page<") {
		t.Fatalf("the second page lists %v", got)
	}
	// Launch routes to Legacy Jira already (seedPages); the list says so.
	if !strings.Contains(first.Body, `<tr data-project="1201000000000101">`) || !strings.Contains(first.Body, "Legacy Jira (LEG)") {
		t.Error("the list does not show the existing override")
	}

	found := b.get(e.hs.URL + "/admin/workspaces/" + ws + "/projects?q=project+4").Body
	if got := names(found); len(got) != 10 || got[0] != "Project 49" {
		t.Errorf("searching “project 4” finds %v", got)
	}
	if got := names(b.get(e.hs.URL + "/admin/workspaces/" + ws + "/projects?q=zzz").Body); len(got) != 0 {
		t.Errorf("searching “zzz” finds %v", got)
	}

	r := e.postForm(b, "/admin/routes", url.Values{"workspace": {ws}, "project": {made[42]}, "server": {dc.ID}, "jira_project": {"ops"}})
	if r.Status != http.StatusSeeOther || r.Location != "/admin/connections" {
		t.Fatalf("route: %d %s", r.Status, r.Body)
	}
	if got, err := e.store.RouteProject(t.Context(), ws, made[42]); err != nil || got.ID != dc.ID {
		t.Errorf("Project 42 routes to %q, %v", got.ID, err)
	}
}

// createProject makes a project in the Asana emulator as the admin.
func (e *env) createProject(t *testing.T, workspace, name string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"name": name, "workspace": workspace}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.asanaHS.URL+"/api/1.0/projects", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer pat-admin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct{ GID string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create project %s: %d %v", name, resp.StatusCode, err)
	}
	return out.Data.GID
}

// A session without Asana sign-in (a bootstrap session) cannot read Asana:
// the pickers say so and take a gid instead.
func TestPickersWithoutAsanaSignin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins(), withoutAsanaApp())
	b := newBrowser(t)
	if r := e.useLink(b, e.bootstrapLink()); r.Status != http.StatusSeeOther {
		t.Fatalf("bootstrap: %d %s", r.Status, r.Body)
	}
	page := b.get(e.hs.URL + "/admin/workspaces/asana").Body
	for _, want := range []string{"did not sign in with Asana", `<details class="card" open><summary>Add a workspace by its gid</summary>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the workspace picker lacks %q", want)
		}
	}
	if err := e.store.PutWorkspace(t.Context(), store.Workspace{GID: "1201000000000001", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	srv := store.JiraServer{Name: "Jira", BaseURL: "https://jira.example.com"}
	if err := e.store.CreateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutConnection(t.Context(), store.Connection{WorkspaceGID: "1201000000000001", JiraServerID: srv.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	page = b.get(e.hs.URL + "/admin/workspaces/1201000000000001/projects").Body
	if !strings.Contains(page, `<label for="project">Asana project gid</label>`) {
		t.Errorf("the project picker does not take a gid without Asana:\n%s", page)
	}
}

// Asana's access tokens last an hour; the console refreshes the admin's
// before reading Asana with it, and keeps the new one in the session.
func TestAsanaTokenRefreshedForThePickers(t *testing.T) {
	t.Parallel()
	e, start, setNow := clockedEnv(t)
	b := e.admin()
	u, _ := url.Parse(e.hs.URL + "/admin/")
	cookie := func() string {
		for _, c := range b.hc.Jar.Cookies(u) {
			if c.Name == "asanajira_admin" {
				return c.Value
			}
		}
		return ""
	}
	before := cookie()
	ws := e.asana.Seed().Workspace
	if r := b.get(e.hs.URL + "/admin/workspaces/asana"); !strings.Contains(r.Body, `data-workspace="`+ws+`"`) || cookie() != before {
		t.Fatalf("a fresh token: %d, cookie changed %v", r.Status, cookie() != before)
	}
	setNow(start.Add(61 * time.Minute))
	r := b.get(e.hs.URL + "/admin/workspaces/asana")
	if !strings.Contains(r.Body, `data-workspace="`+ws+`"`) {
		t.Fatalf("after an hour the picker says:\n%s", r.Body)
	}
	after := cookie()
	if after == before || after == "" {
		t.Fatal("the session cookie does not carry a refreshed token")
	}
	// The refreshed session is used from then on, without another refresh.
	if r := b.get(e.hs.URL + "/admin/workspaces/asana"); !strings.Contains(r.Body, `data-workspace="`+ws+`"`) || cookie() != after {
		t.Errorf("the next read: %d, refreshed again %v", r.Status, cookie() != after)
	}
}
