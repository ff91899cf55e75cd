package admin_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
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
	r := e.postForm(b, "/admin/servers", url.Values{"base_url": {baseURL}, "name": {"Emulated Jira"}})
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

var versions = []string{"7.13.5", "8.20.1", "9.12.0", "10.3.0"}

func TestAutomaticSetup(t *testing.T) {
	t.Parallel()
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			jira, base := newJira(t, version)
			e := newEnv(t)
			b := e.admin()
			srv := e.addServer(b, base)
			if srv.Version != version || srv.ConsumerKey == "" || srv.PrivateKeyPEM == "" || !strings.Contains(srv.PublicKeyPEM, "BEGIN PUBLIC KEY") {
				t.Fatalf("new server: version %q, consumer key %q, keys present %v", srv.Version, srv.ConsumerKey, srv.PrivateKeyPEM != "")
			}
			wantMethods := []store.AuthMethod{store.AuthOAuth1, store.AuthPAT}
			if version == "7.13.5" {
				wantMethods = []store.AuthMethod{store.AuthOAuth1}
			}
			if !slices.Equal(srv.AuthMethods, wantMethods) {
				t.Errorf("preselected methods %v, want %v", srv.AuthMethods, wantMethods)
			}

			// Basic auth on 7.13 (no PATs there), a personal access token elsewhere.
			form := url.Values{"auth": {"password"}, "admin_user": {"admin"}, "admin_password": {"admin"}}
			secret := "admin"
			if version != "7.13.5" {
				pat, err := jira.CreatePAT("admin", "asanajira setup")
				if err != nil {
					t.Fatal(err)
				}
				form, secret = url.Values{"auth": {"token"}, "admin_token": {pat}}, pat
			}
			// Twice: a second run replaces the link and webhook instead of
			// adding more.
			for run := 1; run <= 2; run++ {
				r := e.postForm(b, "/admin/servers/"+srv.ID+"/automatic", form)
				if r.Status != http.StatusSeeOther {
					t.Fatalf("run %d: %d %s", run, r.Status, r.Body)
				}
			}
			got, err := e.store.GetJiraServer(t.Context(), srv.ID)
			if err != nil {
				t.Fatal(err)
			}
			links := jira.ApplicationLinks()
			if len(links) != 1 || links[0].ConsumerKey != srv.ConsumerKey || links[0].ID != got.AppLinkID || links[0].RPCURL != e.hs.URL {
				t.Errorf("application links %+v; stored link id %q", links, got.AppLinkID)
			}
			hooks := jira.Webhooks()
			hookURL := e.hs.URL + "/jira/webhook/" + srv.ID
			if len(hooks) != 1 {
				t.Fatalf("webhooks %+v, want one", hooks)
			}
			h := hooks[0]
			if version == "10.3.0" {
				if h.URL != hookURL || h.Secret != got.WebhookSecret.Reveal() {
					t.Errorf("webhook %q with secret set %v; want %q signed with the stored secret", h.URL, h.Secret != "", hookURL)
				}
			} else if h.URL != hookURL+"?secret="+got.WebhookSecret.Reveal() {
				t.Errorf("webhook URL %q, want the stored secret in the query of %s", h.URL, hookURL)
			}
			if !h.Enabled || len(h.Events) != 6 || h.ExcludeBody {
				t.Errorf("webhook %+v: want enabled, six events, with body", h)
			}
			if got.Status != "connected" || got.WebhookURL != hookURL {
				t.Errorf("stored status %q, webhook URL %q", got.Status, got.WebhookURL)
			}
			// The admin credential is nowhere: not in the audit log, not on the page.
			entries, _ := e.store.ListAudit(t.Context(), store.AuditFilter{})
			automatic := 0
			for _, en := range entries {
				if en.Action == "server.connect_automatic" {
					automatic++
				}
				if secret != "admin" && strings.Contains(en.Detail+en.Target, secret) {
					t.Errorf("audit entry %+v holds the admin credential", en)
				}
			}
			if automatic != 2 {
				t.Errorf("%d server.connect_automatic audit entries, want 2", automatic)
			}
			page := b.get(e.hs.URL + "/admin/servers/" + srv.ID)
			if strings.Contains(page.Body, secret) && secret != "admin" {
				t.Error("the server page shows the admin credential")
			}
			if !strings.Contains(page.Body, "created automatically") {
				t.Error("the server page does not show the link")
			}
		})
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

func TestManualSetup(t *testing.T) {
	t.Parallel()
	for _, version := range versions {
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
			newUI := version != "7.13.5" && version != "8.20.1"
			if open := strings.Contains(page.Body, `<details open><summary>Jira 8.22 and later`); open != newUI {
				t.Errorf("8.22+ steps open = %v, want %v", open, newUI)
			}

			// Verify before the link exists: Jira does not know the consumer.
			r := e.postForm(b, "/admin/servers/"+srv.ID+"/verify", nil)
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "consumer_key_unknown") {
				t.Fatalf("verify before the link: %d\n%s", r.Status, r.Body)
			}
			// The admin creates the link by hand with the values shown.
			if _, err := jira.RegisterConsumer(srv.ConsumerKey, "asanajira", publicKey(t, srv.PublicKeyPEM)); err != nil {
				t.Fatal(err)
			}
			if r := e.postForm(b, "/admin/servers/"+srv.ID+"/verify", nil); r.Status != http.StatusSeeOther {
				t.Fatalf("verify: %d %s", r.Status, r.Body)
			}
			if r := e.postForm(b, "/admin/servers/"+srv.ID+"/webhook", nil); r.Status != http.StatusSeeOther {
				t.Fatalf("webhook by hand: %d %s", r.Status, r.Body)
			}
			got, _ := e.store.GetJiraServer(t.Context(), srv.ID)
			if got.Status != "connected" || got.AppLinkID != "manual" || got.WebhookURL == "" {
				t.Errorf("after manual setup: status %q, link %q, webhook %q", got.Status, got.AppLinkID, got.WebhookURL)
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
	e.deps.Doctor = nil
	e.restart()
	b := e.admin()
	srv := e.addServer(b, base)
	page := b.get(e.hs.URL + "/admin/servers/" + srv.ID)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="doctor"`) || !strings.Contains(page.Body, `data-check="server_info"`) {
		t.Errorf("server page: %d, doctor table missing:\n%s", page.Status, page.Body)
	}
}
