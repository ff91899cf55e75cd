package admin_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/admin"
)

// Someone signed in to Asana as a user who is not an admin is told so in
// words for the situation (the demo names its admin account), and can sign
// in with another Asana account: the console asks Asana to let them choose
// (prompt=login), and the Asana emulator then asks who they are, although
// they are signed in there.
func TestNotAnAdminSignsInWithAnotherAccount(t *testing.T) {
	t.Parallel()
	const hint = "This is asanajira's demo: sign in to Asana as admin (password admin) to use the console."
	e := newEnv(t, func(d *admin.Deps) { d.SignInHint = hint })
	b := newBrowser(t)
	// alice is signed in to Asana in this browser (the task pane).
	if r := b.post(e.asanaHS.URL+"/-/login", url.Values{"username": {"alice"}, "password": {"alice"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("Asana login: %d", r.Status)
	}
	authorize := func(start response) (*url.URL, string) {
		t.Helper()
		if start.Status != http.StatusSeeOther {
			t.Fatalf("sign-in start: %d %s", start.Status, start.Body)
		}
		u, err := url.Parse(start.Location)
		if err != nil {
			t.Fatal(err)
		}
		return u, b.get(start.Location).Body
	}
	allow := func(u *url.URL, creds url.Values) response {
		t.Helper()
		form := u.Query()
		form.Set("decision", "allow")
		for k, v := range creds {
			form[k] = v
		}
		r := b.post(e.asanaHS.URL+"/-/oauth_authorize", form)
		if r.Status != http.StatusFound {
			t.Fatalf("allow: %d %s", r.Status, r.Body)
		}
		return b.get(r.Location)
	}

	u, consent := authorize(b.get(e.hs.URL + "/admin/signin/start?next=/admin/links"))
	if !strings.Contains(consent, "Signed in as <strong>Alice Anders</strong>") || u.Query().Has("prompt") {
		t.Fatalf("the first sign-in goes on as alice:\n%s", consent)
	}
	refused := allow(u, nil)
	if refused.Status != http.StatusForbidden {
		t.Fatalf("alice: %d, want 403", refused.Status)
	}
	for _, want := range []string{"Alice Anders is not an admin here", "alice@acme.example", html.EscapeString(hint),
		`<a class="button" id="switch-account" href="/admin/signin/start?account=other&amp;next=%2fadmin%2flinks">Sign in with another Asana account</a>`,
		`href="` + e.asanaHS.URL + `"`} {
		if !strings.Contains(refused.Body, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, refused.Body)
		}
	}
	for _, unwanted := range []string{"something stopped this", "Should you be an admin?"} {
		if strings.Contains(refused.Body, unwanted) {
			t.Errorf("the refusal in the demo says %q", unwanted)
		}
	}

	u, consent = authorize(b.get(e.hs.URL + "/admin/signin/start?account=other&next=%2fadmin%2flinks"))
	if u.Query().Get("prompt") != "login" || strings.Contains(consent, "Signed in as") || !strings.Contains(consent, `name="username"`) {
		t.Fatalf("signing in with another account does not ask who:\n%s", consent)
	}
	in := allow(u, url.Values{"username": {"admin"}, "password": {"admin"}})
	if in.Status != http.StatusSeeOther || in.Location != "/admin/links" {
		t.Fatalf("admin: %d %q %s", in.Status, in.Location, in.Body)
	}
	if page := b.get(e.hs.URL + "/admin/links"); page.Status != http.StatusOK || !strings.Contains(page.Body, ">Ada Admin</span>") {
		t.Errorf("after switching accounts: %d", page.Status)
	}
}

// Outside the demo the refusal says how to become an admin.
func TestNotAnAdminOutsideTheDemo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.signIn(newBrowser(t), "bob")
	if r.Status != http.StatusForbidden {
		t.Fatalf("bob: %d", r.Status)
	}
	for _, want := range []string{"Bob Brown is not an admin here", "Should you be an admin?", "<code>--admins</code>", `id="switch-account"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, r.Body)
		}
	}
	if strings.Contains(r.Body, `id="signin-hint"`) {
		t.Error("the refusal outside the demo shows the demo's hint")
	}
}
