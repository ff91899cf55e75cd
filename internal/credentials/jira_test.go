package credentials

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

func TestJiraEachMethod(t *testing.T) {
	t.Parallel()
	for _, m := range []store.AuthMethod{store.AuthOAuth1, store.AuthOAuth2, store.AuthPAT} {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			e := newJiraEnv(t, "9.12.0")
			st := newSQLite(t)
			e.register(t, st)
			if err := st.PutJiraCredential(t.Context(), e.credential(t, m, "alice")); err != nil {
				t.Fatal(err)
			}
			c, err := newProvider(t, st).Jira(t.Context(), testUser, testServerID)
			if err != nil {
				t.Fatal(err)
			}
			me, err := c.Myself(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if me.Name != "alice" {
				t.Errorf("myself = %q, want alice", me.Name)
			}
			if e.refreshes.Load() != 0 {
				t.Errorf("a fresh credential was refreshed %d times", e.refreshes.Load())
			}
		})
	}
}

func TestNotConnected(t *testing.T) {
	t.Parallel()
	e := newJiraEnv(t, "9.12.0")
	st := newSQLite(t)
	e.register(t, st)
	p := newProvider(t, st)
	tests := []struct {
		name string
		call func() error
	}{
		{"no Jira credential", func() error { _, err := p.Jira(t.Context(), testUser, testServerID); return err }},
		{"unknown Jira server", func() error { _, err := p.Jira(t.Context(), testUser, "nope"); return err }},
		{"no Asana user", func() error { _, err := p.Asana(t.Context(), testUser); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrNotConnected) || errors.Is(err, ErrReconnectNeeded) {
				t.Errorf("err = %v, want ErrNotConnected", err)
			}
		})
	}
}

// TestJiraRejectedMarksReconnect: a token the user revoked in Jira fails the
// call, marks the credential, and from then on the Provider answers
// ErrReconnectNeeded without calling Jira.
func TestJiraRejectedMarksReconnect(t *testing.T) {
	t.Parallel()
	for _, m := range []store.AuthMethod{store.AuthOAuth1, store.AuthOAuth2, store.AuthPAT} {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			e := newJiraEnv(t, "9.12.0")
			st := newSQLite(t)
			e.register(t, st)
			cred := e.credential(t, m, "alice")
			if err := st.PutJiraCredential(t.Context(), cred); err != nil {
				t.Fatal(err)
			}
			p := newProvider(t, st)
			c, err := p.Jira(t.Context(), testUser, testServerID)
			if err != nil {
				t.Fatal(err)
			}
			if !e.fj.RevokeAccessToken(cred.AccessToken.Reveal()) {
				t.Fatal("emulator did not know the token")
			}
			if _, err := c.Myself(t.Context()); !errors.Is(err, jira.ErrUnauthorized) {
				t.Fatalf("Myself after revoke: %v, want jira.ErrUnauthorized", err)
			}
			got, err := st.GetJiraCredential(t.Context(), testUser, testServerID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.ReconnectNeeded || got.ReconnectReason == "" {
				t.Errorf("credential after revoke: reconnect=%v reason=%q", got.ReconnectNeeded, got.ReconnectReason)
			}
			_, err = p.Jira(t.Context(), testUser, testServerID)
			var re *ReconnectError
			if !errors.Is(err, ErrReconnectNeeded) || !errors.As(err, &re) || re.JiraServerID != testServerID || re.Service != "jira" {
				t.Errorf("Jira after revoke: %v", err)
			}
		})
	}
}

// TestJiraNotMarkedForAdminProblems: an SSO page, Jira down or a broken
// application link are not the user's token's fault; reconnecting would not
// help, so the credential stays as it is.
func TestJiraNotMarkedForAdminProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    store.AuthMethod
		breakJira func(e *jiraEnv) error
	}{
		{"SSO page", store.AuthPAT, func(e *jiraEnv) error { return e.fj.SetFaults(fakejira.Faults{SSOHTML: true}) }},
		{"Jira down", store.AuthOAuth1, func(e *jiraEnv) error { return e.fj.SetFaults(fakejira.Faults{ErrorRate: 1}) }},
		{"clock skew", store.AuthOAuth1, func(e *jiraEnv) error { return e.fj.SetFaults(fakejira.Faults{ClockSkewSeconds: 3600}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newJiraEnv(t, "9.12.0")
			st := newSQLite(t)
			e.register(t, st)
			if err := st.PutJiraCredential(t.Context(), e.credential(t, tt.method, "alice")); err != nil {
				t.Fatal(err)
			}
			c, err := newProvider(t, st).Jira(t.Context(), testUser, testServerID,
				jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1}))
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.breakJira(e); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Myself(t.Context()); err == nil {
				t.Fatal("Myself succeeded")
			}
			got, err := st.GetJiraCredential(t.Context(), testUser, testServerID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ReconnectNeeded {
				t.Errorf("credential marked for reconnection: %q", got.ReconnectReason)
			}
		})
	}
}

// expire makes the stored OAuth 2.0 access token look expired, as an hour
// later.
func expire(t *testing.T, st store.Store) store.JiraCredential {
	t.Helper()
	c, err := st.GetJiraCredential(t.Context(), testUser, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	c.Expiry = time.Now().Add(-time.Minute)
	if err := st.PutJiraCredential(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestJiraOAuth2RefreshOnceUnderConcurrency: many requests of one user
// arrive with an expired token; Jira sees one refresh, every request
// succeeds, and the rotated tokens are persisted.
func TestJiraOAuth2RefreshOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newJiraEnv(t, "9.12.0")
	st := newSQLite(t)
	e.register(t, st)
	if err := st.PutJiraCredential(t.Context(), e.credential(t, store.AuthOAuth2, "alice")); err != nil {
		t.Fatal(err)
	}
	old := expire(t, st)
	p := newProvider(t, st)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			c, err := p.Jira(t.Context(), testUser, testServerID)
			if err == nil {
				_, err = c.Myself(t.Context())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := e.refreshes.Load(); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	got, err := st.GetJiraCredential(t.Context(), testUser, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken == old.AccessToken || got.RefreshToken == old.RefreshToken || !got.Expiry.After(time.Now().Add(30*time.Minute)) {
		t.Errorf("refreshed credential not persisted: same access %v, same refresh %v, expiry %v",
			got.AccessToken == old.AccessToken, got.RefreshToken == old.RefreshToken, got.Expiry)
	}
	if got.ReconnectNeeded {
		t.Errorf("marked for reconnection: %s", got.ReconnectReason)
	}
}

// TestJiraOAuth2RefreshAcrossProcesses: two asanajira processes (two stores,
// two Providers) share one PostgreSQL database; both find the token expired
// at the same moment; the row lock lets exactly one refresh, and the other
// uses the rotated token it persisted.
func TestJiraOAuth2RefreshAcrossProcesses(t *testing.T) {
	t.Parallel()
	stores := postgresReplicas(t, 2)
	e := newJiraEnv(t, "9.12.0")
	e.register(t, stores[0])
	if err := stores[0].PutJiraCredential(t.Context(), e.credential(t, store.AuthOAuth2, "alice")); err != nil {
		t.Fatal(err)
	}
	expire(t, stores[0])
	providers := make([]*Provider, 10)
	for i := range providers {
		providers[i] = newProvider(t, stores[i%2])
	}
	concurrently(t, len(providers), func(i int) error {
		c, err := providers[i].Jira(t.Context(), testUser, testServerID)
		if err == nil {
			_, err = c.Myself(t.Context())
		}
		return err
	})
	if n := e.refreshes.Load(); n != 1 {
		t.Errorf("refreshes = %d, want exactly 1", n)
	}
	a, err := stores[0].GetJiraCredential(t.Context(), testUser, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := stores[1].GetJiraCredential(t.Context(), testUser, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" || a.ReconnectNeeded {
		t.Errorf("stores disagree (-0 +1):\n%s reconnect=%v", diff, a.ReconnectNeeded)
	}
}

// TestJiraOAuth2RotatedByAnotherReplica: a client holds an access token that
// another replica's refresh has since rotated away (Jira invalidates it at
// once). The 401 makes the client pick up the stored token and replay; the
// credential is not marked.
func TestJiraOAuth2RotatedByAnotherReplica(t *testing.T) {
	t.Parallel()
	e := newJiraEnv(t, "9.12.0")
	st := newSQLite(t)
	e.register(t, st)
	if err := st.PutJiraCredential(t.Context(), e.credential(t, store.AuthOAuth2, "alice")); err != nil {
		t.Fatal(err)
	}
	c, err := newProvider(t, st).Jira(t.Context(), testUser, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	// The other replica: a Provider of its own refreshes the expired token.
	expire(t, st)
	other := newProvider(t, st)
	if _, err := other.Jira(t.Context(), testUser, testServerID); err != nil {
		t.Fatal(err)
	}
	if n := e.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
	me, err := c.Myself(t.Context())
	if err != nil {
		t.Fatalf("Myself with a rotated token: %v", err)
	}
	if me.Name != "alice" {
		t.Errorf("myself = %q", me.Name)
	}
	if n := e.refreshes.Load(); n != 1 {
		t.Errorf("refreshes = %d, want still 1 (the stored token was picked up)", n)
	}
	got, _ := st.GetJiraCredential(t.Context(), testUser, testServerID)
	if got.ReconnectNeeded {
		t.Errorf("marked for reconnection: %s", got.ReconnectReason)
	}
}

// TestJiraOAuth2RefreshRejected: the refresh token was revoked; the refresh
// answers invalid_grant, the credential is marked, the caller gets
// ErrReconnectNeeded.
func TestJiraOAuth2RefreshRejected(t *testing.T) {
	t.Parallel()
	e := newJiraEnv(t, "9.12.0")
	st := newSQLite(t)
	e.register(t, st)
	cred := e.credential(t, store.AuthOAuth2, "alice")
	if err := st.PutJiraCredential(t.Context(), cred); err != nil {
		t.Fatal(err)
	}
	expire(t, st)
	e.fj.RevokeAccessToken(cred.RefreshToken.Reveal())
	_, err := newProvider(t, st).Jira(t.Context(), testUser, testServerID)
	if !errors.Is(err, ErrReconnectNeeded) {
		t.Fatalf("err = %v, want ErrReconnectNeeded", err)
	}
	got, _ := st.GetJiraCredential(t.Context(), testUser, testServerID)
	if !got.ReconnectNeeded {
		t.Error("credential not marked")
	}
}

func TestParsePrivateKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, pem string
		ok        bool
	}{
		{"pkcs8", testKeyPEM(t), true},
		{"garbage", "not a key", false},
		{"wrong block", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parsePrivateKey(tt.pem)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
