package jira

import (
	"errors"
	"strings"
	"testing"
	"time"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// TestEmulatorIssueWorkflow walks the calls the bridge makes, on the
// oldest and newest releases.
func TestEmulatorIssueWorkflow(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"7.13.5", "9.12.0", "10.3.0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			_, base := emulator(t, v, "", func(o *fakejira.Options) { o.AttachmentLimit = 1000 })
			c, _ := New(base, NewHTTPClient(&BasicAuthTransport{Username: "alice", Password: "alice"}, 30*time.Second), fastRetries())
			ctx := t.Context()
			ps, err := c.Projects(ctx)
			if err != nil || len(ps) == 0 {
				t.Fatalf("Projects = %v, %v", ps, err)
			}
			info, err := c.ServerInfo(ctx)
			if err != nil {
				t.Fatal(err)
			}
			types, err := c.CreateIssueTypes(ctx, info.ParsedVersion(), ps[0].Key)
			if err != nil {
				t.Fatal(err)
			}
			typeID := types[0].ID
			for _, it := range types {
				if it.Name == "Task" {
					typeID = it.ID
				}
			}
			created, err := c.CreateIssue(ctx, IssueInput{Fields: map[string]any{
				"project": map[string]string{"key": ps[0].Key}, "issuetype": map[string]string{"id": typeID},
				"summary": "From Asana", "description": "h1. Hello\n*bold*",
			}})
			if err != nil {
				t.Fatal(err)
			}
			is, err := c.GetIssue(ctx, created.Key, nil)
			if err != nil || is.Fields.Summary != "From Asana" || is.Fields.Status == nil || is.Fields.Created.IsZero() {
				t.Fatalf("GetIssue = %+v, %v", is, err)
			}
			if _, err := c.AddComment(ctx, created.Key, "from *Asana*", nil); err != nil {
				t.Error(err)
			}
			link := RemoteLink{GlobalID: "asana:task:42", Object: RemoteLinkObject{URL: "https://app.asana.com/0/1/42", Title: "Task"}}
			r1, err := c.UpsertRemoteLink(ctx, created.Key, link)
			if err != nil || !r1.Created {
				t.Errorf("first upsert = %+v, %v", r1, err)
			}
			link.Object.Title = "Task renamed"
			if r2, err := c.UpsertRemoteLink(ctx, created.Key, link); err != nil || r2.Created || r2.ID != r1.ID {
				t.Errorf("second upsert = %+v, %v", r2, err)
			}
			found, err := c.Search(ctx, SearchOptions{JQL: `issue in issuesWithRemoteLinksByGlobalId("asana:task:42")`})
			if err != nil || found.Total != 1 || found.Issues[0].Key != created.Key {
				t.Errorf("search by globalId = %+v, %v", found, err)
			}
			ts, err := c.Transitions(ctx, created.Key)
			if err != nil || len(ts) == 0 {
				t.Fatalf("Transitions = %v, %v", ts, err)
			}
			if err := c.DoTransition(ctx, created.Key, TransitionInput{ID: ts[0].ID}); err != nil {
				t.Errorf("DoTransition: %v", err)
			}
			atts, err := c.UploadAttachment(ctx, created.Key, "notes.txt", 11, strings.NewReader("hello world"), nil)
			if err != nil || len(atts) != 1 || atts[0].Size != 11 {
				t.Errorf("UploadAttachment = %+v, %v", atts, err)
			}
			// Size unknown, so only Jira's answer can refuse it.
			_, err = c.UploadAttachment(ctx, created.Key, "big.bin", -1, strings.NewReader(strings.Repeat("x", 5000)), nil)
			var tl *AttachmentTooLargeError
			if !errors.As(err, &tl) || tl.Layer != LayerJira || tl.Err == nil {
				t.Errorf("oversize upload: %v", err)
			}
			if _, err := c.SearchUsers(ctx, "bob", 10); err != nil {
				t.Error(err)
			}
			if _, err := c.AssignableUsers(ctx, AssignableOptions{Project: ps[0].Key, Query: "b"}); err != nil {
				t.Error(err)
			}
			if err := c.AssignIssue(ctx, created.Key, "bob"); err != nil {
				t.Error(err)
			}
			if _, err := c.GetIssue(ctx, "NOPE-999", nil); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing issue: %v", err)
			}
		})
	}
}

func TestEmulatorAdminSetup(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"8.20.1", "10.3.0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			fj, base := emulator(t, v, "")
			admin, _ := New(base, NewHTTPClient(&BasicAuthTransport{Username: "admin", Password: "admin"}, 30*time.Second), fastRetries())
			ctx := t.Context()
			filters := map[string]string{"issue-related-events-section": "project = DEMO"}
			wh, err := admin.CreateWebhook(ctx, Webhook{Name: "asanajira", URL: "http://127.0.0.1:1/hooks/jira?secret=x", Events: []string{EventIssueUpdated},
				Filters: filters, Enabled: true, Secret: "hmac-secret"})
			if err != nil || wh.ID() == "" {
				t.Fatalf("CreateWebhook = %+v, %v", wh, err)
			}
			// Each release reads its own body: the filter must arrive on both,
			// the secret only where Jira signs deliveries (10.x).
			wantSecret := ""
			if v == "10.3.0" {
				wantSecret = "hmac-secret"
			}
			if got := fj.Webhooks(); len(got) != 1 || got[0].JQL != "project = DEMO" || got[0].Secret != wantSecret || !got[0].Enabled {
				t.Errorf("registered = %+v, want the filter, enabled, secret %q", got, wantSecret)
			}
			ws, err := admin.Webhooks(ctx)
			if err != nil || len(ws) != 1 {
				t.Fatalf("Webhooks = %+v, %v", ws, err)
			}
			if ws[0].ID() != wh.ID() || ws[0].Filters["issue-related-events-section"] != "project = DEMO" || !ws[0].Enabled {
				t.Errorf("listed = %+v, created %+v", ws[0], wh)
			}
			if err := admin.DeleteWebhook(ctx, wh.ID()); err != nil {
				t.Error(err)
			}
			id, err := admin.CreateAppLink(ctx, AppLink{Name: "Asana", RPCURL: "https://bridge.example.com", DisplayURL: "https://bridge.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if err := admin.SetAppLinkConsumer(ctx, id, AppLinkConsumer{Key: "asanajira", Name: "Asana", PublicKey: publicKeyPEM(t)}); err != nil {
				t.Fatal(err)
			}
			var ok bool
			for _, l := range fj.ApplicationLinks() {
				ok = ok || l.ID == id && l.ConsumerKey == "asanajira"
			}
			if !ok {
				t.Errorf("links = %+v", fj.ApplicationLinks())
			}
			// Alice is no admin.
			alice, _ := New(base, NewHTTPClient(&BasicAuthTransport{Username: "alice", Password: "alice"}, 30*time.Second))
			if _, err := alice.CreateAppLink(ctx, AppLink{Name: "x", RPCURL: "https://x", DisplayURL: "https://x"}); err == nil {
				t.Error("non-admin created an application link")
			}
		})
	}
}

func TestEmulatorFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults fakejira.Faults
		check  func(t *testing.T, err error)
	}{
		{"429 with Retry-After", fakejira.Faults{Throttle: true, RetryAfterSeconds: 1, PathPrefix: "/jira/rest/api/2/myself"}, func(t *testing.T, err error) {
			var e *Error
			if !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != time.Second {
				t.Errorf("err = %v", err)
			}
		}},
		{"SSO HTML", fakejira.Faults{SSOHTML: true, PathPrefix: "/jira/rest/api/2/myself"}, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindSSO || !errors.Is(err, ErrUnauthorized) {
				t.Errorf("err = %v", err)
			}
		}},
		{"503 HTML from a proxy", fakejira.Faults{ErrorRate: 1, ErrorStatus: 503, PathPrefix: "/jira/rest/api/2/myself"}, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindServer || !e.Temporary() {
				t.Errorf("err = %v", err)
			}
		}},
		{"clock skew", fakejira.Faults{ClockSkewSeconds: 3600}, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || e.OAuthProblem != "timestamp_refused" || !strings.Contains(err.Error(), "NTP") {
				t.Errorf("err = %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fj, base := emulator(t, "9.12.0", "")
			key := testKey(t)
			if _, err := fj.RegisterConsumer("asanajira", "Asana", &key.PublicKey); err != nil {
				t.Fatal(err)
			}
			signer := &OAuth1Signer{ConsumerKey: "asanajira", PrivateKey: key}
			cfg := &OAuth1Config{BaseURL: base, Signer: signer}
			rt, err := cfg.RequestToken(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			verifier, _ := fj.ApproveRequestToken(rt.Token, "alice")
			at, err := cfg.AccessToken(t.Context(), rt.Token, verifier)
			if err != nil {
				t.Fatal(err)
			}
			if err := fj.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			c, _ := New(base, NewHTTPClient(&OAuth1Transport{Signer: signer, Token: at.Token}, 30*time.Second),
				WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: 2 * time.Second}))
			start := time.Now()
			_, err = c.Myself(t.Context())
			tt.check(t, err)
			if tt.faults.Throttle && time.Since(start) < 900*time.Millisecond {
				t.Errorf("Retry-After not honoured: returned after %s", time.Since(start))
			}
		})
	}
}
