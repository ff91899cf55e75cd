package credentials

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/store"
)

// bearers records the access tokens Asana API calls carried, in order.
type bearers struct {
	mu     sync.Mutex
	tokens []string
}

func (b *bearers) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.tokens) == 0 {
		return ""
	}
	return b.tokens[len(b.tokens)-1]
}

// watchBearers makes the provider's Asana calls go through a proxy that
// records their access tokens.
func watchBearers(t *testing.T, e *asanaEnv, st store.Store) (*Provider, *bearers) {
	t.Helper()
	b := &bearers{}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			b.mu.Lock()
			b.tokens = append(b.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			b.mu.Unlock()
		}
		proxyTo(t, e.url, w, r)
	}))
	t.Cleanup(front.Close)
	p := newProvider(t, st, func(o *Options) { o.AsanaOAuthURL, o.AsanaAPIURL = e.url, front.URL+"/api/1.0" })
	return p, b
}

func proxyTo(t *testing.T, base string, w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
	if err != nil {
		t.Error(err)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		_, _ = w.Write(buf[:n])
		if err != nil {
			return
		}
	}
}

func me(t *testing.T, p *Provider) {
	t.Helper()
	c, err := p.Asana(t.Context(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// Over the ConfigCache, as the app builds it: a token refreshed in this
// process is used by the next client at once, without a second refresh,
// although the expired one was cached.
func TestAsanaCachedRefreshUsedAtOnce(t *testing.T) {
	t.Parallel()
	e := newAsanaEnv(t)
	raw := newSQLite(t)
	st := store.NewConfigCache(raw, time.Hour, nil)
	old := e.storeUser(t, st, time.Now().Add(-time.Minute))
	if _, err := st.GetAsanaUser(t.Context(), testUser); err != nil { // cached, expired
		t.Fatal(err)
	}
	p, sent := watchBearers(t, e, st)
	me(t, p)
	stored, err := raw.GetAsanaUser(t.Context(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccessToken == old.AccessToken {
		t.Fatal("the expired token was not refreshed")
	}
	me(t, p)
	if n := e.refreshes.Load(); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	if got := sent.last(); got != stored.AccessToken.Reveal() {
		t.Errorf("the next client sent %q, want the refreshed token %q", got, stored.AccessToken.Reveal())
	}
}

// TestAsanaRefreshAcrossProcesses: two processes, each with its
// ConfigCache, share one PostgreSQL database and both find the user's
// token expired at once: the user's row lock lets one refresh, and the
// other uses the token it stored.
func TestAsanaRefreshAcrossProcesses(t *testing.T) {
	t.Parallel()
	e := newAsanaEnv(t)
	stores := cachedReplicas(t, 2)
	e.storeUser(t, stores[0], time.Now().Add(-time.Minute))
	providers := make([]*Provider, 10) // each with its own locks
	for i := range providers {
		providers[i] = e.provider(t, stores[i%2])
	}
	concurrently(t, len(providers), func(i int) error {
		c, err := providers[i].Asana(t.Context(), testUser)
		if err == nil {
			_, err = c.Me(t.Context())
		}
		return err
	})
	if n := e.refreshes.Load(); n != 1 {
		t.Errorf("refreshes = %d, want exactly 1", n)
	}
}

// TestAsanaDisconnectedOnAnotherReplica: the user disconnects through one
// process (tokens cleared, the refresh token revoked) while another still
// has the user cached. That one's next call gets Asana's 401 and finds the
// user disconnected: it neither replays with no token nor marks a
// disconnected user for reconnection.
func TestAsanaDisconnectedOnAnotherReplica(t *testing.T) {
	t.Parallel()
	e := newAsanaEnv(t)
	stores := cachedReplicas(t, 2)
	u := e.storeUser(t, stores[0], time.Now().Add(time.Hour))
	p := e.provider(t, stores[1])
	me(t, p) // cached by the second process
	if err := stores[0].PutAsanaUser(t.Context(), store.AsanaUser{GID: testUser, Name: u.Name}); err != nil {
		t.Fatal(err)
	}
	if err := asana.RevokeToken(t.Context(), nil, p.AsanaOAuth2Config(), u.RefreshToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	c, err := p.Asana(t.Context(), testUser)
	if err != nil {
		t.Fatal(err) // the cached token, within the TTL
	}
	if _, err := c.Me(t.Context()); !errors.Is(err, asana.ErrUnauthorized) {
		t.Fatalf("Me after the disconnection: %v, want asana.ErrUnauthorized", err)
	}
	got, err := stores[0].GetAsanaUser(t.Context(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	if got.ReconnectNeeded || got.AccessToken != "" {
		t.Errorf("after the 401: reconnect needed %v, token kept %v; want the user left disconnected", got.ReconnectNeeded, got.AccessToken != "")
	}
	if _, err := e.provider(t, stores[0]).Asana(t.Context(), testUser); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Asana after the disconnection: %v, want ErrNotConnected", err)
	}
}

// cachedReplicas is postgresReplicas with each store behind a ConfigCache
// (an hour's TTL: another replica's write is not seen), as the app builds
// it.
func cachedReplicas(t *testing.T, n int) []store.Store {
	t.Helper()
	stores := postgresReplicas(t, n)
	for i, st := range stores {
		stores[i] = store.NewConfigCache(st, time.Hour, nil)
	}
	return stores
}
