package connect

import (
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/asanajira/asanajira/internal/credentials"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
)

const successScript = `window.opener.postMessage("success", "https://app.asana.com")`

// TestConnectEndToEnd: the popup from the authentication URL to the final
// postMessage, for each Jira auth method, and the stored credentials work.
func TestConnectEndToEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		version   string
		method    store.AuthMethod
		privateCA bool
	}{
		{"oauth1 7.13.5", "7.13.5", store.AuthOAuth1, false},
		{"oauth1 9.12.0", "9.12.0", store.AuthOAuth1, false},
		{"oauth2 9.12.0", "9.12.0", store.AuthOAuth2, false},
		{"pat 9.12.0", "9.12.0", store.AuthPAT, false},
		// Jira behind a private CA whose certificate is the server's CA
		// bundle: every token call of the popup trusts it.
		{"oauth1 9.12.0 private CA", "9.12.0", store.AuthOAuth1, true},
		{"oauth2 9.12.0 private CA", "9.12.0", store.AuthOAuth2, true},
		{"pat 9.12.0 private CA", "9.12.0", store.AuthPAT, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, serverSpec{version: tt.version, methods: []store.AuthMethod{tt.method}, privateCA: tt.privateCA})
			js := e.jiras[0]
			b := e.browser(t)

			start := b.get(AuthenticationPath)
			au, _ := url.Parse(start.location)
			if q := au.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || len(q.Get("state")) < 32 ||
				q.Get("redirect_uri") != e.bridge+AsanaCallbackPath || q.Get("client_id") != "asanajira-demo" {
				t.Errorf("Asana authorize URL: %v", q)
			}
			checkCookie(t, start.header, stateCookie, false)

			// Asana, then straight to the only method of the only server.
			p := b.get(b.asanaConsent(start, "alice", "allow").location)
			checkCookie(t, p.header, sessionCookie, false)
			p, secret := b.authorizeJira(js, b.follow(p), tt.method)
			if p.status != http.StatusOK || !strings.Contains(p.body, successScript) {
				t.Fatalf("final page: %d %s", p.status, p.body)
			}

			u, err := e.st.GetAsanaUser(t.Context(), e.alice)
			if err != nil {
				t.Fatal(err)
			}
			if u.Name != "Alice Anders" || u.AccessToken == "" || u.RefreshToken == "" || u.ReconnectNeeded {
				t.Errorf("Asana user: %+v", u)
			}
			c, err := e.st.GetJiraCredential(t.Context(), e.alice, js.rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := struct {
				Method         store.AuthMethod
				User           string
				HasToken       bool
				HasRefresh     bool
				ReconnectFlags bool
			}{c.Method, c.JiraUsername, c.AccessToken != "", c.RefreshToken != "", c.ReconnectNeeded}
			want := got
			want.Method, want.User, want.HasToken, want.HasRefresh, want.ReconnectFlags = tt.method, "alice", true, tt.method == store.AuthOAuth2, false
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("credential (-want +got):\n%s", diff)
			}
			jc, err := e.prov.Jira(t.Context(), e.alice, js.rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if me, err := jc.Myself(t.Context()); err != nil || me.Name != "alice" {
				t.Errorf("Myself with the stored credential: %v %v", me, err)
			}
			for _, s := range []string{secret, c.AccessToken.Reveal(), u.AccessToken.Reveal()} {
				if s != "" && strings.Contains(e.logs.String(), s) {
					t.Errorf("a token appears in the logs")
				}
			}
		})
	}
}

func checkCookie(t *testing.T, h http.Header, name string, secure bool) {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/connect/" {
				t.Errorf("cookie %s: HttpOnly=%v SameSite=%v Secure=%v Path=%q", name, c.HttpOnly, c.SameSite, c.Secure, c.Path)
			}
			return
		}
	}
	t.Errorf("no %s cookie set", name)
}

func TestSecureCookiesOnHTTPS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := New(Deps{Store: e.st, Credentials: e.prov, PublicURL: "https://asanajira.example.com", AsanaURL: e.asanaURL,
		AsanaClientID: "asanajira-demo", AsanaClientSecret: "demo-secret"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, AuthenticationPath, nil))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d", w.Code)
	}
	checkCookie(t, w.Header(), stateCookie, true)
}

// TestAsanaStep covers the ways the Asana step can go wrong.
func TestAsanaStep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		run        func(t *testing.T, e *env, b *browser) page
		wantStatus int
		wantBody   string
	}{
		{"deny posts error", func(t *testing.T, e *env, b *browser) page {
			return b.get(b.asanaConsent(b.get(AuthenticationPath), "alice", "deny").location)
		}, http.StatusOK, `window.opener.postMessage("error", "https://app.asana.com")`},
		{"state mismatch", func(t *testing.T, e *env, b *browser) page {
			back := b.asanaConsent(b.get(AuthenticationPath), "alice", "allow")
			u, _ := url.Parse(back.location)
			q := u.Query()
			q.Set("state", "forged-state")
			u.RawQuery = q.Encode()
			return b.get(u.String())
		}, http.StatusUnprocessableEntity, "does not match"},
		{"callback in another browser", func(t *testing.T, e *env, b *browser) page {
			back := b.asanaConsent(b.get(AuthenticationPath), "alice", "allow")
			return e.browser(t).get(back.location)
		}, http.StatusUnprocessableEntity, "does not match"},
		{"expired state", func(t *testing.T, e *env, b *browser) page {
			back := b.asanaConsent(b.get(AuthenticationPath), "alice", "allow")
			e.clock.advance(stateTTL + time.Minute)
			return b.get(back.location)
		}, http.StatusBadRequest, "already used or has expired"},
		{"replayed with the state cookie", func(t *testing.T, e *env, b *browser) page {
			back := b.asanaConsent(b.get(AuthenticationPath), "alice", "allow")
			u, _ := url.Parse(back.location)
			b.follow(b.get(back.location))
			// An attacker holding both the URL and the cookie still finds
			// the state consumed.
			other := e.browser(t)
			bu, _ := url.Parse(e.bridge + "/connect/")
			other.hc.Jar.SetCookies(bu, []*http.Cookie{{Name: stateCookie, Value: u.Query().Get("state"), Path: "/connect/"}})
			return other.get(back.location)
		}, http.StatusBadRequest, "already used or has expired"},
		{"replayed without the cookie", func(t *testing.T, e *env, b *browser) page {
			back := b.asanaConsent(b.get(AuthenticationPath), "alice", "allow")
			b.follow(b.get(back.location))
			return b.get(back.location)
		}, http.StatusUnprocessableEntity, "does not match"},
		{"no session", func(t *testing.T, e *env, b *browser) page {
			return b.get("/connect/jira")
		}, http.StatusUnauthorized, "session has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, serverSpec{version: "9.12.0", methods: []store.AuthMethod{store.AuthOAuth1}})
			p := tt.run(t, e, e.browser(t))
			if p.status != tt.wantStatus || !strings.Contains(p.body, tt.wantBody) {
				t.Errorf("got %d, want %d with %q:\n%s", p.status, tt.wantStatus, tt.wantBody, p.body)
			}
			if strings.Contains(p.body, successScript) {
				t.Error("a failed step posted success")
			}
			if logs := e.logs.String(); strings.Contains(logs, "code=") || strings.Contains(logs, "state=") {
				t.Errorf("query strings reached the logs:\n%s", logs)
			}
			if tt.wantStatus != http.StatusOK && !strings.HasPrefix(tt.name, "replayed") {
				if _, err := e.st.GetAsanaUser(t.Context(), e.alice); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Asana user stored after a failed step: %v", err)
				}
			}
		})
	}
}

// TestReplayedCallbacks: each callback URL works once; a replay gets a
// clear 4xx page and changes nothing.
func TestReplayedCallbacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		method   store.AuthMethod
		callback func(b *browser, js *jiraServer, p page) string
	}{
		{"oauth1", store.AuthOAuth1, func(b *browser, js *jiraServer, p page) string { return b.jiraOAuth1Allow(js, p, "alice") }},
		{"oauth2", store.AuthOAuth2, func(b *browser, js *jiraServer, p page) string {
			return b.jiraOAuth2Consent(js, p, "alice", "approve")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, serverSpec{version: "9.12.0", methods: []store.AuthMethod{tt.method}})
			b := e.browser(t)
			cb := tt.callback(b, e.jiras[0], b.signIn())
			if p := b.follow(b.get(cb)); !strings.Contains(p.body, successScript) {
				t.Fatalf("first callback: %d %s", p.status, p.body)
			}
			before, _ := e.st.GetJiraCredential(t.Context(), e.alice, e.jiras[0].rec.ID)
			p := b.get(cb)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "already used or has expired") {
				t.Errorf("replay: %d %s", p.status, p.body)
			}
			after, _ := e.st.GetJiraCredential(t.Context(), e.alice, e.jiras[0].rec.ID)
			if before.AccessToken != after.AccessToken {
				t.Error("the replay changed the stored credential")
			}
			// The Asana callback cannot be replayed either.
		})
	}
}

// TestJiraDenied: Deny on Jira's page ends on a page offering to retry,
// with nothing stored and no success message.
func TestJiraDenied(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method store.AuthMethod
		deny   func(b *browser, js *jiraServer, p page) string
	}{
		{"oauth1", store.AuthOAuth1, func(b *browser, js *jiraServer, p page) string {
			u, _ := url.Parse(p.location)
			tok := u.Query().Get("oauth_token")
			if err := js.fj.DenyRequestToken(tok); err != nil {
				b.t.Fatal(err)
			}
			return b.e.bridge + JiraOAuth1CallbackPath + "?" + url.Values{"oauth_token": {tok}, "oauth_verifier": {"denied"}}.Encode()
		}},
		{"oauth2", store.AuthOAuth2, func(b *browser, js *jiraServer, p page) string { return b.jiraOAuth2Consent(js, p, "alice", "deny") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, serverSpec{version: "9.12.0", methods: []store.AuthMethod{tt.method}})
			b := e.browser(t)
			p := b.get(tt.deny(b, e.jiras[0], b.signIn()))
			// The page says so, and Asana's window hears "error" (it tells
			// the person too, and offers to connect again).
			if p.status != http.StatusOK || !strings.Contains(p.body, "did not allow") || !strings.Contains(p.body, `window.opener.postMessage("error", "https://app.asana.com")`) ||
				strings.Contains(p.body, `"success"`) {
				t.Errorf("deny page: %d %s", p.status, p.body)
			}
			if _, err := e.st.GetJiraCredential(t.Context(), e.alice, e.jiras[0].rec.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("credential stored after deny: %v", err)
			}
		})
	}
}

// TestJiraTroubleDuringAuthorization: Jira down or an SSO page in front of
// Jira ends on a page that says so, not on a stack trace or a hang.
func TestJiraTroubleDuringAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		method   store.AuthMethod
		faults   fakejira.Faults
		wantBody string
	}{
		{"oauth1 Jira down", store.AuthOAuth1, fakejira.Faults{ErrorRate: 1, ErrorStatus: 503}, "could not reach Jira"},
		{"oauth1 SSO page", store.AuthOAuth1, fakejira.Faults{SSOHTML: true}, "login page"},
		{"pat Jira down", store.AuthPAT, fakejira.Faults{ErrorRate: 1, ErrorStatus: 502}, "could not reach Jira"},
		{"pat SSO page", store.AuthPAT, fakejira.Faults{SSOHTML: true}, "single sign-on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, serverSpec{version: "9.12.0", methods: []store.AuthMethod{tt.method}})
			js := e.jiras[0]
			b := e.browser(t)
			p := b.signIn()
			if err := js.fj.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			if tt.method == store.AuthOAuth1 {
				p = b.get("/connect/jira/" + js.rec.ID + "/oauth1")
			} else {
				p = b.post("/connect/jira/"+js.rec.ID+"/pat", url.Values{"csrf": {csrf(t, p.body)}, "token": {"whatever"}})
			}
			if p.status < 500 || !strings.Contains(p.body, tt.wantBody) {
				t.Errorf("got %d, want 5xx with %q:\n%s", p.status, tt.wantBody, p.body)
			}
			if _, err := e.st.GetJiraCredential(t.Context(), e.alice, js.rec.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("credential stored: %v", err)
			}
		})
	}
}

func TestPATRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, serverSpec{version: "8.20.1", methods: []store.AuthMethod{store.AuthPAT}})
	b := e.browser(t)
	p := b.signIn()
	tok := csrf(t, p.body)
	tests := []struct {
		name, token string
		want        string
	}{
		{"empty", "  ", "Paste the token"},
		{"wrong", "not-a-token", "did not accept this token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.post("/connect/jira/"+e.jiras[0].rec.ID+"/pat", url.Values{"csrf": {tok}, "token": {tt.token}})
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, tt.want) {
				t.Errorf("got %d %s", p.status, p.body)
			}
		})
	}
	if p := b.post("/connect/jira/"+e.jiras[0].rec.ID+"/pat", url.Values{"csrf": {"forged"}, "token": {"x"}}); p.status != http.StatusForbidden {
		t.Errorf("forged CSRF: %d", p.status)
	}
}

// TestSeveralServers: with two Jira servers on the workspace the user picks,
// connects one, comes back to the list, and finishes.
func TestSeveralServers(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		serverSpec{version: "9.12.0", methods: []store.AuthMethod{store.AuthPAT, store.AuthOAuth1}},
		serverSpec{version: "7.13.5", methods: []store.AuthMethod{store.AuthOAuth1, store.AuthPAT}})
	b := e.browser(t)
	p := b.signIn()
	if p.status != http.StatusOK || !strings.Contains(p.body, "Jira 9.12.0") || !strings.Contains(p.body, "Jira 7.13.5") {
		t.Fatalf("servers page: %d %s", p.status, p.body)
	}
	// 9.12.0 offers both methods; 7.13.5 has no PATs, so it goes straight to OAuth 1.0a.
	m := b.get("/connect/jira/" + e.jiras[0].rec.ID)
	if m.status != http.StatusOK || !strings.Contains(m.body, "method-pat") || !strings.Contains(m.body, "method-oauth1") {
		t.Errorf("methods page: %d %s", m.status, m.body)
	}
	if m := b.get("/connect/jira/" + e.jiras[1].rec.ID); !strings.HasSuffix(m.location, "/oauth1") {
		t.Errorf("7.13.5 methods: %d %q", m.status, m.location)
	}
	if m := b.get("/connect/jira/" + e.jiras[1].rec.ID + "/pat"); m.status != http.StatusForbidden {
		t.Errorf("PAT on 7.13.5: %d", m.status)
	}
	p = b.follow(b.get(b.jiraOAuth1Allow(e.jiras[1], b.get("/connect/jira/"+e.jiras[1].rec.ID+"/oauth1"), "bob")))
	if p.status != http.StatusOK || !strings.Contains(p.body, "Connected as Jira user bob — Bob Brown") || strings.Contains(p.body, "postMessage") {
		t.Fatalf("back to the list: %d %s", p.status, p.body)
	}
	// The last page names the account connected on each server, then
	// tells Asana's window.
	if p := b.get("/connect/done"); !strings.Contains(p.body, successScript) ||
		!strings.Contains(p.body, "Connected as Jira user bob — Bob Brown</div>\n<div class=\"muted\">on Jira 7.13.5") {
		t.Errorf("finish: %s", p.body)
	}
	// A server of another workspace is out of reach.
	if p := b.get("/connect/jira/js_unknown/oauth1"); p.status != http.StatusNotFound {
		t.Errorf("unknown server: %d", p.status)
	}
}

func TestDisconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, serverSpec{version: "9.12.0", methods: []store.AuthMethod{store.AuthPAT}})
	js := e.jiras[0]
	b := e.browser(t)
	p := b.signIn()
	pat, err := js.fj.CreatePAT("alice", "asanajira")
	if err != nil {
		t.Fatal(err)
	}
	b.follow(b.post("/connect/jira/"+js.rec.ID+"/pat", url.Values{"csrf": {csrf(t, p.body)}, "token": {pat}}))
	list := b.get("/connect/jira")
	token := csrf(t, list.body)

	if p := b.post("/connect/disconnect", url.Values{"server": {js.rec.ID}}); p.status != http.StatusForbidden {
		t.Errorf("without CSRF: %d", p.status)
	}
	if p := e.browser(t).post("/connect/disconnect", url.Values{"csrf": {token}, "server": {js.rec.ID}}); p.status != http.StatusUnauthorized {
		t.Errorf("without a session: %d", p.status)
	}
	if _, err := e.st.GetJiraCredential(t.Context(), e.alice, js.rec.ID); err != nil {
		t.Fatalf("credential gone after refused disconnects: %v", err)
	}

	p = b.post("/connect/disconnect", url.Values{"csrf": {token}, "server": {js.rec.ID}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("disconnect: %d %s", p.status, p.body)
	}
	if _, err := e.prov.Jira(t.Context(), e.alice, js.rec.ID); !errors.Is(err, credentials.ErrNotConnected) {
		t.Errorf("Jira after disconnect: %v", err)
	}

	p = b.post("/connect/disconnect", url.Values{"csrf": {token}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "no longer acts for you") {
		t.Fatalf("disconnect everything: %d %s", p.status, p.body)
	}
	if _, err := e.prov.Asana(t.Context(), e.alice); !errors.Is(err, credentials.ErrNotConnected) {
		t.Errorf("Asana after disconnect: %v", err)
	}
	if p := b.get("/connect/jira"); p.status != http.StatusUnauthorized {
		t.Errorf("session survived disconnect: %d", p.status)
	}
}

// TestReconnectWakesCreatesAwaitingIt: connecting Jira, by any method,
// brings the user's interrupted creates on that server that the sweep put
// off for the reconnect due at once (ConfigCacheTTL on, for the other
// replicas' caches), so the sweep's next pass finishes them; another
// user's stay put off.
func TestReconnectWakesCreatesAwaitingIt(t *testing.T) {
	t.Parallel()
	for _, method := range []store.AuthMethod{store.AuthOAuth1, store.AuthOAuth2, store.AuthPAT} {
		t.Run(string(method), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, serverSpec{version: "9.12.0", methods: []store.AuthMethod{method}})
			js := e.jiras[0]
			later := e.clock.now().Add(6 * time.Hour)
			mine, bobs := e.putOff(t, js, "t1", e.alice, later), e.putOff(t, js, "t2", "bob-gid", later)
			e.clock.advance(time.Minute)
			b := e.browser(t)
			if p, _ := b.authorizeJira(js, b.signIn(), method); p.status != http.StatusOK || !strings.Contains(p.body, successScript) {
				t.Fatalf("final page: %d %s", p.status, p.body)
			}
			want := map[string]time.Time{mine: e.clock.now().Add(store.ConfigCacheTTL), bobs: later}
			got := map[string]time.Time{}
			for key := range want {
				var at sql.NullTime
				if err := e.st.DB().QueryRowContext(t.Context(), `SELECT expires_at FROM idempotency_keys WHERE scope = $1 AND key = $2`,
					store.CreationScope, key).Scan(&at); err != nil {
					t.Fatal(err)
				}
				got[key] = at.Time
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
				t.Errorf("the claims' next attempts after alice connected (-want +got):\n%s", diff)
			}
		})
	}
}
