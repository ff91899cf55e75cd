// Command gen020 writes the records of the previous-release fixture
// (postgres-0.2.0.sql) through asanajira 0.2.0's own code: app.New migrates
// the database exactly as that release does (migration 001 and river's
// tables), and every record goes through its store and queue. It compiles
// only inside a checkout of that release; testdata/README.md says how it was
// run.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/riverqueue/river"
)

// The fixture's sealing key; the upgrade test opens the sealed values with it.
const fixtureKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func main() {
	if err := run(context.Background(), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gen020:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbURL string) error {
	cfg := config.Default()
	cfg.DatabaseURL, cfg.SecretKey = dbURL, fixtureKey
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	defer a.Close()
	st := a.Store()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

	servers := []store.JiraServer{
		{ID: "jira-dc", Name: "Jira DC", BaseURL: "https://jira.example.com/jira", ConnectAddress: "10.0.0.5:8080",
			ConsumerKey: "asanajira-5f1c", PrivateKeyPEM: "-----BEGIN PRIVATE KEY-----\nfixture-private-key\n-----END PRIVATE KEY-----\n",
			PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nfixture-public-key\n-----END PUBLIC KEY-----\n", Version: "9.12.0",
			AuthMethods: []store.AuthMethod{store.AuthOAuth1, store.AuthPAT, store.AuthOAuth2}, OAuth2ClientID: "oauth2-client",
			OAuth2ClientSecret: "oauth2-client-secret", WebhookSecret: "webhook-secret-dc",
			WebhookURL: "https://asanajira.example.com/jira/webhook/jira-dc", AppLinkID: "applink-1", Status: "ok", CheckedAt: at},
		{ID: "jira-old", Name: "Jira 7.13", BaseURL: "http://jira-old.internal:8080", ConsumerKey: "asanajira-77aa",
			PrivateKeyPEM: "old-private-key", Version: "7.13.5", AuthMethods: []store.AuthMethod{store.AuthOAuth1},
			WebhookSecret: "webhook-secret-old", Status: "unchecked"},
	}
	for i := range servers {
		if err := st.CreateJiraServer(ctx, &servers[i]); err != nil {
			return err
		}
	}
	for _, w := range []store.Workspace{{GID: "1201", Name: "Acme"}, {GID: "1202", Name: "Globex"}} {
		if err := st.PutWorkspace(ctx, w); err != nil {
			return err
		}
	}
	for _, c := range []store.Connection{
		{WorkspaceGID: "1201", JiraServerID: "jira-dc", IsDefault: true},
		{WorkspaceGID: "1201", JiraServerID: "jira-old"},
		{WorkspaceGID: "1202", JiraServerID: "jira-old", IsDefault: true},
	} {
		if err := st.PutConnection(ctx, c); err != nil {
			return err
		}
	}
	for _, r := range []store.ProjectRoute{
		{WorkspaceGID: "1201", ProjectGID: "3001", JiraServerID: "jira-old", JiraProjectKey: "OPS"},
		{WorkspaceGID: "1201", ProjectGID: "3002", JiraServerID: "jira-dc", JiraProjectKey: "DEMO"},
	} {
		if err := st.PutProjectRoute(ctx, r); err != nil {
			return err
		}
	}
	for _, u := range []store.AsanaUser{
		{GID: "9001", Name: "Alice", Email: "alice@example.com", AccessToken: "asana-access-alice", RefreshToken: "asana-refresh-alice", Expiry: at.Add(time.Hour)},
		{GID: "9002", Name: "Bob", Email: "bob@example.com", AccessToken: "asana-access-bob", RefreshToken: "asana-refresh-bob", Expiry: at, ReconnectNeeded: true},
		{GID: "9003", Name: "Carol", Email: "carol@example.com"},
	} {
		if err := st.PutAsanaUser(ctx, u); err != nil {
			return err
		}
	}
	for _, c := range []store.JiraCredential{
		{AsanaUserGID: "9001", JiraServerID: "jira-dc", Method: store.AuthOAuth1, AccessToken: "oauth1-token-alice", TokenSecret: "oauth1-secret-alice", JiraUsername: "alice", JiraDisplayName: "Alice A."},
		{AsanaUserGID: "9001", JiraServerID: "jira-old", Method: store.AuthPAT, AccessToken: "pat-alice-old", JiraUsername: "alice"},
		{AsanaUserGID: "9002", JiraServerID: "jira-dc", Method: store.AuthOAuth2, AccessToken: "oauth2-access-bob", RefreshToken: "oauth2-refresh-bob", Expiry: at.Add(30 * time.Minute), JiraUsername: "bob", JiraDisplayName: "Bob B."},
	} {
		if err := st.PutJiraCredential(ctx, c); err != nil {
			return err
		}
	}
	if err := st.MarkJiraCredentialReconnect(ctx, "9001", "jira-old", "token revoked in Jira"); err != nil {
		return err
	}
	if err := st.PutAuthState(ctx, store.AuthState{State: "state-1", Kind: "connect", Data: `{"user":"9003","verifier":"pkce-verifier"}`, ExpiresAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		return err
	}
	links := []store.Link{
		{WorkspaceGID: "1201", TaskGID: "5001", JiraServerID: "jira-dc", IssueID: "10001", IssueKey: "DEMO-1", CreatedBy: "9001"},
		{WorkspaceGID: "1201", TaskGID: "5002", JiraServerID: "jira-dc", IssueID: "10002", IssueKey: "DEMO-2", CreatedBy: "9002"},
		{WorkspaceGID: "1201", TaskGID: "5003", JiraServerID: "jira-old", IssueID: "20001", IssueKey: "OPS-7", CreatedBy: "9001"},
	}
	for i := range links {
		if err := st.CreateLink(ctx, &links[i]); err != nil {
			return err
		}
	}
	if err := st.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "create_issue", Key: "task:5001", ExpiresAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		return err
	}
	if err := st.CompleteIdempotencyKey(ctx, "create_issue", "task:5001", []byte(`{"key":"DEMO-1"}`)); err != nil {
		return err
	}
	if err := st.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "create_issue", Key: "task:5004", ExpiresAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		return err
	}
	for _, e := range []store.AuditEntry{
		{Actor: "admin", Action: "jira.connect", Target: "jira-dc", Detail: "application link created"},
		{Actor: "admin", Action: "workspace.connect", Target: "1201"},
		{Actor: "cli", Action: "secrets.rotate", Detail: "re-sealed 12 values"},
	} {
		if err := st.AppendAudit(ctx, e); err != nil {
			return err
		}
	}
	// Jobs waiting in the queue across the upgrade, scheduled far ahead so
	// that no worker runs them while the fixture is made.
	later := &river.InsertOpts{ScheduledAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}
	payload, _ := json.Marshal(map[string]any{"webhookEvent": "jira:issue_updated", "issue": map[string]any{"id": "10001", "key": "DEMO-1"}})
	if err := a.Queue().Insert(ctx, jobs.ApplyJiraEventArgs{JiraServerID: "jira-dc", Payload: payload}, later); err != nil {
		return err
	}
	if err := a.Queue().Insert(ctx, bridge.CopyAttachmentsArgs{JiraServerID: "jira-dc", TaskGID: "5002", IssueKey: "DEMO-2", AsanaUser: "9002"}, later); err != nil {
		return err
	}
	return nil
}
