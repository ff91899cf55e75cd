package admin_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/store"
)

var serverPathRE = regexp.MustCompile(`^/admin/servers/(js_[0-9A-Za-z]+)$`)

// addServer posts the new-server form and returns the stored server.
func (e *env) addServer(b *browser, baseURL string) store.JiraServer {
	e.t.Helper()
	return e.addServerWith(b, url.Values{"base_url": {baseURL}, "name": {"Emulated Jira"}})
}

// addServerAnyway records a server whatever its checks say, as the "Save
// anyway" button does.
func (e *env) addServerAnyway(b *browser, baseURL string) store.JiraServer {
	e.t.Helper()
	return e.addServerWith(b, url.Values{"base_url": {baseURL}, "name": {"Emulated Jira"}, "insist": {"1"}})
}

func (e *env) addServerWith(b *browser, form url.Values) store.JiraServer {
	e.t.Helper()
	r := e.postForm(b, "/admin/servers", form)
	m := serverPathRE.FindStringSubmatch(r.Location)
	if r.Status != http.StatusSeeOther || m == nil {
		e.t.Fatalf("create server: %d %q %s", r.Status, r.Location, r.Body)
	}
	srv, err := e.store.GetJiraServer(e.t.Context(), m[1])
	if err != nil {
		e.t.Fatal(err)
	}
	return srv
}

func publicKey(t *testing.T, p string) *rsa.PublicKey {
	t.Helper()
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		t.Fatal("public key is not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PublicKey)
}

// TestAutomaticSetup is the console's face of the automatic setup (the
// setup service's tests cover each Jira version): the form with a Jira
// admin's token connects the server, and the page shows it without the
// token.
func TestAutomaticSetup(t *testing.T) {
	t.Parallel()
	jira, base := newJira(t, "9.12.0")
	e := newEnv(t)
	b := e.admin()
	srv := e.addServer(b, base)
	if srv.Version != "9.12.0" || srv.ConsumerKey == "" || !slices.Equal(srv.AuthMethods, []store.AuthMethod{store.AuthOAuth1, store.AuthPAT}) {
		t.Fatalf("new server: %+v", srv)
	}
	pat, err := jira.CreatePAT("admin", "asanajira setup")
	if err != nil {
		t.Fatal(err)
	}
	r := e.postForm(b, "/admin/servers/"+srv.ID+"/automatic", url.Values{"auth": {"token"}, "admin_token": {pat}})
	if r.Status != http.StatusSeeOther || r.Location != "/admin/servers/"+srv.ID {
		t.Fatalf("automatic: %d %q %s", r.Status, r.Location, r.Body)
	}
	if len(jira.ApplicationLinks()) != 1 || len(jira.Webhooks()) != 1 {
		t.Errorf("Jira has %d links and %d webhooks", len(jira.ApplicationLinks()), len(jira.Webhooks()))
	}
	page := b.get(e.hs.URL + r.Location)
	for _, want := range []string{"Connected: application link created and verified", "created automatically", `id="webhook-status">registered<`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page.Body, pat) {
		t.Error("the server page shows the admin token")
	}
	entries, _ := e.store.ListAudit(t.Context(), store.AuditFilter{})
	if len(entries) == 0 || entries[0].Action != "server.connect_automatic" || strings.Contains(entries[0].Detail, pat) {
		t.Errorf("audit %+v", entries)
	}
}

func TestAutomaticSetupWithWrongCredentials(t *testing.T) {
	t.Parallel()
	_, base := newJira(t, "9.12.0")
	e := newEnv(t)
	b := e.admin()
	srv := e.addServer(b, base)
	tests := []struct {
		name string
		form url.Values
		want int
		text string
	}{
		{"nothing given", url.Values{"auth": {"token"}}, http.StatusUnprocessableEntity, "Give a Jira administrator"},
		{"bad token", url.Values{"auth": {"token"}, "admin_token": {"not-a-token"}}, http.StatusBadGateway, "Automatic setup stopped"},
		{"not an admin", url.Values{"auth": {"password"}, "admin_user": {"alice"}, "admin_password": {"alice"}}, http.StatusBadGateway, "create the application link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.postForm(b, "/admin/servers/"+srv.ID+"/automatic", tt.form)
			if r.Status != tt.want || !strings.Contains(r.Body, tt.text) {
				t.Errorf("%d, want %d with %q:\n%s", r.Status, tt.want, tt.text, r.Body)
			}
			if strings.Contains(r.Body, "not-a-token") {
				t.Error("the page echoes the token")
			}
		})
	}
}

// The manual steps show what to paste for the version's dialog; Verify and
// "I created the webhook" record the setup.
func TestManualSetup(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"8.20.1", "9.12.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			jira, base := newJira(t, version)
			e := newEnv(t)
			b := e.admin()
			srv := e.addServer(b, base)
			page := b.get(e.hs.URL + "/admin/servers/" + srv.ID)
			for _, want := range []string{srv.ConsumerKey, "Generic Application", "Create incoming link", "Atlassian product", "BEGIN PUBLIC KEY"} {
				if !strings.Contains(page.Body, want) {
					t.Errorf("manual steps lack %q", want)
				}
			}
			newUI := version != "8.20.1"
			if open := strings.Contains(page.Body, `<details open><summary>Jira 8.22 and later`); open != newUI {
				t.Errorf("8.22+ steps open = %v, want %v", open, newUI)
			}
			r := e.postForm(b, "/admin/servers/"+srv.ID+"/verify", nil)
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "consumer_key_unknown") || !strings.Contains(r.Body, `id="doctor"`) {
				t.Fatalf("verify before the link: %d\n%s", r.Status, r.Body)
			}
			if _, err := jira.RegisterConsumer(srv.ConsumerKey, "asanajira", publicKey(t, srv.PublicKeyPEM)); err != nil {
				t.Fatal(err)
			}
			if r := e.postForm(b, "/admin/servers/"+srv.ID+"/verify", nil); r.Status != http.StatusSeeOther {
				t.Fatalf("verify: %d %s", r.Status, r.Body)
			}
			if r := e.postForm(b, "/admin/servers/"+srv.ID+"/webhook", nil); r.Status != http.StatusSeeOther {
				t.Fatalf("webhook by hand: %d %s", r.Status, r.Body)
			}
			if page := b.get(e.hs.URL + "/admin/servers/" + srv.ID); !strings.Contains(page.Body, "created by hand") || !strings.Contains(page.Body, `id="webhook-status">registered<`) {
				t.Errorf("the page after manual setup:\n%s", page.Body)
			}
		})
	}
}

func TestOAuth2Setup(t *testing.T) {
	t.Parallel()
	jira, base := newJira(t, "9.12.0")
	e := newEnv(t)
	b := e.admin()
	srv := e.addServer(b, base)
	page := b.get(e.hs.URL + "/admin/servers/" + srv.ID)
	redirect := e.hs.URL + "/connect/oauth2/callback"
	if !strings.Contains(page.Body, redirect) || !strings.Contains(page.Body, "External application") {
		t.Fatalf("OAuth 2.0 steps lack the redirect URL %s", redirect)
	}
	client, err := jira.RegisterOAuth2Client("asanajira", []string{redirect}, []string{"WRITE"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		id, secret   string
		want         int
		text         string
		wantClientID string
	}{
		{"empty", "", "", http.StatusUnprocessableEntity, "Paste both", ""},
		{"wrong secret", client.ClientID, "wrong", http.StatusUnprocessableEntity, "does not know this client", ""},
		{"right", client.ClientID, client.ClientSecret, http.StatusSeeOther, "", client.ClientID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.postForm(b, "/admin/servers/"+srv.ID+"/oauth2", url.Values{"client_id": {tt.id}, "client_secret": {tt.secret}})
			if r.Status != tt.want || !strings.Contains(r.Body, tt.text) {
				t.Fatalf("%d, want %d with %q: %s", r.Status, tt.want, tt.text, r.Body)
			}
			got, _ := e.store.GetJiraServer(t.Context(), srv.ID)
			if got.OAuth2ClientID != tt.wantClientID {
				t.Errorf("stored client id %q, want %q", got.OAuth2ClientID, tt.wantClientID)
			}
			if tt.wantClientID != "" && (got.OAuth2ClientSecret.Reveal() != client.ClientSecret || !slices.Contains(got.AuthMethods, store.AuthOAuth2)) {
				t.Errorf("secret stored %v, methods %v", got.OAuth2ClientSecret.Reveal() == client.ClientSecret, got.AuthMethods)
			}
		})
	}
	if strings.Contains(b.get(e.hs.URL+"/admin/servers/"+srv.ID).Body, client.ClientSecret) {
		t.Error("the server page shows the OAuth 2.0 client secret")
	}
}

func TestOAuth2NotOfferedBefore822(t *testing.T) {
	t.Parallel()
	_, base := newJira(t, "8.20.1")
	e := newEnv(t)
	b := e.admin()
	srv := e.addServer(b, base)
	page := b.get(e.hs.URL + "/admin/servers/" + srv.ID)
	if !strings.Contains(page.Body, "has no OAuth 2.0 provider") {
		t.Error("8.20.1 page offers OAuth 2.0")
	}
	r := e.postForm(b, "/admin/servers/"+srv.ID+"/methods", url.Values{"method": {"oauth2"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("enabling OAuth 2.0 on 8.20.1: %d, want 422", r.Status)
	}
	if r := e.postForm(b, "/admin/servers/"+srv.ID+"/methods", url.Values{"method": {"oauth1"}}); r.Status != http.StatusSeeOther {
		t.Errorf("OAuth 1.0a only: %d", r.Status)
	}
	got, _ := e.store.GetJiraServer(t.Context(), srv.ID)
	if !slices.Equal(got.AuthMethods, []store.AuthMethod{store.AuthOAuth1}) {
		t.Errorf("methods %v", got.AuthMethods)
	}
}

func TestCreateServerValidation(t *testing.T) {
	t.Parallel()
	_, base := newJira(t, "9.12.0")
	e := newEnv(t)
	b := e.admin()
	e.addServer(b, base)
	tests := []struct {
		name string
		form url.Values
		text string
	}{
		{"empty", url.Values{}, "base URL as users open it"},
		{"not http", url.Values{"base_url": {"ftp://jira.example.com"}}, "base URL as users open it"},
		{"bad connect address", url.Values{"base_url": {"https://jira.example.com"}, "connect_address": {"nohost"}}, "host:port"},
		{"duplicate", url.Values{"base_url": {base + "/"}}, "already connected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.postForm(b, "/admin/servers", tt.form)
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tt.text) {
				t.Errorf("%d, want 422 with %q", r.Status, tt.text)
			}
		})
	}
}

// The real doctor runs on the server page against the emulator.
func TestServerPageRunsTheDoctor(t *testing.T) {
	t.Parallel()
	_, base := newJira(t, "9.12.0")
	e := newEnv(t)
	e.doctor = nil
	e.restart()
	b := e.admin()
	srv := e.addServer(b, base)
	page := b.get(e.hs.URL + "/admin/servers/" + srv.ID)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="doctor"`) || !strings.Contains(page.Body, `data-check="server_info"`) {
		t.Errorf("server page: %d, doctor table missing:\n%s", page.Status, page.Body)
	}
}

// The webhook repair and removal forms take a Jira admin's credentials once
// and say what they did; the audit log names the signed-in admin.
func TestRepairAndRemoveWithCredentials(t *testing.T) {
	t.Parallel()
	jira, base := newJira(t, "9.12.0")
	e := newEnv(t)
	b := e.admin()
	srv := e.addServer(b, base)
	creds := url.Values{"auth": {"password"}, "admin_user": {"admin"}, "admin_password": {"admin"}}
	if r := e.postForm(b, "/admin/servers/"+srv.ID+"/automatic", creds); r.Status != http.StatusSeeOther {
		t.Fatalf("automatic: %d %s", r.Status, r.Body)
	}
	if r := e.postForm(b, "/admin/servers/"+srv.ID+"/webhook/repair", url.Values{"auth": {"token"}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, "Give a Jira administrator") {
		t.Errorf("repair without credentials: %d", r.Status)
	}
	r := e.postForm(b, "/admin/servers/"+srv.ID+"/webhook/repair", creds)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("repair: %d %s", r.Status, r.Body)
	}
	if page := b.get(e.hs.URL + r.Location); !strings.Contains(page.Body, "registered correctly already; nothing changed") {
		t.Errorf("repair of a sound webhook says:\n%s", page.Body)
	}
	form := url.Values{"confirm": {"Emulated Jira"}}
	for k, v := range creds {
		form[k] = v
	}
	r = e.postForm(b, "/admin/servers/"+srv.ID+"/delete", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	if page := b.get(e.hs.URL + r.Location); !strings.Contains(page.Body, "Removed from Jira: the application link") || strings.Contains(page.Body, "Also delete in Jira") {
		t.Errorf("the page after removal says:\n%s", page.Body)
	}
	if len(jira.ApplicationLinks()) != 0 || len(jira.Webhooks()) != 0 {
		t.Errorf("Jira keeps %d links and %d webhooks", len(jira.ApplicationLinks()), len(jira.Webhooks()))
	}
	entries, _ := e.store.ListAudit(t.Context(), store.AuditFilter{})
	admin := e.asana.Seed().Users["admin"]
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "server.") && !strings.HasSuffix(en.Actor, "("+admin+")") {
			t.Errorf("audit entry %+v does not name the signed-in admin", en)
		}
	}
}

// The server page's "Name and address" form renames a server and changes
// its connect address through the setup service (audited); the checks run
// again through a new address; bad input is refused with the reason and
// changes nothing; a forged form is refused.
func TestServerSettingsForm(t *testing.T) {
	t.Parallel()
	_, base := newJira(t, "9.12.0")
	e := newEnv(t)
	b := e.admin()
	srv := e.addServer(b, base)
	path := "/admin/servers/" + srv.ID + "/settings"
	hostPort := strings.SplitN(strings.TrimPrefix(base, "http://"), "/", 2)[0]
	tests := []struct {
		name, newName, addr string
		status              int
		says                string
		wantName, wantAddr  string
	}{
		{"rename", "Jira DC (prod)", "", http.StatusSeeOther, "the server is now called “Jira DC (prod)”", "Jira DC (prod)", ""},
		{"nothing changed", "Jira DC (prod)", "", http.StatusSeeOther, "Nothing changed.", "Jira DC (prod)", ""},
		{"empty name", "  ", "", http.StatusUnprocessableEntity, "A Jira server needs a name.", "Jira DC (prod)", ""},
		{"address without a port", "Jira DC (prod)", "10.0.0.5", http.StatusUnprocessableEntity, "The connect address must be host:port", "Jira DC (prod)", ""},
		{"connect address", "Jira DC (prod)", hostPort, http.StatusSeeOther, "The checks ran again through the new address", "Jira DC (prod)", hostPort},
		{"connect address removed", "Jira DC (prod)", "", http.StatusSeeOther, "The checks ran again through the new address", "Jira DC (prod)", ""},
	}
	for _, tc := range tests { // in order: each starts from the previous one's server
		r := e.postForm(b, path, url.Values{"name": {tc.newName}, "connect_address": {tc.addr}})
		page := r.Body
		if r.Status == http.StatusSeeOther {
			page = b.get(e.hs.URL + r.Location).Body
		}
		if r.Status != tc.status || !strings.Contains(page, html.EscapeString(tc.says)) && !strings.Contains(page, tc.says) {
			t.Errorf("%s: %d, want %d saying %q:\n%s", tc.name, r.Status, tc.status, tc.says, page)
		}
		got, err := e.store.GetJiraServer(t.Context(), srv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != tc.wantName || got.ConnectAddress != tc.wantAddr {
			t.Errorf("%s: server is %q at %q, want %q at %q", tc.name, got.Name, got.ConnectAddress, tc.wantName, tc.wantAddr)
		}
	}
	if got := e.auditActions(srv.ID); !slices.Contains(got, "server.update") {
		t.Errorf("audit for the server: %v, want server.update", got)
	}
	if r := b.post(e.hs.URL+path, url.Values{"csrf": {"forged"}, "name": {"Hijacked"}}); r.Status != http.StatusForbidden {
		t.Errorf("forged settings form: %d, want 403", r.Status)
	}
	if got, _ := e.store.GetJiraServer(t.Context(), srv.ID); got.Name != "Jira DC (prod)" {
		t.Errorf("after the forged form the server is called %q", got.Name)
	}
}
