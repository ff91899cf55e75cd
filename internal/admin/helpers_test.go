package admin_test

import (
	"context"
	"crypto/rand"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/admin"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// env is one console on a real SQLite store, served on 127.0.0.1 next to an
// Asana emulator.
type env struct {
	t       *testing.T
	dbPath  string
	keyring *secrets.Keyring
	store   store.Store
	asana   *fakeasana.Server
	asanaHS *httptest.Server
	hs      *httptest.Server
	console atomic.Pointer[admin.Console]
	deps    admin.Deps
	// doctor is the setup service's doctor: fixedDoctor unless a test
	// wants the real one (nil).
	doctor setup.DoctorFunc
	// sync keeps the setup service's sync settings (nil: none).
	sync setup.SyncSettings
}

type option func(*admin.Deps)

func withAdmins(a ...string) option { return func(d *admin.Deps) { d.Admins = a } }

func withJobs(j admin.Jobs) option { return func(d *admin.Deps) { d.Jobs = j } }

func withoutAsanaApp() option {
	return func(d *admin.Deps) { d.AsanaClientID, d.AsanaClientSecret = "", "" }
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newEnv starts the Asana emulator and a console whose admin is the
// emulator's "admin" user unless options say otherwise.
func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "asanajira.db")}
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	kr, err := secrets.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	e.keyring = kr
	e.store = e.openStore()

	e.asana, err = fakeasana.New(fakeasana.Options{OnUnknownRoute: func(m, p string) { t.Errorf("asana emulator: unknown route %s %s", m, p) }})
	if err != nil {
		t.Fatal(err)
	}
	e.asanaHS = httptest.NewServer(e.asana)
	t.Cleanup(e.asanaHS.Close)
	t.Cleanup(e.asana.Close)
	if err := e.asana.SetPublicBaseURL(e.asanaHS.URL); err != nil {
		t.Fatal(err)
	}

	e.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.console.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(e.hs.Close)
	e.deps = admin.Deps{
		Store:             e.store,
		Sealer:            e.keyring,
		Log:               discard(),
		PublicURL:         e.hs.URL,
		AsanaURL:          e.asanaHS.URL,
		AsanaClientID:     "asanajira-demo",
		AsanaClientSecret: "demo-secret",
		Admins:            []string{e.asana.Seed().Users["admin"]},
	}
	e.doctor = fixedDoctor
	for _, o := range opts {
		o(&e.deps)
	}
	e.restart()
	return e
}

func (e *env) openStore() store.Store {
	e.t.Helper()
	st, err := sqlite.Open(e.t.Context(), e.dbPath, e.keyring, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = st.Close() })
	return st
}

// restart builds a new setup service and console on the same database, as
// a process restart does.
func (e *env) restart() {
	e.t.Helper()
	svc, err := setup.New(setup.Deps{Store: e.deps.Store, PublicURL: e.deps.PublicURL, Doctor: e.doctor, Now: e.deps.Now, Sync: e.sync})
	if err != nil {
		e.t.Fatal(err)
	}
	e.deps.Setup = svc
	c, err := admin.New(e.deps)
	if err != nil {
		e.t.Fatal(err)
	}
	e.console.Store(c)
}

// fixedDoctor is a doctor that needs no network, for page tests.
func fixedDoctor(_ context.Context, req setup.DoctorRequest) setup.DoctorReport {
	return setup.DoctorReport{Version: "9.12.0", OK: true, Checks: []setup.DoctorCheck{
		{ID: "server_info", Title: "serverInfo answers", Status: "pass", Evidence: "Jira 9.12.0 at " + req.JiraURL},
		{ID: "clock", Title: "Clocks agree", Status: "warn", Evidence: "Jira is 2 minutes ahead", Fix: "Synchronise both hosts with NTP."},
	}}
}

// browser is an HTTP client with its own cookies that does not follow
// redirects, so tests see each step.
type browser struct {
	t  *testing.T
	hc *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	Status   int
	Body     string
	Location string
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: string(body), Location: resp.Header.Get("Location")}
}

func (b *browser) get(u string) response {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) response {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn runs the Asana OAuth sign-in as the emulator user login and
// returns the callback's response.
func (e *env) signIn(b *browser, login string) response {
	e.t.Helper()
	start := b.get(e.hs.URL + "/admin/signin/start?next=/admin/connections")
	if start.Status != http.StatusSeeOther {
		e.t.Fatalf("signin start: %d %s", start.Status, start.Body)
	}
	au, err := url.Parse(start.Location)
	if err != nil {
		e.t.Fatal(err)
	}
	q := au.Query()
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" || q.Get("state") == "" {
		e.t.Fatalf("authorize URL lacks PKCE or state: %s", start.Location)
	}
	return e.finishSignin(b, start, login)
}

// admin returns a browser signed in as the emulator's admin.
func (e *env) admin() *browser {
	e.t.Helper()
	b := newBrowser(e.t)
	r := e.signIn(b, "admin")
	if r.Status != http.StatusSeeOther || r.Location != "/admin/connections" {
		e.t.Fatalf("sign in: %d %q %s", r.Status, r.Location, r.Body)
	}
	return b
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a console page.
func (e *env) csrf(b *browser) string {
	e.t.Helper()
	r := b.get(e.hs.URL + "/admin/connections")
	m := csrfRE.FindStringSubmatch(r.Body)
	if m == nil {
		e.t.Fatalf("no CSRF token on the connections page (%d): %s", r.Status, r.Body)
	}
	return m[1]
}

// postForm posts a console form with the session's CSRF token.
func (e *env) postForm(b *browser, path string, form url.Values) response {
	e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", e.csrf(b))
	return b.post(e.hs.URL+path, form)
}

// newJira starts a Jira emulator of version on 127.0.0.1 and returns its
// base URL.
func newJira(t *testing.T, version string) (*fakejira.Server, string) {
	t.Helper()
	j, err := fakejira.New(fakejira.Options{Version: version, OnUnknownRoute: func(m, p string) {
		t.Errorf("jira emulator %s: unknown route %s %s", version, m, p)
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(j)
	t.Cleanup(hs.Close)
	t.Cleanup(j.Close)
	return j, hs.URL + j.ContextPath()
}

// Golden files: volatile values are masked so the pages compare stably.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`name="csrf" value="[^"]+"`), `name="csrf" value="CSRF"`},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC`), "TIME"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`), "TIME"},
	{regexp.MustCompile(`\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC`), "TIME"},
	{regexp.MustCompile(`js_[0-9A-Za-z]+`), "SERVER_ID"},
	{regexp.MustCompile(`at_[0-9a-f]{16}`), "TOKEN_ID"},
	{regexp.MustCompile(`asanajira-[0-9a-f]{16}`), "CONSUMER_KEY"},
	{regexp.MustCompile(`(?s)-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----`), "PUBLIC_KEY"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "HOST"},
	{regexp.MustCompile(`secret=[0-9a-f]{64}`), "secret=WEBHOOK_SECRET"},
	{regexp.MustCompile(`<code>[0-9a-f]{64}</code>`), "<code>WEBHOOK_SECRET</code>"},
	{regexp.MustCompile(`request id [0-9a-zA-Z-]*`), "request id ID"},
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	for _, m := range masks {
		got = m.re.ReplaceAllString(got, m.with)
	}
	path := filepath.Join("testdata", name+".golden.html")
	if *update {
		if err := os.MkdirAll("testdata", 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from %s (-want +got; go test -update rewrites it):\n%s", name, path, diff)
	}
}
