package setup_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

func TestRegisterServer(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		_, base := newJira(t, "9.12.0")
		reg, err := b.svc.RegisterServer(ctx, actor, setup.ServerInput{BaseURL: base + "/", Name: " Main Jira "})
		if err != nil {
			t.Fatal(err)
		}
		srv := reg.Server
		// The doctor ran first, on the URL given, before anything was recorded.
		if len(b.doctors) != 1 || b.doctors[0].JiraURL != base || b.serversAtDoctor != 0 || !reg.Doctor.OK {
			t.Errorf("doctor: %+v, %d servers recorded when it ran, report %+v", b.doctors, b.serversAtDoctor, reg.Doctor)
		}
		if srv.BaseURL != base || srv.Name != "Main Jira" || srv.Version != "9.12.0" || srv.Status != setup.StatusNeedsSetup {
			t.Errorf("server %+v", srv)
		}
		if !strings.HasPrefix(srv.ConsumerKey, "asanajira-") || !strings.Contains(srv.PublicKeyPEM, "BEGIN PUBLIC KEY") || len(srv.WebhookSecret.Reveal()) != 64 {
			t.Errorf("keys: consumer %q, public key %q, webhook secret of %d characters", srv.ConsumerKey, srv.PublicKeyPEM, len(srv.WebhookSecret.Reveal()))
		}
		if !slices.Equal(srv.AuthMethods, []store.AuthMethod{store.AuthOAuth1, store.AuthPAT}) {
			t.Errorf("methods %v", srv.AuthMethods)
		}
		stored, err := b.svc.Server(ctx, srv.ID)
		if err != nil || stored.PrivateKeyPEM.Reveal() == "" || stored.ConsumerKey != srv.ConsumerKey {
			t.Errorf("stored %+v, %v", stored, err)
		}
		es := b.audit()
		if len(es) != 1 || es[0].Action != "server.create" || es[0].Actor != string(actor) || es[0].Target != srv.ID {
			t.Errorf("audit %+v", es)
		}

		// A Jira that does not answer is recorded, unreachable; 7.13 gets no PATs.
		down := httptest.NewServer(nil)
		down.Close()
		reg, err = b.svc.RegisterServer(ctx, actor, setup.ServerInput{BaseURL: down.URL})
		if err != nil || reg.Server.Status != setup.StatusUnreachable || reg.Server.Name != strings.TrimPrefix(down.URL, "http://") {
			t.Errorf("unreachable: %+v, %v", reg.Server, err)
		}
		_, old := newJira(t, "7.13.5")
		if srv := b.register(old); !slices.Equal(srv.AuthMethods, []store.AuthMethod{store.AuthOAuth1}) {
			t.Errorf("7.13.5 methods %v", srv.AuthMethods)
		}

		doctors := len(b.doctors)
		for _, tt := range []struct {
			name string
			in   setup.ServerInput
			code setup.Code
			text string
		}{
			{"empty", setup.ServerInput{}, setup.Invalid, "base URL as users open it"},
			{"not http", setup.ServerInput{BaseURL: "ftp://jira.example.com"}, setup.Invalid, "base URL as users open it"},
			{"bad connect address", setup.ServerInput{BaseURL: "https://jira.example.com", ConnectAddress: "nohost"}, setup.Invalid, "host:port"},
			{"private key as CA bundle", setup.ServerInput{BaseURL: "https://jira.example.com", CABundlePEM: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}, setup.Invalid, "private key"},
			{"duplicate", setup.ServerInput{BaseURL: strings.ToUpper(base[:4]) + base[4:] + "/"}, setup.Conflict, "already connected"},
		} {
			_, err := b.svc.RegisterServer(ctx, actor, tt.in)
			wantCode(t, err, tt.code, tt.text)
			if tt.name == "private key as CA bundle" && !errors.Is(err, setup.ErrPrivateKeyInBundle) {
				t.Errorf("%s: errors.Is(ErrPrivateKeyInBundle) is false", tt.name)
			}
		}
		if len(b.doctors) != doctors {
			t.Errorf("the doctor ran for refused input")
		}
		if _, err := b.svc.RegisterServer(ctx, "", setup.ServerInput{BaseURL: "https://nobody.example"}); err == nil {
			t.Error("a change without an actor was made")
		}
		if all, _ := b.svc.Servers(ctx); len(all) != 3 {
			t.Errorf("%d servers recorded, want 3", len(all))
		}
	})
}

func TestFindAndUpdateServer(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		_, base := newJira(t, "9.12.0")
		srv := b.register(base)
		for _, ref := range []string{srv.ID, base, base + "/", "emulated jira"} {
			if got, err := b.svc.FindServer(ctx, ref); err != nil || got.ID != srv.ID {
				t.Errorf("FindServer(%q) = %s, %v", ref, got.ID, err)
			}
		}
		_, err := b.svc.FindServer(ctx, "nothing")
		wantCode(t, err, setup.NotFound, "No Jira server")

		name, addr := "Renamed", "127.0.0.1:1"
		got, err := b.svc.UpdateServer(ctx, actor, srv.ID, setup.ServerChanges{Name: &name, ConnectAddress: &addr})
		if err != nil || got.Name != name || got.ConnectAddress != addr {
			t.Fatalf("update: %+v, %v", got, err)
		}
		if _, err := b.svc.UpdateServer(ctx, actor, srv.ID, setup.ServerChanges{Name: &name}); err != nil {
			t.Fatal(err)
		}
		bad := "nohost"
		_, err = b.svc.UpdateServer(ctx, actor, srv.ID, setup.ServerChanges{ConnectAddress: &bad})
		wantCode(t, err, setup.Invalid, "host:port")
		if a := b.actions(); !slices.Equal(a, []string{"server.create", "server.update"}) {
			t.Errorf("audit %v: an update that changes nothing is not a change", a)
		}
	})
}

func TestConnectAutomatic(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"7.13.5", "8.20.1", "9.12.0", "10.3.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			databases(t, func(t *testing.T, b *bench) {
				ctx := t.Context()
				j, base := newJira(t, version)
				srv := b.register(base)
				admin := setup.JiraAdmin{User: "admin", Password: "admin"}
				secret := "admin"
				if version != "7.13.5" {
					pat, err := j.CreatePAT("admin", "asanajira setup")
					if err != nil {
						t.Fatal(err)
					}
					admin, secret = setup.JiraAdmin{Token: pat}, pat
				}
				// Twice: the second run replaces the link and keeps the sound webhook.
				for run := 1; run <= 2; run++ {
					if _, err := b.svc.ConnectAutomatic(ctx, actor, srv.ID, admin); err != nil {
						t.Fatalf("run %d: %v", run, err)
					}
				}
				got, _ := b.svc.Server(ctx, srv.ID)
				links := j.ApplicationLinks()
				if len(links) != 1 || links[0].ConsumerKey != srv.ConsumerKey || links[0].ID != got.AppLinkID || links[0].RPCURL != publicURL {
					t.Errorf("application links %+v, stored id %q", links, got.AppLinkID)
				}
				hooks := j.Webhooks()
				hookURL := publicURL + "/jira/webhook/" + srv.ID
				if len(hooks) != 1 {
					t.Fatalf("webhooks %+v, want one", hooks)
				}
				h := hooks[0]
				if version == "10.3.0" {
					if h.URL != hookURL || h.Secret != got.WebhookSecret.Reveal() {
						t.Errorf("webhook %q signed %v; want %s signed with the stored secret", h.URL, h.Secret != "", hookURL)
					}
				} else if h.URL != hookURL+"?secret="+got.WebhookSecret.Reveal() {
					t.Errorf("webhook URL %q, want the secret in the query of %s", h.URL, hookURL)
				}
				if !h.Enabled || len(h.Events) != 6 || h.ExcludeBody {
					t.Errorf("webhook %+v", h)
				}
				if got.Status != setup.StatusConnected || got.WebhookURL != hookURL || got.Version != version {
					t.Errorf("stored status %q, webhook %q, version %q", got.Status, got.WebhookURL, got.Version)
				}
				for _, e := range b.audit() {
					if secret != "admin" && strings.Contains(e.Detail+e.Target+e.Actor, secret) {
						t.Errorf("audit entry %+v holds the admin credential", e)
					}
				}
				if a := b.actions(); !slices.Equal(a, []string{"server.create", "server.connect_automatic", "server.connect_automatic"}) {
					t.Errorf("audit %v", a)
				}
				if ok, err := b.svc.CheckWebhook(ctx, got, admin); err != nil || !ok {
					t.Errorf("CheckWebhook after setup: %v, %v", ok, err)
				}
				if err := b.svc.CheckLink(ctx, got); err != nil {
					t.Errorf("CheckLink after setup: %v", err)
				}
			})
		})
	}
}

func TestConnectAutomaticFails(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		j, base := newJira(t, "9.12.0")
		srv := b.register(base)
		tests := []struct {
			name  string
			admin setup.JiraAdmin
			code  setup.Code
			text  string
		}{
			{"nothing given", setup.JiraAdmin{User: "admin"}, setup.Invalid, "Give a Jira administrator"},
			{"bad token", setup.JiraAdmin{Token: "not-a-token"}, setup.JiraFailed, "Automatic setup stopped at"},
			{"not an admin", setup.JiraAdmin{User: "alice", Password: "alice"}, setup.JiraFailed, "create the application link"},
		}
		for _, tt := range tests {
			got, err := b.svc.ConnectAutomatic(ctx, actor, srv.ID, tt.admin)
			wantCode(t, err, tt.code, tt.text)
			if strings.Contains(err.Error(), "not-a-token") {
				t.Errorf("%s: the error holds the token", tt.name)
			}
			if tt.code == setup.JiraFailed && got.Status != setup.StatusLinkFailed {
				t.Errorf("%s: status %q", tt.name, got.Status)
			}
		}
		if len(j.ApplicationLinks()) != 0 {
			t.Errorf("links %+v after failures", j.ApplicationLinks())
		}
		_, err := b.svc.ConnectAutomatic(ctx, actor, "js_missing", setup.JiraAdmin{Token: "x"})
		wantCode(t, err, setup.NotFound, "No Jira server")
		if a := b.actions(); !slices.Equal(a, []string{"server.create", "server.connect_automatic_failed", "server.connect_automatic_failed"}) {
			t.Errorf("audit %v", a)
		}
	})
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

func TestManualSetup(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		j, base := newJira(t, "8.20.1")
		srv := b.register(base)
		got, err := b.svc.Verify(ctx, actor, srv.ID)
		wantCode(t, err, setup.Invalid, "consumer_key_unknown")
		if got.Status != setup.StatusLinkFailed || got.AppLinkID != "" {
			t.Errorf("after a failed verify: %+v", got)
		}
		if _, err := j.RegisterConsumer(srv.ConsumerKey, "asanajira", publicKey(t, srv.PublicKeyPEM)); err != nil {
			t.Fatal(err)
		}
		if got, err = b.svc.Verify(ctx, actor, srv.ID); err != nil || got.Status != setup.StatusConnected || got.AppLinkID != setup.ManualLinkID {
			t.Fatalf("verify: %+v, %v", got, err)
		}
		if got, err = b.svc.RecordManualWebhook(ctx, actor, srv.ID); err != nil || got.WebhookURL != publicURL+"/jira/webhook/"+srv.ID {
			t.Fatalf("manual webhook: %+v, %v", got, err)
		}
		if a := b.actions(); !slices.Equal(a, []string{"server.create", "server.verify_failed", "server.verify", "server.webhook_manual"}) {
			t.Errorf("audit %v", a)
		}
		if setup.LinkState(got) != "created by hand" || setup.WebhookState(got) != "registered" {
			t.Errorf("states %q, %q", setup.LinkState(got), setup.WebhookState(got))
		}
	})
}

func TestRepairWebhook(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"9.12.0", "10.3.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			databases(t, func(t *testing.T, b *bench) {
				ctx := t.Context()
				j, base := newJira(t, version)
				srv := b.connected(base)
				admin := setup.JiraAdmin{User: "admin", Password: "admin"}
				cl := jiraAdmin(t, base)
				repair := func(wantChanged bool) {
					t.Helper()
					rep, err := b.svc.RepairWebhook(ctx, actor, srv.ID, admin)
					if err != nil || rep.Changed != wantChanged {
						t.Fatalf("repair: changed %v, %v; want changed %v", rep.Changed, err, wantChanged)
					}
					hooks := j.Webhooks()
					if len(hooks) != 1 || !hooks[0].Enabled || len(hooks[0].Events) != 6 {
						t.Fatalf("after repair: %+v", hooks)
					}
					if ok, err := b.svc.CheckWebhook(ctx, srv, admin); !ok || err != nil {
						t.Fatalf("CheckWebhook after repair: %v, %v", ok, err)
					}
				}
				repair(false) // sound already: nothing changes

				breakages := map[string]func(){
					"deleted": func() {
						for _, h := range mustHooks(t, cl) {
							_ = cl.DeleteWebhook(ctx, h.ID())
						}
					},
					"disabled and narrowed": func() {
						h := mustHooks(t, cl)[0]
						_ = cl.DeleteWebhook(ctx, h.ID())
						h.Enabled, h.Events = false, h.Events[:1]
						if _, err := cl.CreateWebhook(ctx, h); err != nil {
							t.Fatal(err)
						}
					},
					"duplicated": func() {
						h := mustHooks(t, cl)[0]
						h.Secret = srv.WebhookSecret.Reveal()
						h.Enabled = true
						if _, err := cl.CreateWebhook(ctx, h); err != nil {
							t.Fatal(err)
						}
					},
				}
				for _, name := range []string{"deleted", "disabled and narrowed", "duplicated"} {
					breakages[name]()
					if ok, err := b.svc.CheckWebhook(ctx, srv, admin); ok || err != nil {
						t.Fatalf("%s: CheckWebhook says %v, %v", name, ok, err)
					}
					repair(true)
				}
				// Someone else's webhook is left alone.
				other := mustHooks(t, cl)[0]
				other.URL, other.Name = "https://elsewhere.example/hook", "other"
				if _, err := cl.CreateWebhook(ctx, other); err != nil {
					t.Fatal(err)
				}
				if _, err := b.svc.RepairWebhook(ctx, actor, srv.ID, admin); err != nil {
					t.Fatal(err)
				}
				if n := len(j.Webhooks()); n != 2 {
					t.Errorf("%d webhooks, want ours and the other", n)
				}
				_, err := b.svc.RepairWebhook(ctx, actor, srv.ID, setup.JiraAdmin{})
				wantCode(t, err, setup.Invalid, "Give a Jira administrator")
				repairs := 0
				for _, a := range b.actions() {
					if a == "server.webhook_repair" {
						repairs++
					}
				}
				if repairs != 3 {
					t.Errorf("%d server.webhook_repair entries, want 3 (one per real repair)", repairs)
				}
			})
		})
	}
}

func mustHooks(t *testing.T, cl *jira.Client) []jira.Webhook {
	t.Helper()
	hooks, err := cl.Webhooks(t.Context())
	if err != nil || len(hooks) == 0 {
		t.Fatalf("webhooks in Jira: %+v, %v", hooks, err)
	}
	return hooks
}
