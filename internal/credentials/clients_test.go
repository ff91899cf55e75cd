package credentials

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

const otherUser = "1201000000000099"

// cachedProvider is a Provider over the store's config cache, as the app
// builds it, with testUser connected to the emulator as alice.
func cachedProvider(t *testing.T) (*jiraEnv, *Provider, store.Store) {
	t.Helper()
	e := newJiraEnv(t, "9.12.0")
	raw := newSQLite(t)
	e.register(t, raw)
	if err := raw.PutAsanaUser(t.Context(), store.AsanaUser{GID: otherUser, Name: "Bob Brown"}); err != nil {
		t.Fatal(err)
	}
	st := store.NewConfigCache(raw, time.Hour, nil)
	e.put(t, st, testUser, "alice")
	return e, newProvider(t, st), st
}

func (e *jiraEnv) put(t *testing.T, st store.Store, asanaUser, jiraUser string) {
	t.Helper()
	c := e.credential(t, store.AuthPAT, jiraUser)
	c.AsanaUserGID = asanaUser
	if err := st.PutJiraCredential(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// myself is who Jira says the user's client acts as.
func myself(t *testing.T, p *Provider, asanaUser string) string {
	t.Helper()
	c, err := p.Jira(t.Context(), asanaUser, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.Myself(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return me.Name
}

// Kept clients are per user: two users asking in turn each act as their
// own Jira account, every time.
func TestJiraClientsArePerUser(t *testing.T) {
	t.Parallel()
	e, p, st := cachedProvider(t)
	e.put(t, st, otherUser, "bob")
	for range 3 {
		if got := myself(t, p, testUser); got != "alice" {
			t.Errorf("Asana user %s acts as %q, want alice", testUser, got)
		}
		if got := myself(t, p, otherUser); got != "bob" {
			t.Errorf("Asana user %s acts as %q, want bob", otherUser, got)
		}
	}
	a1, _ := p.Jira(t.Context(), testUser, testServerID)
	a2, _ := p.Jira(t.Context(), testUser, testServerID)
	if a1 != a2 {
		t.Error("a user's client was built again for an unchanged credential")
	}
}

// A credential written between two requests (a new token, here for
// another Jira account) is used by the second.
func TestJiraClientFollowsRotatedCredential(t *testing.T) {
	t.Parallel()
	e, p, st := cachedProvider(t)
	if got := myself(t, p, testUser); got != "alice" {
		t.Fatalf("acts as %q, want alice", got)
	}
	e.put(t, st, testUser, "bob")
	if got := myself(t, p, testUser); got != "bob" {
		t.Errorf("after the credential was rotated, acts as %q, want bob", got)
	}
}

// A token Jira rejects marks the credential at once: the next request is
// told to reconnect instead of getting the kept client.
func TestJiraClientDroppedAfter401(t *testing.T) {
	t.Parallel()
	e, p, st := cachedProvider(t)
	c, err := p.Jira(t.Context(), testUser, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := st.GetJiraCredential(t.Context(), testUser, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	e.fj.RevokeAccessToken(cred.AccessToken.Reveal())
	if _, err := c.Myself(t.Context()); err == nil {
		t.Fatal("a revoked token was accepted")
	}
	if _, err := p.Jira(t.Context(), testUser, testServerID); !errors.Is(err, ErrReconnectNeeded) {
		t.Errorf("after a 401: %v, want ErrReconnectNeeded", err)
	}
}

// An edited server (here a new base URL, in front of the same Jira) gets
// its users new clients.
func TestJiraClientFollowsServerEdit(t *testing.T) {
	t.Parallel()
	e, p, st := cachedProvider(t)
	myself(t, p, testUser)
	var seen atomic.Int32
	target, _ := url.Parse(e.base)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		r.Host = target.Host
		r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		r.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(front.Close)
	srv, err := st.GetJiraServer(t.Context(), testServerID)
	if err != nil {
		t.Fatal(err)
	}
	srv.BaseURL = front.URL + strings.TrimPrefix(e.base, target.Scheme+"://"+target.Host)
	if err := st.UpdateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	if got := myself(t, p, testUser); got != "alice" {
		t.Errorf("acts as %q, want alice", got)
	}
	if seen.Load() == 0 {
		t.Error("the client still called the server's old base URL")
	}
}
