package credentials

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

const (
	testUser      = "1201000000000012" // alice in the Asana emulator
	testRedirect  = "https://bridge.example.com/connect/jira/oauth2/callback"
	testServerID  = "jira-1"
	testConsumer  = "asanajira-test"
	refreshLatent = 150 * time.Millisecond
)

// testKey is one RSA key for every test: generating 2048-bit keys is slow.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func testKeyPEM(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func newSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "asanajira.db"), storetest.NewSealer(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// jiraEnv is a Jira emulator with an application link and an OAuth 2.0
// incoming link, whose token endpoint counts (and slows down) refreshes.
type jiraEnv struct {
	fj        *fakejira.Server
	base      string
	server    store.JiraServer
	refreshes atomic.Int32
}

func newJiraEnv(t *testing.T, version string) *jiraEnv {
	t.Helper()
	fj, err := fakejira.New(fakejira.Options{Version: version, OnUnknownRoute: func(method, path string) {
		t.Errorf("Jira emulator: no route for %s %s", method, path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	e := &jiraEnv{fj: fj}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/rest/oauth2/latest/token") {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			if v, _ := url.ParseQuery(string(b)); v.Get("grant_type") == "refresh_token" {
				e.refreshes.Add(1)
				// Slow enough that concurrent callers really overlap.
				time.Sleep(refreshLatent)
			}
		}
		fj.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); fj.Close() })
	e.base = ts.URL + fj.ContextPath()
	if _, err := fj.RegisterConsumer(testConsumer, "asanajira", &testKey().PublicKey); err != nil {
		t.Fatal(err)
	}
	e.server = store.JiraServer{ID: testServerID, Name: "Test Jira", BaseURL: e.base, ConsumerKey: testConsumer,
		PrivateKeyPEM: store.Secret(testKeyPEM(t)), Version: version,
		AuthMethods: []store.AuthMethod{store.AuthOAuth1, store.AuthPAT}}
	if oc, err := fj.RegisterOAuth2Client("asanajira", []string{testRedirect}, []string{"WRITE"}); err == nil {
		e.server.OAuth2ClientID, e.server.OAuth2ClientSecret = oc.ClientID, store.Secret(oc.ClientSecret)
		e.server.AuthMethods = append(e.server.AuthMethods, store.AuthOAuth2)
	}
	return e
}

// register stores the Jira server and the Asana user in st.
func (e *jiraEnv) register(t *testing.T, st store.Store) {
	t.Helper()
	srv := e.server
	if err := st.CreateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	if err := st.PutAsanaUser(t.Context(), store.AsanaUser{GID: testUser, Name: "Alice Anders"}); err != nil {
		t.Fatal(err)
	}
}

func newProvider(t *testing.T, st store.Store, opts ...func(*Options)) *Provider {
	t.Helper()
	o := Options{Store: st, JiraOAuth2RedirectURL: testRedirect, AsanaClientID: "asanajira-demo", AsanaClientSecret: "demo-secret",
		AsanaRedirectURL: "https://bridge.example.com/connect/asana/callback"}
	for _, f := range opts {
		f(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// credential authorizes user on the emulator with method and returns the
// credential as connect would store it.
func (e *jiraEnv) credential(t *testing.T, method store.AuthMethod, user string) store.JiraCredential {
	t.Helper()
	c := store.JiraCredential{AsanaUserGID: testUser, JiraServerID: testServerID, Method: method, JiraUsername: user}
	switch method {
	case store.AuthPAT:
		tok, err := e.fj.CreatePAT(user, "asanajira")
		if err != nil {
			t.Fatal(err)
		}
		c.AccessToken = store.Secret(tok)
	case store.AuthOAuth1:
		cfg := &jira.OAuth1Config{BaseURL: e.base, Signer: &jira.OAuth1Signer{ConsumerKey: testConsumer, PrivateKey: testKey()},
			CallbackURL: "https://bridge.example.com/connect/jira/oauth1/callback"}
		rt, err := cfg.RequestToken(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.fj.ApproveRequestToken(rt.Token, user)
		if err != nil {
			t.Fatal(err)
		}
		at, err := cfg.AccessToken(t.Context(), rt.Token, v)
		if err != nil {
			t.Fatal(err)
		}
		c.AccessToken, c.TokenSecret = store.Secret(at.Token), store.Secret(at.Secret)
	case store.AuthOAuth2:
		tok := e.oauth2Token(t, user)
		c.AccessToken, c.RefreshToken, c.Expiry = store.Secret(tok.AccessToken), store.Secret(tok.RefreshToken), tok.Expiry
	}
	return c
}

// oauth2Token runs Jira's OAuth 2.0 consent as user (the emulator's login
// form) and exchanges the code with PKCE.
func (e *jiraEnv) oauth2Token(t *testing.T, user string) *oauth2.Token {
	t.Helper()
	cfg, err := jira.OAuth2Config(e.base, e.server.OAuth2ClientID, e.server.OAuth2ClientSecret.Reveal(), testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, verifier := consent(t, browser, cfg, user)
	tok, err := cfg.Exchange(jira.OAuth2Context(t.Context(), nil, testRedirect), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// consent is user allowing asanajira on Jira's OAuth 2.0 page (the
// emulator's login form) in browser, which must not follow redirects; it
// returns the code and the PKCE verifier to exchange it with.
func consent(t *testing.T, browser *http.Client, cfg *oauth2.Config, user string) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	form := url.Values{"client_id": {cfg.ClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"}, "scope": {"WRITE"},
		"state": {"s"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
		"os_username": {user}, "os_password": {user}, "approve": {"Allow"}}
	resp, err := browser.PostForm(cfg.Endpoint.AuthURL, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code"), verifier
}

// concurrently runs fn(0) … fn(n-1) at once and reports their errors.
func concurrently(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// postgresReplicas opens n stores over one fresh PostgreSQL database, as n
// asanajira processes sharing it would.
func postgresReplicas(t *testing.T, n int) []store.Store {
	t.Helper()
	dbURL := pgtest.URL(t)
	sealer := storetest.NewSealer(t)
	stores := make([]store.Store, n)
	for i := range stores {
		st, err := postgres.Open(t.Context(), dbURL, sealer, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		stores[i] = st
	}
	return stores
}
