package asana

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// Projects made over the API are listed, a page at a time, in their
// workspace only; the typeahead finds them by the start of their words.
func TestCreateProjectsAndTypeahead(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	seed := s.Seed()
	ws := seed.Workspace
	names := []string{"Website redesign", "Mobile app", "Web analytics", "Q3 planning"}
	for i, n := range names {
		path, body := "/projects", map[string]any{"data": map[string]any{"name": n, "workspace": ws}}
		if i%2 == 1 {
			path, body = "/workspaces/"+ws+"/projects", map[string]any{"data": map[string]any{"name": n}}
		}
		r := call(t, hs, "pat-admin", "POST", path, body)
		if r.Status != http.StatusCreated || r.data(t)["name"] != n {
			t.Fatalf("create %q: %d %s", n, r.Status, r.Body)
		}
	}
	for _, bad := range []map[string]any{{"name": "No workspace"}, {"workspace": ws}, {"name": "Elsewhere", "workspace": "999"}} {
		if r := call(t, hs, "pat-admin", "POST", "/projects", map[string]any{"data": bad}); r.Status != http.StatusBadRequest {
			t.Errorf("create %v: %d, want 400", bad, r.Status)
		}
	}

	first := call(t, hs, "pat-admin", "GET", "/workspaces/"+ws+"/projects?limit=3&opt_fields=name", nil)
	var got []string
	for _, p := range first.list(t) {
		got = append(got, p.(map[string]any)["name"].(string))
	}
	next, _ := first.decode(t)["next_page"].(map[string]any)
	if strings.Join(got, ",") != "Launch,Website redesign,Mobile app" || next == nil {
		t.Fatalf("first page %v, next %v", got, next)
	}
	second := call(t, hs, "pat-admin", "GET", "/workspaces/"+ws+"/projects?limit=3&opt_fields=name&offset="+url.QueryEscape(next["offset"].(string)), nil)
	if n := len(second.list(t)); n != 2 || second.decode(t)["next_page"] != nil {
		t.Errorf("second page: %d projects, next %v", n, second.decode(t)["next_page"])
	}

	for _, tc := range []struct {
		query, kind string
		want        string
	}{
		{"web", "project", "Web analytics,Website redesign"},
		{"WEB RE", "project", "Website redesign"},
		{"app", "project", "Mobile app"},
		{"sign", "project", ""},
		{"", "project", "Q3 planning,Web analytics,Mobile app,Website redesign,Launch"},
		{"ali", "user", "Alice Anders"},
		{"launch", "task", "Write the launch announcement"},
	} {
		r := call(t, hs, "pat-admin", "GET", "/workspaces/"+ws+"/typeahead?resource_type="+tc.kind+"&query="+url.QueryEscape(tc.query), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("typeahead %q: %d %s", tc.query, r.Status, r.Body)
		}
		var names []string
		for _, it := range r.list(t) {
			m := it.(map[string]any)
			if m["resource_type"] != tc.kind || m["gid"] == "" {
				t.Errorf("typeahead item %v", m)
			}
			names = append(names, m["name"].(string))
		}
		if strings.Join(names, ",") != tc.want {
			t.Errorf("typeahead %s %q = %v, want %s", tc.kind, tc.query, names, tc.want)
		}
	}
	if r := call(t, hs, "pat-admin", "GET", "/workspaces/"+ws+"/typeahead?resource_type=project&count=2", nil); len(r.list(t)) != 2 {
		t.Errorf("count=2 gave %d items", len(r.list(t)))
	}
	if r := call(t, hs, "pat-admin", "GET", "/workspaces/"+ws+"/typeahead?resource_type=project&count=101", nil); r.Status != http.StatusBadRequest {
		t.Errorf("count=101: %d, want 400", r.Status)
	}
	if r := call(t, hs, "pat-admin", "GET", "/workspaces/999/typeahead?resource_type=project", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown workspace: %d, want 404", r.Status)
	}
}

// Someone signed in to Asana can authorize an app as another account:
// the consent page offers "Use another account", which asks for a user
// name and password (prompt=login) and signs the browser in as that user.
func TestAuthorizeAsAnotherAccount(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{App: AppRegistration{RedirectURLs: []string{"https://bridge.example/cb"}}})
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) string {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if resp, err := browser.PostForm(hs.URL+"/-/login", url.Values{"username": {"alice"}, "password": {"alice"}}); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %v %v", resp, err)
	}
	auth := url.Values{"client_id": {"asanajira-demo"}, "redirect_uri": {"https://bridge.example/cb"}, "response_type": {"code"}, "state": {"s"}}
	page := get(hs.URL + "/-/oauth_authorize?" + auth.Encode())
	if !strings.Contains(page, "Signed in as <strong>Alice Anders</strong>") || strings.Contains(page, `name="username"`) {
		t.Fatalf("consent page while signed in:\n%s", page)
	}
	link, _, _ := strings.Cut(strings.SplitN(page, `<a href="`, 2)[1], `"`)
	switchURL, err := url.Parse(strings.ReplaceAll(link, "&amp;", "&"))
	if err != nil || switchURL.Query().Get("prompt") != "login" || switchURL.Query().Get("state") != "s" {
		t.Fatalf("the other-account link %q", link)
	}
	page = get(hs.URL + switchURL.String())
	if strings.Contains(page, "Signed in as") || !strings.Contains(page, `name="username"`) || !strings.Contains(page, `name="prompt" value="login"`) {
		t.Fatalf("consent page with prompt=login:\n%s", page)
	}
	form := url.Values{"decision": {"allow"}, "username": {"bob"}, "password": {"bob"}, "prompt": {"login"}}
	for k, v := range auth {
		form[k] = v
	}
	resp, err := browser.PostForm(hs.URL+"/-/oauth_authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != http.StatusFound || code == "" {
		t.Fatalf("allow as bob: %d %s", resp.StatusCode, loc)
	}
	st, tok := postForm(t, hs.Client(), hs.URL+"/-/oauth_token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"asanajira-demo"},
		"client_secret": {"demo-secret"}, "redirect_uri": {"https://bridge.example/cb"}, "code": {code}})
	if st != http.StatusOK || tok["data"].(map[string]any)["gid"] != s.Seed().Users["bob"] {
		t.Fatalf("the code is not bob's: %d %v", st, tok)
	}
	// The browser is now signed in to Asana as bob.
	if page := get(hs.URL + "/-/oauth_authorize?" + auth.Encode()); !strings.Contains(page, "Signed in as <strong>Bob Brown</strong>") {
		t.Errorf("after choosing bob the consent page says:\n%s", page)
	}
}
