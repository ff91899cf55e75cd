package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/asana"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/store"
)

// The bridge keeps users' Jira credentials in memory (store.ConfigCache),
// yet a revoked or removed credential is seen by the next widget: a token
// Jira no longer accepts is marked at its first 401, after which the widget
// asks to authorize again without calling Jira; a credential removed or
// replaced through the store is seen at once.
func TestWidgetSeesARevokedCredentialAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "sqlite")
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	a, err := app.New(ctx, w.cfg, quiet())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, w.d.BridgeListener) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
		a.Close()
	})
	servers, err := a.Store().ListJiraServers(ctx)
	if err != nil || len(servers) != 1 {
		t.Fatalf("servers = %v, %v", servers, err)
	}

	ac, err := asana.New(w.d.AsanaURL+"/api/1.0", &http.Client{Transport: &asana.BearerTransport{Token: w.seed.Tokens["alice"]}})
	if err != nil {
		t.Fatal(err)
	}
	// Each request a widget of its own (a distinct URL), so the widget
	// cache never answers and each reads Jira with the credential.
	n := 0
	widget := func() (int, string) {
		t.Helper()
		n++
		att, err := ac.CreateExternalAttachment(ctx, asana.ExternalAttachment{Parent: w.seed.Tasks[0].GID,
			URL: w.d.JiraURL + "/browse/DEMO-2?focusedCommentId=" + strconv.Itoa(n), Name: "DEMO-2"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := w.d.Asana.CallApp(ctx, fakeasana.AppCall{Kind: fakeasana.CallWidget, User: w.alice, Attachment: att.GID})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status, string(r.Body)
	}
	connectPAT := func() {
		t.Helper()
		pat, err := w.d.Jira.CreatePAT("alice", "asanajira test "+strconv.Itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Store().PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: w.alice, JiraServerID: servers[0].ID,
			Method: store.AuthPAT, AccessToken: store.Secret(pat), JiraUsername: "alice", JiraDisplayName: "alice"}); err != nil {
			t.Fatal(err)
		}
		w.pat = pat
	}
	steps := []struct {
		name   string
		before func()
		status int
		says   string
	}{
		{"connected", func() {}, http.StatusOK, "DEMO-2"},
		{"the token revoked in Jira: the first read is refused", func() { w.d.Jira.RevokeAccessToken(w.pat) }, http.StatusUnauthorized, ""},
		{"… and marked: the next asks to authorize again", func() {}, http.StatusUnauthorized, "authorize again"},
		{"connected again", connectPAT, http.StatusOK, "DEMO-2"},
		{"disconnected in asanajira", func() {
			if err := a.Store().DeleteJiraCredential(ctx, w.alice, servers[0].ID); err != nil {
				t.Fatal(err)
			}
		}, http.StatusUnauthorized, "Connect your Jira account"},
		{"connected with another token", connectPAT, http.StatusOK, "DEMO-2"},
	}
	for _, s := range steps {
		s.before()
		status, body := widget()
		if status != s.status || !strings.Contains(body, s.says) {
			t.Errorf("%s: HTTP %d %.300s; want %d with %q", s.name, status, body, s.status, s.says)
		}
	}
	cred, err := a.Store().GetJiraCredential(ctx, w.alice, servers[0].ID)
	if err != nil || cred.ReconnectNeeded || cred.AccessToken.Reveal() != w.pat {
		t.Errorf("stored credential at the end: %+v, %v", cred.ReconnectNeeded, err)
	}
}
