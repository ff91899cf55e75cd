package asana

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"golang.org/x/oauth2"
)

func emulator(t *testing.T, opts ...func(*fakeasana.Options)) (*fakeasana.Server, string) {
	t.Helper()
	o := fakeasana.Options{OnUnknownRoute: func(method, path string) { t.Errorf("emulator: no route for %s %s", method, path) }}
	for _, f := range opts {
		f(&o)
	}
	fa, err := fakeasana.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fa)
	if err := fa.SetPublicBaseURL(srv.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); fa.Close() })
	return fa, srv.URL
}

func patClient(t *testing.T, base, token string) *Client {
	t.Helper()
	c, err := New(base+"/api/1.0", &http.Client{Transport: &BearerTransport{Token: token}, Timeout: 30 * time.Second},
		WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: 2 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmulatorReadsAndWrites(t *testing.T) {
	t.Parallel()
	fa, base := emulator(t)
	seed := fa.Seed()
	c := patClient(t, base, seed.Tokens["alice"])
	ctx := t.Context()
	me, err := c.Me(ctx)
	if err != nil || me.GID != seed.Users["alice"] {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	var ws []Workspace
	for w, err := range c.Workspaces(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	if len(ws) == 0 || ws[0].GID != seed.Workspace {
		t.Errorf("Workspaces = %+v", ws)
	}
	var found bool
	for p, err := range c.Projects(ctx, seed.Workspace) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || p.GID == seed.Project
	}
	if !found {
		t.Error("seeded project not listed")
	}
	var n int
	for u, err := range c.WorkspaceUsers(ctx, seed.Workspace) {
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "" {
			n++
		}
	}
	if n < 3 {
		t.Errorf("users with e-mail = %d", n)
	}
	task := seed.Tasks[0].GID
	tk, err := c.GetTask(ctx, task, nil)
	if err != nil || tk.Name != seed.Tasks[0].Name || tk.PermalinkURL == "" {
		t.Fatalf("GetTask = %+v, %v", tk, err)
	}
	if tk, err := c.UpdateTask(ctx, task, map[string]any{"completed": true}); err != nil || !tk.Completed {
		t.Errorf("UpdateTask = %+v, %v", tk, err)
	}
	st, err := c.AddComment(ctx, task, "Jira issue DEMO-1 created", "")
	if err != nil || st.GID == "" {
		t.Fatalf("AddComment = %+v, %v", st, err)
	}
	var texts []string
	for s, err := range c.Stories(ctx, task) {
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, s.Text)
	}
	if !strings.Contains(strings.Join(texts, "|"), "DEMO-1") {
		t.Errorf("stories = %v", texts)
	}
	// The "Jira status" field: created once, found the second time, with
	// options added as Jira statuses appear.
	f1, err := c.EnsureEnumField(ctx, seed.Workspace, seed.Project, JiraStatusField, []string{"To Do", "In Progress"})
	if err != nil {
		t.Fatal(err)
	}
	f2, err := c.EnsureEnumField(ctx, seed.Workspace, seed.Project, JiraStatusField, []string{"To Do", "In Progress", "Done"})
	if err != nil || f2.GID != f1.GID {
		t.Fatalf("second EnsureEnumField = %+v, %v", f2, err)
	}
	done, ok := f2.Option("Done")
	if !ok {
		t.Fatalf("options = %+v", f2.EnumOptions)
	}
	if err := c.SetCustomFields(ctx, task, map[string]any{f2.GID: done.GID}); err != nil {
		t.Fatal(err)
	}
	tk, _ = c.GetTask(ctx, task, nil)
	var got string
	for _, cf := range tk.CustomFields {
		if cf.GID == f2.GID && cf.EnumValue != nil {
			got = cf.EnumValue.Name
		}
	}
	if got != "Done" {
		t.Errorf("Jira status on task = %q", got)
	}
	if _, err := c.GetTask(ctx, "999", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing task: %v", err)
	}
}

func TestEmulatorAttachments(t *testing.T) {
	t.Parallel()
	fa, base := emulator(t)
	seed := fa.Seed()
	c := patClient(t, base, seed.Tokens["alice"])
	ctx := t.Context()
	var task struct{ GID string }
	for _, st := range seed.Tasks {
		if len(st.Attachments) > 0 {
			task.GID = st.GID
			break
		}
	}
	var hosted, linked int
	for a, err := range c.Attachments(ctx, task.GID) {
		if err != nil {
			t.Fatal(err)
		}
		if !a.Hosted() {
			linked++
			continue
		}
		hosted++
		body, att, err := c.DownloadAttachment(ctx, a.GID)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, body)
		_ = body.Close()
		if err != nil || n == 0 || (att.Size > 0 && n != att.Size) {
			t.Errorf("download %s: %d bytes (size %d), %v", a.Name, n, att.Size, err)
		}
	}
	if hosted == 0 || linked == 0 {
		t.Errorf("hosted %d, linked %d", hosted, linked)
	}
	// connect_to_app needs an OAuth token.
	in := ExternalAttachment{Parent: task.GID, URL: "http://jira.example.com/browse/DEMO-1", Name: "DEMO-1", ConnectToApp: true}
	if _, err := c.CreateExternalAttachment(ctx, in); err == nil {
		t.Error("a PAT connected an attachment to the app")
	}
	access, _, err := fa.IssueAccessToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	oc := patClient(t, base, access)
	a, err := oc.CreateExternalAttachment(ctx, in)
	if err != nil || !a.ConnectedToApp || a.ResourceSubtype != "external" {
		t.Errorf("external attachment = %+v, %v", a, err)
	}
}

func TestEmulatorEventsAndWebhooks(t *testing.T) {
	t.Parallel()
	fa, base := emulator(t)
	seed := fa.Seed()
	c := patClient(t, base, seed.Tokens["alice"])
	ctx := t.Context()
	// First call: 412 with a fresh token.
	page, err := c.Events(ctx, seed.Project, "")
	if !errors.Is(err, ErrSyncTokenInvalid) || page == nil || page.Sync == "" {
		t.Fatalf("first Events = %+v, %v", page, err)
	}
	if _, err := c.UpdateTask(ctx, seed.Tasks[1].GID, map[string]any{"name": "Renamed"}); err != nil {
		t.Fatal(err)
	}
	page, err = c.Events(ctx, seed.Project, page.Sync)
	if err != nil || len(page.Events) == 0 || page.Sync == "" {
		t.Fatalf("Events = %+v, %v", page, err)
	}
	if _, err := c.Events(ctx, seed.Project, "expired-token"); !errors.Is(err, ErrSyncTokenInvalid) {
		t.Errorf("bad token: %v", err)
	}

	// Webhook: a receiver that echoes the handshake and verifies deliveries.
	var mu sync.Mutex
	var secret string
	verified := make(chan bool, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := r.Header.Get("X-Hook-Secret"); s != "" {
			mu.Lock()
			secret = s
			mu.Unlock()
			w.Header().Set("X-Hook-Secret", s)
			w.WriteHeader(http.StatusOK)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		ok := VerifySignature(secret, body, r.Header.Get("X-Hook-Signature"))
		mu.Unlock()
		verified <- ok
		w.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()
	wh, err := c.CreateWebhook(ctx, seed.Tasks[2].GID, recv.URL+"/hooks/asana", nil)
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	mu.Lock()
	if wh.GID == "" || secret == "" || (wh.Secret != "" && wh.Secret != secret) {
		t.Errorf("webhook %+v, handshake secret %q", wh, secret)
	}
	mu.Unlock()
	if _, err := c.UpdateTask(ctx, seed.Tasks[2].GID, map[string]any{"name": "Changed"}); err != nil {
		t.Fatal(err)
	}
	select {
	case ok := <-verified:
		if !ok {
			t.Error("delivery signature did not verify")
		}
	case <-time.After(10 * time.Second):
		t.Log("no webhook delivery within 10s (emulator timing); signature check not exercised here")
	}
	// Its health, read alone and listed.
	got, err := c.Webhook(ctx, wh.GID)
	if err != nil || got.GID != wh.GID || !got.Active || got.Resource.GID != seed.Tasks[2].GID || got.FailureDeletionTimestamp != "" {
		t.Errorf("Webhook = %+v, %v", got, err)
	}
	var listed []Webhook
	for w, err := range c.Webhooks(ctx, seed.Workspace, "") {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, w)
	}
	if len(listed) != 1 || listed[0].GID != wh.GID || listed[0].Target != recv.URL+"/hooks/asana" {
		t.Errorf("Webhooks = %+v", listed)
	}
	for w, err := range patClient(t, base, seed.Tokens["bob"]).Webhooks(ctx, seed.Workspace, seed.Tasks[2].GID) {
		t.Errorf("bob lists alice's webhook: %+v, %v", w, err)
	}
	if err := c.DeleteWebhook(ctx, wh.GID); err != nil {
		t.Error(err)
	}
	if _, err := c.Webhook(ctx, wh.GID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Webhook after delete: %v, want ErrNotFound", err)
	}
}

func TestEmulatorRateLimit(t *testing.T) {
	t.Parallel()
	fa, base := emulator(t)
	seed := fa.Seed()
	if err := fa.SetFaults(fakeasana.Faults{Throttle: true, RetryAfterSeconds: 1, PathPrefix: "/api/1.0/users"}); err != nil {
		t.Fatal(err)
	}
	c := patClient(t, base, seed.Tokens["bob"])
	start := time.Now()
	_, err := c.Me(t.Context())
	var e *Error
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != time.Second {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Errorf("Retry-After not honoured (%s)", time.Since(start))
	}
	wrong := patClient(t, base, "pat-nobody")
	if _, err := wrong.GetTask(t.Context(), seed.Tasks[0].GID, nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("bad token: %v", err)
	}
}

func TestEmulatorOAuth2PKCE(t *testing.T) {
	t.Parallel()
	fa, base := emulator(t)
	app := fa.App()
	redirect := "https://bridge.example.com/connect/asana/callback"
	if len(app.RedirectURLs) > 0 {
		redirect = app.RedirectURLs[0]
	}
	cfg, err := OAuth2Config(base, app.ClientID, app.ClientSecret, redirect, "default")
	if err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier))
	if !strings.HasPrefix(authURL, base+"/-/oauth_authorize?") || !strings.Contains(authURL, "code_challenge_method=S256") {
		t.Errorf("AuthCodeURL = %s", authURL)
	}
	code, err := fa.IssueOAuthCode("alice", redirect, oauth2.S256ChallengeFromVerifier(verifier))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	// Refresh: an expired token makes the source call the token endpoint.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	src := cfg.TokenSource(ctx, &expired)
	fresh, err := src.Token()
	if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" {
		t.Fatalf("refresh = %+v, %v", fresh, err)
	}
	c, _ := New(base+"/api/1.0", oauth2.NewClient(ctx, src))
	if me, err := c.Me(t.Context()); err != nil || me.GID != fa.Seed().Users["alice"] {
		t.Errorf("Me = %+v, %v", me, err)
	}
	if err := RevokeToken(t.Context(), nil, cfg, fresh.RefreshToken); err != nil {
		t.Errorf("RevokeToken: %v", err)
	}
	// A wrong PKCE verifier is refused.
	code2, _ := fa.IssueOAuthCode("alice", redirect, oauth2.S256ChallengeFromVerifier(verifier))
	if _, err := cfg.Exchange(ctx, code2, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Error("exchange with a wrong verifier succeeded")
	}
}
