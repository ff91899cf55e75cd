package connect

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/credentials"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
	"github.com/asanajira/asanajira/internal/tlstest"
)

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// clock is a settable test clock shared by the store and the handler.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is asanajira's connect pages between the Asana and Jira emulators.
type env struct {
	st       store.Store
	clock    *clock
	fa       *fakeasana.Server
	asanaURL string
	bridge   string
	prov     *credentials.Provider
	logs     *syncBuffer
	ws       string
	alice    string
	jiras    []*jiraServer
	// roots are the CAs the user's browser trusts: the private CAs of Jira
	// servers behind one, as a company's managed browsers do.
	roots *x509.CertPool
}

type jiraServer struct {
	fj   *fakejira.Server
	base string
	rec  store.JiraServer
}

// newEnv starts everything; servers lists the Jira versions and the auth
// methods each allows, all connected to the seeded Asana workspace.
func newEnv(t *testing.T, servers ...serverSpec) *env {
	t.Helper()
	e := &env{clock: &clock{t: time.Now()}, logs: &syncBuffer{}, roots: x509.NewCertPool()}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "asanajira.db"), storetest.NewSealer(t), e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.st = st

	fa, err := fakeasana.New(fakeasana.Options{OnUnknownRoute: func(m, p string) { t.Errorf("Asana emulator: no route %s %s", m, p) }})
	if err != nil {
		t.Fatal(err)
	}
	ats := httptest.NewServer(fa)
	t.Cleanup(func() { ats.Close(); fa.Close() })
	if err := fa.SetPublicBaseURL(ats.URL); err != nil {
		t.Fatal(err)
	}
	e.fa, e.asanaURL = fa, ats.URL
	seed := fa.Seed()
	e.ws, e.alice = seed.Workspace, seed.Users["alice"]

	var h http.Handler
	bts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(bts.Close)
	e.bridge = bts.URL

	e.prov, err = credentials.New(credentials.Options{Store: st, AsanaOAuthURL: ats.URL, AsanaAPIURL: ats.URL + "/api/1.0",
		AsanaClientID: "asanajira-demo", AsanaClientSecret: "demo-secret", AsanaRedirectURL: e.bridge + AsanaCallbackPath,
		JiraOAuth2RedirectURL: e.bridge + JiraOAuth2CallbackPath})
	if err != nil {
		t.Fatal(err)
	}
	h = New(Deps{Store: st, Credentials: e.prov, Log: slog.New(slog.NewTextHandler(e.logs, nil)), PublicURL: e.bridge,
		AsanaURL: ats.URL, AsanaClientID: "asanajira-demo", AsanaClientSecret: "demo-secret", Now: e.clock.now})

	if err := st.PutWorkspace(t.Context(), store.Workspace{GID: e.ws, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	for i, spec := range servers {
		e.jiras = append(e.jiras, e.addJira(t, spec, i == 0))
	}
	return e
}

type serverSpec struct {
	version string
	methods []store.AuthMethod
	// privateCA serves Jira over TLS with a certificate from its own CA,
	// recorded as the server's CA bundle.
	privateCA bool
}

func (e *env) addJira(t *testing.T, spec serverSpec, isDefault bool) *jiraServer {
	t.Helper()
	fj, err := fakejira.New(fakejira.Options{Version: spec.version, OnUnknownRoute: func(m, p string) { t.Errorf("Jira emulator: no route %s %s", m, p) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fj.Close)
	var ts *httptest.Server
	var caBundle string
	if spec.privateCA {
		ca := tlstest.NewCA(t, "Jira "+spec.version+" private CA")
		ts, caBundle = ca.NewServer(t, fj), string(ca.PEM)
		e.roots.AddCert(ca.Cert)
	} else {
		ts = httptest.NewServer(fj)
		t.Cleanup(ts.Close)
	}
	js := &jiraServer{fj: fj, base: ts.URL + fj.ContextPath()}
	consumer := "asanajira-" + strings.ReplaceAll(spec.version, ".", "")
	if _, err := fj.RegisterConsumer(consumer, "asanajira", &testKey().PublicKey); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	js.rec = store.JiraServer{Name: "Jira " + spec.version, BaseURL: js.base, ConsumerKey: consumer,
		PrivateKeyPEM: store.Secret(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		Version:       spec.version, AuthMethods: spec.methods, CABundlePEM: caBundle}
	if oc, err := fj.RegisterOAuth2Client("asanajira", []string{e.bridge + JiraOAuth2CallbackPath}, []string{"WRITE"}); err == nil {
		js.rec.OAuth2ClientID, js.rec.OAuth2ClientSecret = oc.ClientID, store.Secret(oc.ClientSecret)
	}
	if err := e.st.CreateJiraServer(t.Context(), &js.rec); err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutConnection(t.Context(), store.Connection{WorkspaceGID: e.ws, JiraServerID: js.rec.ID, IsDefault: isDefault}); err != nil {
		t.Fatal(err)
	}
	return js
}

// browser is a cookie-keeping client that does not follow redirects, so
// each step can be checked.
type browser struct {
	t  *testing.T
	hc *http.Client
	e  *env
}

func (e *env) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, e: e, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, body: string(body), header: resp.Header}
	if loc := resp.Header.Get("Location"); loc != "" {
		u, err := resp.Request.URL.Parse(loc)
		if err != nil {
			b.t.Fatal(err)
		}
		p.location = u.String()
	}
	if resp.Header.Get("Cross-Origin-Opener-Policy") != "" && strings.HasPrefix(req.URL.String(), b.e.bridge) {
		b.t.Errorf("%s sent Cross-Origin-Opener-Policy %q", req.URL.Path, resp.Header.Get("Cross-Origin-Opener-Policy"))
	}
	return p
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.abs(rawURL), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(rawURL string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, b.abs(rawURL), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.e.bridge + u
	}
	return u
}

// follow follows redirects while they stay on asanajira and returns the
// first page that is not a redirect to asanajira (a page, or a redirect
// elsewhere).
func (b *browser) follow(p page) page {
	b.t.Helper()
	for i := 0; i < 10 && p.location != "" && strings.HasPrefix(p.location, b.e.bridge); i++ {
		p = b.get(p.location)
	}
	return p
}

// asanaConsent answers Asana's consent page (the redirect p points to) as
// the user, pressing Allow or Deny, and returns Asana's redirect back.
func (b *browser) asanaConsent(p page, user, decision string) page {
	b.t.Helper()
	u, err := url.Parse(p.location)
	if err != nil || !strings.HasPrefix(p.location, b.e.asanaURL+"/-/oauth_authorize") {
		b.t.Fatalf("expected a redirect to Asana's consent page, got %d %q: %s", p.status, p.location, p.body)
	}
	form := u.Query()
	form.Set("username", user)
	form.Set("password", user)
	form.Set("decision", decision)
	back := b.post(b.e.asanaURL+"/-/oauth_authorize", form)
	if !strings.HasPrefix(back.location, b.e.bridge+AsanaCallbackPath) {
		b.t.Fatalf("Asana did not redirect back: %d %q %s", back.status, back.location, back.body)
	}
	return back
}

// signIn runs the Asana step as alice and returns the page after it.
func (b *browser) signIn() page {
	b.t.Helper()
	return b.follow(b.get(b.asanaConsent(b.get(AuthenticationPath), "alice", "allow").location))
}

// jiraOAuth1Allow approves the request token on the emulator, as the user
// pressing Allow on Jira's page, and returns the callback Jira redirects to.
func (b *browser) jiraOAuth1Allow(js *jiraServer, p page, user string) string {
	b.t.Helper()
	u, err := url.Parse(p.location)
	if err != nil || !strings.HasPrefix(p.location, js.base+"/plugins/servlet/oauth/authorize") {
		b.t.Fatalf("expected Jira's authorize page, got %d %q: %s", p.status, p.location, p.body)
	}
	tok := u.Query().Get("oauth_token")
	v, err := js.fj.ApproveRequestToken(tok, user)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.e.bridge + JiraOAuth1CallbackPath + "?" + url.Values{"oauth_token": {tok}, "oauth_verifier": {v}}.Encode()
}

// jiraOAuth2Consent logs in and answers Jira's OAuth 2.0 consent page.
func (b *browser) jiraOAuth2Consent(js *jiraServer, p page, user, button string) string {
	b.t.Helper()
	u, err := url.Parse(p.location)
	if err != nil || !strings.HasPrefix(p.location, js.base+"/rest/oauth2/latest/authorize") {
		b.t.Fatalf("expected Jira's OAuth 2.0 consent page, got %d %q: %s", p.status, p.location, p.body)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		b.t.Errorf("Jira authorize URL lacks PKCE or state: %v", q)
	}
	q.Set("os_username", user)
	q.Set("os_password", user)
	q.Set(button, button)
	back := b.post(js.base+"/rest/oauth2/latest/authorize", q)
	if !strings.HasPrefix(back.location, b.e.bridge+JiraOAuth2CallbackPath) {
		b.t.Fatalf("Jira did not redirect back: %d %q %s", back.status, back.location, back.body)
	}
	return back.location
}

// csrf extracts the CSRF token from a page.
func csrf(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="csrf" value="`)
	if !ok {
		t.Fatalf("no CSRF token in page: %s", body)
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// authorizeJira connects alice to js with method from the page the flow
// sent her to (p: Jira's authorize page, or the PAT page), as she would,
// and returns the page after it and the PAT she pasted, if any.
func (b *browser) authorizeJira(js *jiraServer, p page, method store.AuthMethod) (after page, pat string) {
	b.t.Helper()
	switch method {
	case store.AuthOAuth1:
		return b.follow(b.get(b.jiraOAuth1Allow(js, p, "alice"))), ""
	case store.AuthOAuth2:
		return b.follow(b.get(b.jiraOAuth2Consent(js, p, "alice", "approve"))), ""
	case store.AuthPAT:
		if p.status != http.StatusOK || !strings.Contains(p.body, "Personal Access Tokens") || !strings.Contains(p.body, "single sign-on") {
			b.t.Fatalf("PAT page: %d %s", p.status, p.body)
		}
		tok, err := js.fj.CreatePAT("alice", "asanajira")
		if err != nil {
			b.t.Fatal(err)
		}
		return b.follow(b.post("/connect/jira/"+js.rec.ID+"/pat", url.Values{"csrf": {csrf(b.t, p.body)}, "token": {tok}})), tok
	}
	b.t.Fatalf("no flow for %s", method)
	return page{}, ""
}

// putOff is user's claim of task's creation on js as the sweep leaves it
// when the user must reconnect Jira: expired, taken over and put off until
// until. It returns the claim's key.
func (e *env) putOff(t *testing.T, js *jiraServer, task, user string, until time.Time) string {
	t.Helper()
	ctx := t.Context()
	k := store.IdempotencyKey{Scope: store.CreationScope, Key: js.rec.ID + ":" + task, ExpiresAt: e.clock.now().Add(2 * time.Minute),
		WorkspaceGID: e.ws, UserGID: user}
	if _, _, err := e.st.ClaimCreation(ctx, k, js.rec.ID, task, nil); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(3 * time.Minute)
	k.ExpiresAt = e.clock.now().Add(2 * time.Minute)
	taken, err := e.st.TakeOverIdempotencyKey(ctx, k, nil, e.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	held, err := e.st.PostponeCreation(ctx, k, until)
	if err != nil || !taken || !held {
		t.Fatalf("put off %s: taken %v, held %v, %v", k.Key, taken, held, err)
	}
	return k.Key
}
