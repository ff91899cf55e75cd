package setup_test

import (
	"slices"
	"strings"
	"testing"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/tlstest"
)

func TestOAuth2Client(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		j, base := newJira(t, "9.12.0")
		srv := b.register(base)
		if b.svc.OAuth2RedirectURL() != publicURL+"/connect/oauth2/callback" {
			t.Fatalf("redirect URL %q", b.svc.OAuth2RedirectURL())
		}
		client, err := j.RegisterOAuth2Client("asanajira", []string{b.svc.OAuth2RedirectURL()}, []string{"WRITE"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, id, secret string
			code             setup.Code
			text             string
		}{
			{"empty", "", " ", setup.Invalid, "Paste both"},
			{"wrong secret", client.ClientID, "wrong", setup.Invalid, "does not know this client"},
		} {
			_, err := b.svc.SetOAuth2Client(ctx, actor, srv.ID, tt.id, tt.secret)
			wantCode(t, err, tt.code, tt.text)
		}
		got, err := b.svc.SetOAuth2Client(ctx, actor, srv.ID, " "+client.ClientID+" ", client.ClientSecret)
		if err != nil || got.OAuth2ClientID != client.ClientID || got.OAuth2ClientSecret.Reveal() != client.ClientSecret ||
			!slices.Contains(got.AuthMethods, store.AuthOAuth2) {
			t.Fatalf("after saving: %+v, %v", got, err)
		}
		if _, err := b.svc.SetOAuth2Client(ctx, actor, srv.ID, client.ClientID, client.ClientSecret); err != nil {
			t.Fatal(err)
		}
		if a := b.actions(); !slices.Equal(a, []string{"server.create", "server.oauth2_failed", "server.oauth2"}) {
			t.Errorf("audit %v", a)
		}
		for _, e := range b.audit() {
			if strings.Contains(e.Detail, client.ClientSecret) {
				t.Errorf("audit entry %+v holds the client secret", e)
			}
		}

		_, old := newJira(t, "8.20.1")
		_, err = b.svc.SetOAuth2Client(ctx, actor, b.register(old).ID, "id", "secret")
		wantCode(t, err, setup.Invalid, "no OAuth 2.0 provider")
	})
}

func TestSetMethods(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		_, base := newJira(t, "7.13.5")
		srv := b.register(base)
		opts := setup.MethodOptions(srv)
		if len(opts) != 3 || !opts[0].Available || opts[1].Available || opts[2].Available ||
			!strings.Contains(opts[1].Why, "no OAuth 2.0 provider") || !strings.Contains(opts[2].Why, "no personal access tokens") {
			t.Errorf("options on 7.13.5: %+v", opts)
		}
		for _, tt := range []struct {
			name    string
			methods []store.AuthMethod
			text    string
		}{
			{"none", nil, "at least one"},
			{"unknown", []store.AuthMethod{"saml"}, "no sign-in method"},
			{"PAT on 7.13", []store.AuthMethod{store.AuthOAuth1, store.AuthPAT}, "not available"},
		} {
			_, err := b.svc.SetMethods(ctx, actor, srv.ID, tt.methods)
			wantCode(t, err, setup.Invalid, tt.text)
		}
		_, base9 := newJira(t, "9.12.0")
		srv9 := b.register(base9)
		_, err := b.svc.SetMethods(ctx, actor, srv9.ID, []store.AuthMethod{store.AuthOAuth2})
		wantCode(t, err, setup.Invalid, "enter the OAuth 2.0 client id")
		got, err := b.svc.SetMethods(ctx, actor, srv9.ID, []store.AuthMethod{store.AuthPAT, store.AuthPAT})
		if err != nil || !slices.Equal(got.AuthMethods, []store.AuthMethod{store.AuthPAT}) {
			t.Fatalf("PAT only: %v, %v", got.AuthMethods, err)
		}
		if _, err := b.svc.SetMethods(ctx, actor, srv9.ID, []store.AuthMethod{store.AuthPAT}); err != nil {
			t.Fatal(err)
		}
		if a := b.actions(); !slices.Equal(a, []string{"server.create", "server.create", "server.methods"}) {
			t.Errorf("audit %v", a)
		}
	})
}

// A Jira behind a private CA: the CA bundle is normalized, stored, used by
// every call, replaced and removed.
func TestCABundle(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		j, base, ca := newTLSJira(t, "8.20.1")
		// Without the bundle the server is unreachable; with it, Jira connects.
		if reg, err := b.svc.RegisterServer(ctx, actor, setup.ServerInput{BaseURL: base}); err != nil || reg.Server.Status != setup.StatusUnreachable {
			t.Fatalf("without the CA bundle: %+v, %v", reg.Server, err)
		}
		srv, err := b.svc.ConnectJira(ctx, actor, setup.ServerInput{BaseURL: base, CABundlePEM: "subject=CN = private\n" + string(ca.PEM)},
			setup.JiraAdmin{User: "admin", Password: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		if srv.CABundlePEM != string(ca.PEM) || srv.Status != setup.StatusConnected || len(j.ApplicationLinks()) != 1 || len(j.Webhooks()) != 1 {
			t.Fatalf("after ConnectJira: %+v; %d links, %d webhooks", srv, len(j.ApplicationLinks()), len(j.Webhooks()))
		}
		if certs := setup.BundleCerts(srv.CABundlePEM); len(certs) != 1 || !strings.Contains(certs[0].Subject, "Example Corp Private CA") {
			t.Errorf("certificates %+v", certs)
		}
		// Again: the same server, set up again, one link.
		again, err := b.svc.ConnectJira(ctx, actor, setup.ServerInput{BaseURL: base}, setup.JiraAdmin{User: "admin", Password: "admin"})
		if err != nil || again.ID != srv.ID || len(j.ApplicationLinks()) != 1 {
			t.Fatalf("second ConnectJira: %+v, %v; %d links", again, err, len(j.ApplicationLinks()))
		}
		_, err = b.svc.ConnectJira(ctx, actor, setup.ServerInput{BaseURL: base, CABundlePEM: "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"},
			setup.JiraAdmin{User: "admin", Password: "admin"})
		wantCode(t, err, setup.Invalid, "private key")
		_, err = b.svc.SetCABundle(ctx, actor, srv.ID, "not a certificate")
		wantCode(t, err, setup.Invalid, "not a certificate")

		got, err := b.svc.SetCABundle(ctx, actor, srv.ID, "")
		if err != nil || got.CABundlePEM != "" {
			t.Fatalf("remove: %+v, %v", got, err)
		}
		if err := b.svc.CheckLink(ctx, got); err == nil || !strings.Contains(err.Error(), "CA bundle") {
			t.Errorf("a call without the CA bundle: %v, want a refused certificate naming the CA bundle", err)
		}
		if got, err = b.svc.SetCABundle(ctx, actor, srv.ID, string(ca.PEM)); err != nil || got.CABundlePEM != string(ca.PEM) {
			t.Fatalf("set again: %v", err)
		}
		if _, err := b.svc.SetCABundle(ctx, actor, srv.ID, string(ca.PEM)); err != nil {
			t.Fatal(err)
		}
		bundles := 0
		for _, a := range b.actions() {
			if a == "server.ca_bundle" {
				bundles++
			}
		}
		if bundles != 3 {
			t.Errorf("%d server.ca_bundle entries, want 3 (set by ConnectJira, removed, set)", bundles)
		}
	})
}

// newTLSJira starts a Jira emulator behind TLS with a certificate from its
// own private CA.
func newTLSJira(t *testing.T, version string) (*fakejira.Server, string, *tlstest.CA) {
	t.Helper()
	j, err := fakejira.New(fakejira.Options{Version: version, OnUnknownRoute: func(m, p string) {
		t.Errorf("jira emulator %s: unknown route %s %s", version, m, p)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	ca := tlstest.NewCA(t, "Example Corp Private CA")
	return j, ca.NewServer(t, j).URL + j.ContextPath(), ca
}
