package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/store"
)

// Every admin page and action refuses a request without an admin session:
// pages redirect to the sign-in page, actions answer 403.
func TestEveryRouteNeedsAnAdminSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := store.JiraServer{Name: "Jira", BaseURL: "https://jira.example.com"}
	if err := e.store.CreateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	routes := []struct{ method, path string }{
		{"GET", "/admin/"},
		{"GET", "/admin/connections"},
		{"GET", "/admin/workspaces/asana"},
		{"GET", "/admin/workspaces/1201000000000001/projects"},
		{"GET", "/admin/servers/new"},
		{"GET", "/admin/servers/" + srv.ID},
		{"GET", "/admin/links?q=OPS"},
		{"GET", "/admin/users"},
		{"GET", "/admin/jobs"},
		{"GET", "/admin/audit"},
		{"GET", "/admin/admins"},
		{"GET", "/admin/no-such-page"},
		{"POST", "/admin/signout"},
		{"POST", "/admin/workspaces"},
		{"POST", "/admin/connections"},
		{"POST", "/admin/connections/delete"},
		{"POST", "/admin/routes"},
		{"POST", "/admin/routes/delete"},
		{"POST", "/admin/servers"},
		{"POST", "/admin/servers/" + srv.ID + "/automatic"},
		{"POST", "/admin/servers/" + srv.ID + "/verify"},
		{"POST", "/admin/servers/" + srv.ID + "/check"},
		{"POST", "/admin/servers/" + srv.ID + "/webhook"},
		{"POST", "/admin/servers/" + srv.ID + "/oauth2"},
		{"POST", "/admin/servers/" + srv.ID + "/methods"},
		{"POST", "/admin/servers/" + srv.ID + "/ca-bundle"},
		{"POST", "/admin/servers/" + srv.ID + "/delete"},
		{"POST", "/admin/jobs/1/retry"},
		{"POST", "/admin/admins"},
		{"POST", "/admin/admins/delete"},
	}
	// A non-admin's browser, a forged cookie and no cookie at all.
	outsider := newBrowser(t)
	if r := e.signIn(outsider, "alice"); r.Status != http.StatusForbidden {
		t.Fatalf("alice signing in: %d, want 403", r.Status)
	}
	forged := newBrowser(t)
	u, _ := url.Parse(e.hs.URL + "/admin/")
	forged.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "asanajira_admin", Value: "eyJwIjoiYXNhbmFqaXJhIn0", Path: "/admin"}})
	for _, who := range []struct {
		name string
		b    *browser
	}{{"anonymous", newBrowser(t)}, {"non-admin", outsider}, {"forged cookie", forged}} {
		for _, rt := range routes {
			t.Run(who.name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				var r response
				if rt.method == "GET" {
					r = who.b.get(e.hs.URL + rt.path)
				} else {
					r = who.b.post(e.hs.URL+rt.path, url.Values{"csrf": {"x"}, "gid": {"1"}, "base_url": {"https://x.example.com"}})
				}
				switch rt.method {
				case "GET":
					if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/signin?next=") {
						t.Errorf("got %d %q, want a redirect to the sign-in page", r.Status, r.Location)
					}
				default:
					if r.Status != http.StatusForbidden {
						t.Errorf("got %d, want 403", r.Status)
					}
				}
			})
		}
	}
	ws, err := e.store.ListWorkspaces(t.Context())
	if err != nil || len(ws) != 0 {
		t.Errorf("workspaces after refused requests: %v, %v", ws, err)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"missing", "", http.StatusForbidden},
		{"wrong", "0123456789abcdef", http.StatusForbidden},
		{"another session's", e.csrf(e.admin()), http.StatusForbidden},
		{"right", e.csrf(b), http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.post(e.hs.URL+"/admin/workspaces", url.Values{"csrf": {tt.token}, "gid": {"1201000000000001"}, "name": {"Demo"}})
			if r.Status != tt.want {
				t.Errorf("status %d, want %d: %s", r.Status, tt.want, r.Body)
			}
		})
	}
	// Only the accepted form changed anything, and it was audited.
	entries, err := e.store.ListAudit(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, en := range entries {
		if en.Action == "workspace.add" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d workspace.add audit entries, want 1", n)
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	seed := func(e *env) map[string]string { return e.asana.Seed().Users }
	tests := []struct {
		name   string
		admins func(users map[string]string) []string
		login  string
		want   int
	}{
		{"admin by gid", func(u map[string]string) []string { return []string{u["admin"]} }, "admin", http.StatusSeeOther},
		{"admin by email, any case", func(map[string]string) []string { return []string{"ALICE@acme.example"} }, "alice", http.StatusSeeOther},
		{"not listed", func(u map[string]string) []string { return []string{u["admin"]} }, "bob", http.StatusForbidden},
		{"empty list", func(map[string]string) []string { return nil }, "admin", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.deps.Admins = tt.admins(seed(e))
			e.restart()
			b := newBrowser(t)
			r := e.signIn(b, tt.login)
			if r.Status != tt.want {
				t.Fatalf("callback: %d, want %d: %s", r.Status, tt.want, r.Body)
			}
			page := b.get(e.hs.URL + "/admin/connections")
			if signedIn := page.Status == http.StatusOK; signedIn != (tt.want == http.StatusSeeOther) {
				t.Errorf("connections page: %d", page.Status)
			}
		})
	}
}

func TestSignInStateIsOneTimeAndBoundToTheBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t)
	start := b.get(e.hs.URL + "/admin/signin/start")
	au, _ := url.Parse(start.Location)
	q := au.Query()
	code, err := e.asana.IssueOAuthCode("admin", q.Get("redirect_uri"), q.Get("code_challenge"))
	if err != nil {
		t.Fatal(err)
	}
	cb := q.Get("redirect_uri") + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()

	// Another browser cannot finish this sign-in (no state cookie).
	if r := newBrowser(t).get(cb); r.Status != http.StatusForbidden {
		t.Errorf("other browser: %d, want 403", r.Status)
	}
	if r := b.get(cb); r.Status != http.StatusSeeOther {
		t.Fatalf("own browser: %d %s", r.Status, r.Body)
	}
	// Replaying the callback fails: the state was consumed.
	if r := b.get(cb); r.Status != http.StatusForbidden {
		t.Errorf("replay: %d, want 403", r.Status)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		public string
		secure bool
	}{{"http", "", false}, {"https", "https://asanajira.example.com", true}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.public != "" {
				e.deps.PublicURL = tt.public
				e.restart()
			}
			b := newBrowser(t)
			start := b.get(e.hs.URL + "/admin/signin/start")
			au, _ := url.Parse(start.Location)
			q := au.Query()
			code, _ := e.asana.IssueOAuthCode("admin", q.Get("redirect_uri"), q.Get("code_challenge"))
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet,
				e.hs.URL+"/admin/auth/callback?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), nil)
			req.AddCookie(&http.Cookie{Name: "asanajira_admin_state", Value: q.Get("state")})
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var got *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "asanajira_admin" {
					got = c
				}
			}
			if got == nil {
				t.Fatalf("no session cookie (status %d)", resp.StatusCode)
			}
			if !got.HttpOnly || got.SameSite != http.SameSiteLaxMode || got.Secure != tt.secure || got.Path != "/admin" {
				t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Secure=%v, Path=/admin", got, tt.secure)
			}
		})
	}
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	if r := e.postForm(b, "/admin/signout", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Status)
	}
	if r := b.get(e.hs.URL + "/admin/connections"); r.Status != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want a redirect to sign in", r.Status)
	}
}

// Removing an admin from the configuration ends their session at once.
func TestRemovedAdminLosesAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	e.deps.Admins = []string{"someone-else@example.com"}
	e.restart()
	if r := b.get(e.hs.URL + "/admin/connections"); r.Status != http.StatusForbidden {
		t.Errorf("removed admin: %d, want 403", r.Status)
	}
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins())
	c := e.console.Load()
	link, ok, err := c.BootstrapURL(t.Context())
	if err != nil || !ok {
		t.Fatalf("BootstrapURL = %q, %v, %v", link, ok, err)
	}
	lu, _ := url.Parse(link)
	token := lu.Query().Get("token")

	b := newBrowser(t)
	// Opening the link spends nothing.
	if r := b.get(link); r.Status != http.StatusOK || !strings.Contains(r.Body, token) {
		t.Fatalf("bootstrap page: %d", r.Status)
	}
	r := b.post(e.hs.URL+"/admin/bootstrap", url.Values{"token": {token}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("bootstrap: %d %s", r.Status, r.Body)
	}
	// It continues with Asana sign-in; whoever signs in becomes an admin.
	au, _ := url.Parse(r.Location)
	q := au.Query()
	code, _ := e.asana.IssueOAuthCode("bob", q.Get("redirect_uri"), q.Get("code_challenge"))
	cb := b.get(q.Get("redirect_uri") + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode())
	if cb.Status != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", cb.Status, cb.Body)
	}
	if r := b.get(e.hs.URL + "/admin/connections"); r.Status != http.StatusOK {
		t.Fatalf("connections after bootstrap: %d", r.Status)
	}
	// The token was one-time.
	if r := newBrowser(t).post(e.hs.URL+"/admin/bootstrap", url.Values{"token": {token}}); r.Status != http.StatusForbidden {
		t.Errorf("second use: %d, want 403", r.Status)
	}
	// An admin has signed in: no more bootstrap links, even after a restart.
	e.restart()
	if link, ok, err := e.console.Load().BootstrapURL(t.Context()); ok || err != nil || link != "" {
		t.Errorf("BootstrapURL after sign-in = %q, %v, %v", link, ok, err)
	}
	// bob, granted by the bootstrap, signs in again later; alice cannot.
	if r := e.signIn(newBrowser(t), "bob"); r.Status != http.StatusSeeOther {
		t.Errorf("bob again: %d", r.Status)
	}
	if r := e.signIn(newBrowser(t), "alice"); r.Status != http.StatusForbidden {
		t.Errorf("alice: %d, want 403", r.Status)
	}
}

func TestBootstrapWithoutAsanaApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmins(), withoutAsanaApp())
	link, ok, err := e.console.Load().BootstrapURL(t.Context())
	if err != nil || !ok {
		t.Fatalf("BootstrapURL = %q, %v, %v", link, ok, err)
	}
	lu, _ := url.Parse(link)
	b := newBrowser(t)
	r := b.post(e.hs.URL+"/admin/bootstrap", url.Values{"token": {lu.Query().Get("token")}})
	if r.Status != http.StatusSeeOther || r.Location != "/admin/connections" {
		t.Fatalf("bootstrap: %d %q", r.Status, r.Location)
	}
	if r := b.get(e.hs.URL + "/admin/connections"); r.Status != http.StatusOK {
		t.Fatalf("connections: %d", r.Status)
	}
	if r := b.get(e.hs.URL + "/admin/signin"); r.Status != http.StatusSeeOther {
		t.Errorf("sign-in page while signed in: %d", r.Status)
	}
	if r := newBrowser(t).get(e.hs.URL + "/admin/signin"); !strings.Contains(r.Body, "not configured") {
		t.Errorf("sign-in page does not say Asana sign-in is not configured")
	}
}
