package admin_test

import (
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/admin"
	"github.com/asanajira/asanajira/internal/store"
)

// ConnectJira is the console's automatic setup for scripts and the demo.
func TestConnectJira(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		version string
		setup   func(jiraURL string) admin.AutomaticSetup
		wantErr string
	}{
		"basic auth on 7.13.5": {"7.13.5", func(u string) admin.AutomaticSetup {
			return admin.AutomaticSetup{BaseURL: u, AdminUser: "admin", AdminPassword: "admin", Actor: "test"}
		}, ""},
		"basic auth on 10.3.0": {"10.3.0", func(u string) admin.AutomaticSetup {
			return admin.AutomaticSetup{BaseURL: u, Name: "Jira 10", AdminUser: "admin", AdminPassword: "admin", Actor: "test"}
		}, ""},
		"no credentials": {"9.12.0", func(u string) admin.AutomaticSetup { return admin.AutomaticSetup{BaseURL: u} }, "administrator's token"},
		"wrong password": {"9.12.0", func(u string) admin.AutomaticSetup {
			return admin.AutomaticSetup{BaseURL: u, AdminUser: "admin", AdminPassword: "nope"}
		}, "connect Jira"},
		"not a url": {"9.12.0", func(string) admin.AutomaticSetup {
			return admin.AutomaticSetup{BaseURL: "::", AdminUser: "admin", AdminPassword: "admin"}
		}, "connect Jira"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			j, jiraURL := newJira(t, tc.version)
			srv, err := e.console.Load().ConnectJira(t.Context(), tc.setup(jiraURL))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if srv.Version != tc.version || srv.AppLinkID == "" || srv.WebhookURL == "" || srv.Status == "" {
				t.Fatalf("server after ConnectJira: %+v", srv)
			}
			// A second run sets the same server up again instead of adding one.
			again, err := e.console.Load().ConnectJira(t.Context(), tc.setup(jiraURL))
			if err != nil || again.ID != srv.ID || again.ConsumerKey != srv.ConsumerKey {
				t.Fatalf("second ConnectJira: %+v, %v", again, err)
			}
			if len(j.ApplicationLinks()) != 1 || len(j.Webhooks()) != 1 {
				t.Fatalf("Jira has %d links and %d webhooks, want 1 and 1", len(j.ApplicationLinks()), len(j.Webhooks()))
			}
			entries, err := e.store.ListAudit(t.Context(), store.AuditFilter{})
			if err != nil || len(entries) == 0 || entries[0].Action != "server.connect_automatic" || strings.Contains(entries[0].Detail, "admin") && strings.Contains(entries[0].Detail, "password") {
				t.Fatalf("audit after ConnectJira: %+v, %v", entries, err)
			}
		})
	}
}
