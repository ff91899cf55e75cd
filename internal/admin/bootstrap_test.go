package admin_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// bootstrapLink asks the console for a bootstrap link, as a start does.
func (e *env) bootstrapLink() string {
	e.t.Helper()
	link, ok, err := e.console.Load().BootstrapURL(e.t.Context())
	if err != nil || !ok {
		e.t.Fatalf("BootstrapURL = %q, %v, %v", link, ok, err)
	}
	return link
}

// useLink presses the bootstrap page's button in b; with an Asana app it
// answers with the redirect to Asana's consent page.
func (e *env) useLink(b *browser, link string) response {
	e.t.Helper()
	lu, err := url.Parse(link)
	if err != nil {
		e.t.Fatal(err)
	}
	return b.post(e.hs.URL+"/admin/bootstrap", url.Values{"token": {lu.Query().Get("token")}})
}

// finishSignin completes the Asana sign-in a bootstrap redirect started, as
// the emulator user login, and returns the callback's answer.
func (e *env) finishSignin(b *browser, started response, login string) response {
	e.t.Helper()
	if started.Status != http.StatusSeeOther {
		e.t.Fatalf("bootstrap: %d %s", started.Status, started.Body)
	}
	au, err := url.Parse(started.Location)
	if err != nil {
		e.t.Fatal(err)
	}
	q := au.Query()
	code, err := e.asana.IssueOAuthCode(login, q.Get("redirect_uri"), q.Get("code_challenge"))
	if err != nil {
		e.t.Fatal(err)
	}
	return b.get(q.Get("redirect_uri") + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode())
}

// isAdmin reports whether b's session opens the console.
func (e *env) isAdmin(b *browser) bool {
	e.t.Helper()
	return b.get(e.hs.URL+"/admin/connections").Status == http.StatusOK
}

// auditActions lists the audit log's actions about target, newest first.
func (e *env) auditActions(target string) []string {
	e.t.Helper()
	entries, err := e.store.ListAudit(e.t.Context(), store.AuditFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		if en.Target == target {
			actions = append(actions, en.Action)
		}
	}
	return actions
}

func (e *env) admins() []string {
	e.t.Helper()
	as, err := e.store.ListAdmins(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	var gids []string
	for _, a := range as {
		gids = append(gids, a.GID)
	}
	return gids
}

// The reported attack: link L1 printed at a start, L2 at a restart; the
// admin uses L2, then alice uses L1 and used to become an admin too. Only
// the newest link works, and only while there is no admin.
func TestOnlyTheNewestBootstrapLinkWorks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins())
	l1 := e.bootstrapLink()
	e.restart()
	l2 := e.bootstrapLink()

	admin := newBrowser(t)
	if r := e.finishSignin(admin, e.useLink(admin, l2), "admin"); r.Status != http.StatusSeeOther || !e.isAdmin(admin) {
		t.Fatalf("admin with the newest link: %d %s", r.Status, r.Body)
	}
	alice := newBrowser(t)
	if r := e.useLink(alice, l1); r.Status != http.StatusForbidden {
		t.Fatalf("alice with the older link: %d %q, want 403", r.Status, r.Location)
	}
	if e.isAdmin(alice) || e.signIn(newBrowser(t), "alice").Status != http.StatusForbidden {
		t.Fatal("alice is an admin")
	}
	if got := e.admins(); len(got) != 1 || got[0] != e.asana.Seed().Users["admin"] {
		t.Fatalf("admins table: %v, want the admin only", got)
	}
	// There is an admin now: no more links, even after a restart.
	e.restart()
	if link, ok, err := e.console.Load().BootstrapURL(t.Context()); ok || err != nil || link != "" {
		t.Errorf("BootstrapURL with an admin = %q, %v, %v", link, ok, err)
	}
}

// A link is revoked by the next one even while nobody has used either.
func TestAnOlderBootstrapLinkIsRevoked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins())
	l1 := e.bootstrapLink()
	l2 := e.bootstrapLink()
	if r := e.useLink(newBrowser(t), l1); r.Status != http.StatusForbidden {
		t.Fatalf("revoked link: %d, want 403", r.Status)
	}
	b := newBrowser(t)
	if r := e.finishSignin(b, e.useLink(b, l2), "bob"); r.Status != http.StatusSeeOther || !e.isAdmin(b) {
		t.Fatalf("newest link: %d %s", r.Status, r.Body)
	}
}

func TestAnExpiredBootstrapLinkIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins())
	e.deps.Now = func() time.Time { return time.Now().Add(-25 * time.Hour) } // printed 25 hours ago
	e.restart()
	link := e.bootstrapLink()
	e.deps.Now = nil
	e.restart()
	b := newBrowser(t)
	if r := e.useLink(b, link); r.Status != http.StatusForbidden || e.isAdmin(b) {
		t.Fatalf("expired link: %d, want 403", r.Status)
	}
	if got := e.admins(); len(got) != 0 {
		t.Fatalf("admins: %v", got)
	}
}

// With an admin configured there is no link, and a link made before the
// admin was configured stops working.
func TestBootstrapLinkRefusedWhileAnAdminIsConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins())
	link := e.bootstrapLink()
	e.deps.Admins = []string{e.asana.Seed().Users["admin"]}
	e.restart()
	if link, ok, err := e.console.Load().BootstrapURL(t.Context()); ok || err != nil || link != "" {
		t.Errorf("BootstrapURL with a configured admin = %q, %v, %v", link, ok, err)
	}
	b := newBrowser(t)
	if r := e.useLink(b, link); r.Status != http.StatusForbidden || e.isAdmin(b) {
		t.Fatalf("link after an admin was configured: %d, want 403", r.Status)
	}
}

// Two people who each opened a link before anyone became admin finish
// signing in at the same moment: one becomes the admin.
func TestRacingBootstrapSigninsMakeOneAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins())
	logins := []string{"alice", "bob"}
	browsers := make([]*browser, len(logins))
	started := make([]response, len(logins))
	for i := range logins {
		browsers[i] = newBrowser(t)
		started[i] = e.useLink(browsers[i], e.bootstrapLink()) // a restart between the two
	}
	results := make([]response, len(logins))
	var wg sync.WaitGroup
	for i, login := range logins {
		wg.Go(func() { results[i] = e.finishSignin(browsers[i], started[i], login) })
	}
	wg.Wait()
	admitted := 0
	for i, r := range results {
		switch r.Status {
		case http.StatusSeeOther:
			admitted++
		case http.StatusForbidden:
			if e.isAdmin(browsers[i]) {
				t.Errorf("%s was refused but has a session", logins[i])
			}
		default:
			t.Errorf("%s: %d %s", logins[i], r.Status, r.Body)
		}
	}
	if got := e.admins(); admitted != 1 || len(got) != 1 {
		t.Fatalf("%d admitted, admins table %v; want one admin", admitted, got)
	}
}

// Someone let in once is an admin only while they are in the table.
func TestRemovedTableAdminLosesAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins())
	b := newBrowser(t)
	if r := e.finishSignin(b, e.useLink(b, e.bootstrapLink()), "bob"); r.Status != http.StatusSeeOther || !e.isAdmin(b) {
		t.Fatalf("bootstrap: %d %s", r.Status, r.Body)
	}
	bob := e.asana.Seed().Users["bob"]
	if err := e.store.DeleteAdmin(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	if r := b.get(e.hs.URL + "/admin/connections"); r.Status != http.StatusForbidden {
		t.Errorf("removed admin's session: %d, want 403", r.Status)
	}
	if r := e.signIn(newBrowser(t), "bob"); r.Status != http.StatusForbidden {
		t.Errorf("removed admin signing in: %d, want 403", r.Status)
	}
	// The audit log keeps what happened.
	if actions, want := e.auditActions(bob), []string{"admin.signin_refused", "admin.signin", "admin.grant"}; !slices.Equal(actions, want) {
		t.Errorf("audit actions about bob, newest first: %v, want %v", actions, want)
	}
}

// A bootstrap session without Asana sign-in lasts while there is no admin.
func TestBootstrapSessionEndsOnceThereIsAnAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins(), withoutAsanaApp())
	b := newBrowser(t)
	if r := e.useLink(b, e.bootstrapLink()); r.Status != http.StatusSeeOther || !e.isAdmin(b) {
		t.Fatalf("bootstrap session: %d %q", r.Status, r.Location)
	}
	if err := e.store.GrantFirstAdmin(t.Context(), store.Admin{GID: "1", GrantedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	if r := b.get(e.hs.URL + "/admin/connections"); r.Status != http.StatusForbidden {
		t.Errorf("bootstrap session with an admin: %d, want 403", r.Status)
	}
}

// An admin adds another on the Admins page, who then signs in; removing
// them ends their session; nobody removes themselves.
func TestAdminsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	users := e.asana.Seed().Users
	if err := e.store.PutAsanaUser(ctx, store.AsanaUser{GID: users["alice"], Name: "Alice", Email: "alice@acme.example"}); err != nil {
		t.Fatal(err)
	}
	admin := e.admin()
	if r := admin.get(e.hs.URL + "/admin/admins"); r.Status != http.StatusOK || !strings.Contains(r.Body, `<option value="`+users["alice"]+`">Alice (alice@acme.example)</option>`) {
		t.Fatalf("admins page: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{"", "alice", "12; DROP"} {
		if r := e.postForm(admin, "/admin/admins", url.Values{"gid": {bad}}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("adding %q: %d, want 422", bad, r.Status)
		}
	}
	if r := e.postForm(admin, "/admin/admins", url.Values{"gid": {users["alice"]}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add alice: %d %s", r.Status, r.Body)
	}
	a, err := e.store.GetAdmin(ctx, users["alice"])
	if err != nil || a.Name != "Alice" || a.GrantedBy != "Ada Admin ("+users["admin"]+")" {
		t.Fatalf("alice's admin row: %+v, %v", a, err)
	}
	alice := newBrowser(t)
	if r := e.signIn(alice, "alice"); r.Status != http.StatusSeeOther || !e.isAdmin(alice) {
		t.Fatalf("alice signing in as an added admin: %d %s", r.Status, r.Body)
	}
	if r := e.postForm(alice, "/admin/admins/delete", url.Values{"gid": {users["alice"]}}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("alice removing herself: %d, want 422", r.Status)
	}
	if r := e.postForm(admin, "/admin/admins/delete", url.Values{"gid": {users["bob"]}}); r.Status != http.StatusNotFound {
		t.Errorf("removing someone who is no admin: %d, want 404", r.Status)
	}
	if r := e.postForm(admin, "/admin/admins/delete", url.Values{"gid": {users["alice"]}}); r.Status != http.StatusSeeOther {
		t.Fatalf("remove alice: %d %s", r.Status, r.Body)
	}
	if e.isAdmin(alice) {
		t.Error("alice's session survived her removal")
	}
	if actions, want := e.auditActions(users["alice"]), []string{"admin.revoke", "admin.signin", "admin.grant"}; !slices.Equal(actions, want) {
		t.Errorf("audit actions about alice, newest first: %v, want %v", actions, want)
	}
}
