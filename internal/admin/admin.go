// Package admin serves asanajira's admin console under /admin/: sign-in
// with Asana OAuth 2.0 for the admins (listed in the configuration or in
// the admins table; a one-time bootstrap link lets the first one in while
// there is none), connecting Jira servers (doctor table, application link
// created automatically, by hand or as an OAuth 2.0 incoming link, webhook
// registration and repair), the connections between Jira servers and Asana
// workspaces with their project routing, two-way sync (each connection's
// settings, lag and errors, the Asana intake, each link's sync history),
// and the links, users, jobs, audit log and admins pages.
//
// The console is a thin face over internal/setup, which carries out every
// setup change and writes it to the audit log with the signed-in admin as
// the actor. Each page is a type of its own holding the shared base.
//
// Pages are server-rendered HTML that works without JavaScript. Every page
// and action needs an admin session; every form carries a CSRF token; every
// change is written to the audit log. The console reads everything it shows
// from the database, so nothing it lists disappears when Jira or Asana is
// unreachable.
//
// Routes (all under /admin/):
//
//	GET  /admin/                       → redirect to /admin/connections
//	GET  /admin/signin                 sign-in page
//	GET  /admin/signin/start           start Asana OAuth 2.0 (PKCE, state)
//	GET  /admin/auth/callback          Asana OAuth 2.0 redirect URL
//	GET  /admin/bootstrap?token=…      one-time bootstrap page; POST consumes the token
//	POST /admin/signout
//	GET  /admin/connections            servers × workspaces, routing
//	POST /admin/workspaces             add a workspace (gid, name)
//	GET  /admin/workspaces/asana       the signed-in admin's Asana workspaces
//	POST /admin/connections            connect a workspace to a server (default or not)
//	POST /admin/connections/delete
//	POST /admin/routes                 per-project override
//	POST /admin/routes/delete
//	GET  /admin/servers/new            enter a Jira base URL
//	POST /admin/servers                doctor, then the server record, key pair and consumer key
//	GET  /admin/servers/{id}           doctor table and the three setup methods
//	POST /admin/servers/{id}/automatic application link + consumer + verify + webhook with admin credentials
//	POST /admin/servers/{id}/verify    verify a link created by hand (signed request-token call)
//	POST /admin/servers/{id}/webhook   record a webhook created by hand
//	POST /admin/servers/{id}/webhook/repair  one sound webhook, with admin credentials
//	POST /admin/servers/{id}/oauth2    OAuth 2.0 client id and secret
//	POST /admin/servers/{id}/methods   user auth methods offered on the server
//	POST /admin/servers/{id}/ca-bundle the server's CA bundle (paste, upload or remove)
//	POST /admin/servers/{id}/delete    remove; with admin credentials also what asanajira made in Jira
//	GET  /admin/links?q=&server=&before=&after=
//	GET  /admin/links/{id}             a link's sync status, history and changes; POST /admin/links/{id}/sync compares it again
//	GET  /admin/sync                   two-way sync of every connection, the Asana intake and its request budget
//	GET  /admin/sync/{workspace}/{server}  one connection: settings (POST saves them), lag, last events, links with errors
//	GET  /admin/users?q=&after=
//	GET  /admin/jobs?kind=&before=     running, stuck and failed jobs; POST /admin/jobs/{id}/retry
//	GET  /admin/audit?action=&target=&before=
//	GET  /admin/admins                 who may use the console; POST adds, POST /admin/admins/delete removes
//	GET  /admin/api-tokens             admin API tokens; POST creates one (shown once), POST /admin/api-tokens/{id}/revoke
//	     /admin/api/v1/…               the JSON admin API (api.go, docs/admin-api.yaml), with an API token, no session
package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/web"
	"github.com/riverqueue/river/rivertype"
)

// maxForm bounds every form body; the largest field is a pasted PEM.
const maxForm = 256 << 10

// Sealer encrypts and authenticates session cookies. *secrets.Keyring is
// one: sessions then survive restarts and key rotation like stored tokens.
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// Jobs is what the jobs page needs from the job queue; *jobs.Queue
// implements it.
type Jobs interface {
	// FailedJobs lists failed jobs newest first, older than the job
	// beforeID when it is not 0, of one kind when kind is not "".
	FailedJobs(ctx context.Context, kind string, beforeID int64, limit int) ([]*rivertype.JobRow, error)
	RunningJobs(ctx context.Context, limit int) ([]*rivertype.JobRow, error)
	// Stuck reports a running job whose process stopped renewing it.
	Stuck(job *rivertype.JobRow) bool
	RetryJob(ctx context.Context, id int64) error
}

// Deps are the console's collaborators and settings.
type Deps struct {
	// Store is asanajira's database; required.
	Store store.Store
	// Setup carries out every setup change (servers, workspaces,
	// connections, routes); required. Its public URL should be PublicURL.
	Setup *setup.Service
	// Sealer seals session cookies; required (pass the app's keyring).
	Sealer Sealer
	// Jobs lists running and failed jobs and retries failed ones; nil
	// hides the jobs lists.
	Jobs Jobs
	// Sync is the sync engine (link status and history, a link's sync
	// asked for again); nil leaves the Sync page empty.
	Sync Sync
	// AsanaIntake tells the Sync page how Asana is watched; nil hides it.
	AsanaIntake AsanaIntake
	// Log receives one line per failed request; nil discards.
	Log *slog.Logger
	// PublicURL is asanajira's URL as browsers and Jira reach it; required.
	// Cookies are Secure when it is https.
	PublicURL string
	// AsanaURL is Asana's base URL (https://app.asana.com or an emulator);
	// OAuth lives under it and the REST API under AsanaURL/api/1.0.
	AsanaURL          string
	AsanaClientID     string
	AsanaClientSecret string
	// Admins are Asana user gids or emails allowed into the console.
	Admins []string
	// SignInHint is said to an Asana user who signed in and is not an
	// admin, besides how to become one: the demo names its admin account
	// there. Empty says nothing more.
	SignInHint string
	// HTTPClient makes the calls to Asana; nil means a client with a
	// 30-second timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SessionTTL is how long a sign-in lasts; 0 means 12 hours.
	SessionTTL time.Duration
}

// base is what every page of the console shares: its dependencies, the
// templates, the session and flash cookies, and the rules of who is an
// admin (admins.go).
type base struct {
	d     Deps
	log   *slog.Logger
	pages map[string]*template.Template
	now   func() time.Time
	hc    *http.Client
	setup *setup.Service
	// secure marks cookies Secure: set when PublicURL is https.
	secure bool
	public string
}

// Console is the admin console, an http.Handler for /admin/. Each page
// (sign-in, connections, servers, links, sync, users, jobs, audit, admins,
// API tokens) is a type of its own that mounts its routes; the JSON admin API
// lives under /admin/api/v1/.
type Console struct {
	b      *base
	mux    *http.ServeMux
	signin *signinPages
}

// New builds the console. It fails on missing required dependencies and on
// templates that do not parse.
func New(d Deps) (*Console, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("admin: Deps.Store is required")
	case d.Setup == nil:
		return nil, errors.New("admin: Deps.Setup is required")
	case d.Sealer == nil:
		return nil, errors.New("admin: Deps.Sealer is required to seal session cookies")
	case d.PublicURL == "":
		return nil, errors.New("admin: Deps.PublicURL is required")
	}
	pu, err := url.Parse(d.PublicURL)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("admin: public URL %q must be an http(s) URL", d.PublicURL)
	}
	b := &base{d: d, log: d.Log, now: d.Now, hc: d.HTTPClient, setup: d.Setup, secure: pu.Scheme == "https",
		public: strings.TrimRight(d.PublicURL, "/")}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.hc == nil {
		b.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if b.d.SessionTTL <= 0 {
		b.d.SessionTTL = 12 * time.Hour
	}
	if b.pages, err = parsePages(web.Templates()); err != nil {
		return nil, err
	}
	c := &Console{b: b, mux: http.NewServeMux(), signin: &signinPages{b}}
	c.routes()
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; form-action 'self' "+c.b.formTargets()+"; frame-ancestors 'none'")
	c.mux.ServeHTTP(w, r)
}

// BootstrapURL returns a one-time link that lets the first admin in (see
// signinPages.bootstrapURL).
func (c *Console) BootstrapURL(ctx context.Context) (link string, ok bool, err error) {
	return c.signin.bootstrapURL(ctx)
}

// formTargets allows the sign-in redirect to Asana under the CSP.
func (c *base) formTargets() string {
	if u, err := url.Parse(c.asanaBase()); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return ""
}

func (c *base) asanaBase() string {
	if c.d.AsanaURL == "" {
		return "https://app.asana.com"
	}
	return strings.TrimRight(c.d.AsanaURL, "/")
}

// mounter is a page that adds its routes to the console's mux.
type mounter interface{ mount(m *http.ServeMux) }

func (c *Console) routes() {
	m, b := c.mux, c.b
	for _, p := range []mounter{
		c.signin, // reachable without a session
		&connectionsPage{b},
		&serverPages{base: b},
		&linksPage{b},
		&syncPages{b},
		&usersPage{b},
		&jobsPage{b},
		&auditPage{b},
		&adminsPage{b},
		&apiTokensPage{b},
		&adminAPI{b},
	} {
		p.mount(m)
	}
	m.Handle("GET /admin/{$}", b.admin(func(w http.ResponseWriter, r *http.Request, _ *session) error {
		http.Redirect(w, r, "/admin/connections", http.StatusSeeOther)
		return nil
	}))
	// Any other /admin path: behind the session too, so probing reveals nothing.
	m.Handle("/admin/", b.admin(func(http.ResponseWriter, *http.Request, *session) error {
		return httpx.Errorf(http.StatusNotFound, "no such admin page")
	}))
}

// handlerFunc is a console handler that returns its error instead of
// writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adminFunc is a handler that runs only for a signed-in admin.
type adminFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// handle adapts fn: a returned error becomes an HTML error page and one log
// line, here, the one place console errors are logged.
func (c *base) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			c.fail(w, r, nil, err)
		}
	})
}

// admin wraps fn with the session check and, for anything but GET and
// HEAD, the CSRF check: without a session a GET goes to the sign-in page
// and any other method is refused.
func (c *base) admin(fn adminFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.readSession(r)
		safe := r.Method == http.MethodGet || r.Method == http.MethodHead
		if s == nil {
			if safe {
				http.Redirect(w, r, "/admin/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, httpx.Errorf(http.StatusForbidden, "sign in as an asanajira admin first"))
			return
		}
		admin, err := c.stillAdmin(r.Context(), s)
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		if !admin {
			c.clearSession(w)
			c.fail(w, r, nil, httpx.Errorf(http.StatusForbidden, "%s is no longer an asanajira admin", s.Name))
			return
		}
		if !safe {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := parseForm(r); err != nil {
				c.fail(w, r, s, httpx.Wrap(http.StatusBadRequest, "the form could not be read", err))
				return
			}
			if !s.checkCSRF(r.PostFormValue("csrf")) {
				c.fail(w, r, s, httpx.Errorf(http.StatusForbidden, "the form expired or did not come from this console; reload the page and try again"))
				return
			}
		}
		if err := fn(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// fail renders err as an error page and logs it once.
func (c *base) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := http.StatusInternalServerError, "internal error; the server log has the details (request id "+httpx.RequestID(r.Context())+")"
	var he *httpx.Error
	var se *setup.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		status, msg = he.Status, he.Msg
	case errors.As(err, &se) && se.Code != 0:
		status, msg = setupStatus(se.Code), se.Message
	case errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("the form is larger than %d bytes", mbe.Limit)
	}
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	c.log.LogAttrs(r.Context(), level, "admin request failed", slog.String("request_id", httpx.RequestID(r.Context())),
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("error", err))
	h := errorHeading(status)
	c.render(w, r, status, "error", s, h, errorData{Status: status, Heading: h, Message: msg})
}

// setupStatus is the HTTP status of a setup error, in the console and the
// API alike.
func setupStatus(c setup.Code) int {
	switch c {
	case setup.Invalid:
		return http.StatusUnprocessableEntity
	case setup.NotFound:
		return http.StatusNotFound
	case setup.Conflict:
		return http.StatusConflict
	case setup.JiraFailed:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

type errorData struct {
	Status           int
	Heading, Message string
}

// errorHeading says in words what kind of failure an error page shows.
func errorHeading(status int) string {
	switch {
	case status == http.StatusNotFound:
		return "Not found"
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return "Not allowed"
	case status == http.StatusConflict:
		return "That exists already"
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return "Jira or Asana did not answer as expected"
	case status == http.StatusServiceUnavailable:
		return "Not available"
	case status >= 500:
		return "Something went wrong in asanajira"
	}
	return "That did not work"
}

// page is what every admin template receives.
type page struct {
	Title   string
	Session *session
	CSRF    string
	Flash   string
	// Nav is the header section the page belongs to; Sub marks a page
	// inside it (a server's page inside Connections) rather than the
	// section's own page.
	Nav  string
	Sub  bool
	Data any
}

// sections maps a page template to its header section, for the pages that
// are not a section's own page.
var sections = map[string]string{
	"server":           "connections",
	"server_new":       "connections",
	"workspaces_asana": "connections",
	"projects_asana":   "connections",
	"link":             "links",
	"sync_connection":  "sync",
	"sync_fields":      "sync",
}

// navLink is one entry of the header's navigation.
type navLink struct {
	Href, Label string
	// Current is the aria-current value: "page" on the section's own
	// page, "true" inside it, "" elsewhere.
	Current string
}

// render executes the named page inside the shared layout.
func (c *base) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, title string, data any) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "admin: no template "+name, http.StatusInternalServerError)
		return
	}
	p := page{Title: title, Session: s, Data: data, Nav: name, Flash: c.takeFlash(w, r)}
	if sec, ok := sections[name]; ok {
		p.Nav, p.Sub = sec, true
	}
	if s != nil {
		p.CSRF = s.CSRF
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		c.log.LogAttrs(r.Context(), slog.LevelError, "admin template failed", slog.String("template", name), slog.Any("error", err))
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String())) // the browser went away; nothing to do
}

// parsePages parses layout.html and admin/partials.html once, and each
// admin page on a clone of them, so every page may define its own blocks.
func parsePages(fsys fs.FS) (map[string]*template.Template, error) {
	base, err := template.New("admin").Funcs(funcs).ParseFS(fsys, "layout.html", "admin/partials.html")
	if err != nil {
		return nil, fmt.Errorf("admin: parse layout: %w", err)
	}
	names, err := fs.Glob(fsys, "admin/*.html")
	if err != nil {
		return nil, fmt.Errorf("admin: list templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "partials" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("admin: clone layout: %w", err)
		}
		if _, err := t.ParseFS(fsys, n); err != nil {
			return nil, fmt.Errorf("admin: parse %s: %w", n, err)
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	// The Sync pages' (sync.go).
	"dur":       duration,
	"direction": directionName,
	"side":      sideName,
	"changedAt": changedAt,
	"projects":  func(mode string, ps []IntakeProject) intakeProjects { return intakeProjects{mode, ps} },
	// date is a moment as people read it; exact and iso are the same
	// moment to the second, for a tooltip and for machines.
	"date":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
	"exact": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"actor": splitActor,
	"creds": credsForm,
	// breakable lets an id joined by "/" (a workspace and a project) wrap
	// after each "/".
	"breakable": func(id string) template.HTML {
		parts := strings.Split(id, "/")
		for i, p := range parts {
			parts[i] = template.HTMLEscapeString(p)
		}
		return template.HTML(strings.Join(parts, "/<wbr>")) //nolint:gosec // G203: each part is escaped
	},
	"navlink": func(p page, href, section, label string) navLink {
		l := navLink{Href: href, Label: label}
		if p.Nav == section {
			l.Current = "page"
			if p.Sub {
				l.Current = "true"
			}
		}
		return l
	},
	"hasMethod": func(ms []store.AuthMethod, m string) bool {
		for _, x := range ms {
			if string(x) == m {
				return true
			}
		}
		return false
	},
}

// actorName is an audit actor split for display: "Ada Admin (1201…)" is
// the name Ada Admin with the id 1201….
type actorName struct{ Name, ID string }

func splitActor(actor string) actorName {
	if i := strings.LastIndex(actor, " ("); i > 0 && strings.HasSuffix(actor, ")") {
		return actorName{Name: actor[:i], ID: actor[i+2 : len(actor)-1]}
	}
	return actorName{Name: actor}
}

// randomToken returns n random bytes as hex.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}

// audit writes one audit entry about the console's own changes (sign-ins,
// admins, job retries); setup changes are audited by the setup service. A
// change whose audit entry cannot be written is reported as failed, so the
// log never silently misses a change.
func (c *base) audit(ctx context.Context, s *session, action, target, detail string) error {
	actor := "bootstrap"
	if s != nil {
		actor = string(s.actor())
	}
	if err := c.d.Store.AppendAudit(ctx, store.AuditEntry{At: c.now(), Actor: actor, Action: action, Target: target, Detail: detail}); err != nil {
		return fmt.Errorf("admin: audit %s: %w", action, err)
	}
	return nil
}

// setFlash leaves a one-line message for the next page the browser opens.
func (c *base) setFlash(w http.ResponseWriter, msg string) {
	c.setCookie(w, flashCookie, url.QueryEscape(msg), "/admin", 60)
}

func (c *base) takeFlash(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	c.setCookie(w, flashCookie, "", "/admin", -1)
	msg, _ := url.QueryUnescape(ck.Value)
	return msg
}

// redirect answers a successful POST with a flash message and a redirect
// (post/redirect/get), so reloading does not repeat the change.
func (c *base) redirect(w http.ResponseWriter, r *http.Request, to, flash string) error {
	if flash != "" {
		c.setFlash(w, flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
