// Package jira owns the Jira Server / Data Center emulator that asanajira's
// tests and `asanajira demo` run against. It plays one Jira release at a time
// (7.13 through 10.3, see Versions), with its authentication methods (basic,
// OAuth 1.0a through application links, personal access tokens, OAuth 2.0),
// the REST v2 resources the bridge uses, webhooks, a small web UI and fault
// injection. It is written from the Jira API reference and recorded payloads,
// never from asanajira's own Jira client, so that a wrong JSON tag cannot hide
// on both sides.
//
// The emulator is strict: a request no real Jira would answer is reported
// (to Options.OnUnknownRoute, on which tests fail, or else as an error log
// line naming the method and path) and answered 404 with a body that names
// it too. Routes that exist in Jira but not in the selected release answer
// 404 the way that release does, without being reported.
package jira

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server. The zero value plays Jira 9.12.0 under /jira.
type Options struct {
	// Version is the Jira release to play, one of Versions(); default 9.12.0.
	Version string
	// ContextPath is the path Jira is served under; default "/jira". Use "/"
	// for a Jira served at the root.
	ContextPath string
	// PublicBaseURL is the base URL users and clients see, e.g.
	// https://jira.example.com/jira. OAuth 1.0a signatures are verified
	// against it, as Tomcat does with proxyName/proxyPort. Empty means the
	// base URL is rebuilt from each request's Host, like Tomcat without a
	// proxy configuration.
	PublicBaseURL string
	// Logger receives the emulator's logs; nil discards them, except the
	// report of an unknown route (see OnUnknownRoute).
	Logger *slog.Logger
	// OnUnknownRoute is called for every request no Jira would answer,
	// before the 404. Tests pass a function that calls t.Errorf. Nil means
	// the request is logged at error level with its method and path, on
	// Logger or, when Logger is nil, on standard error: a client that drifts
	// from Jira's API is never silent, in the demo either.
	OnUnknownRoute func(method, path string)
	// Now is the emulator's clock; nil means time.Now. Faults.ClockSkewSeconds
	// shifts it further.
	Now func() time.Time
	// DisableBasicAuth switches basic authentication off for REST calls, as
	// the 8.16+ "Allow basic authentication on API calls" toggle does. It is
	// ignored on releases without the toggle.
	DisableBasicAuth bool
	// RateLimit enables Data Center rate limiting (8.6+); nil leaves it off.
	RateLimit *RateLimit
	// AttachmentLimit is the maximum attachment size in bytes; 0 means
	// Jira's default of 10485760 (10 MB).
	AttachmentLimit int64
	// DiscardAttachmentContent makes uploads stream through a CRC-32C and
	// byte counter instead of being kept in memory, so gigabyte files can
	// be received (benchmarks). The attachment records its size, checksum
	// and receive time; downloading its content answers 404.
	DiscardAttachmentContent bool
	// HTTPClient delivers webhooks; nil means a client with a 10s timeout.
	HTTPClient *http.Client
	// CaptchaAfter is the number of consecutive failed basic logins after
	// which Jira demands a CAPTCHA; 0 means 3, Jira's default.
	CaptchaAfter int
}

// RateLimit is the per-user token bucket of Jira Data Center 8.6+.
type RateLimit struct {
	Capacity        int // bucket size (X-RateLimit-Limit)
	FillRate        int // tokens added every Interval (X-RateLimit-FillRate)
	IntervalSeconds int // X-RateLimit-Interval-Seconds; 0 means 1
}

// Server is the emulated Jira. It is an http.Handler; serve it with
// httptest.NewServer or an http.Server. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	prof    profile
	cp      string // context path without trailing slash; "" for root
	log     *slog.Logger
	mux     *http.ServeMux
	metaMux *http.ServeMux
	client  *http.Client
	asyncWG sync.WaitGroup

	// Attachment settings can change while serving (SetAttachmentLimit),
	// and uploads read them outside mu.
	attachLimit    atomic.Int64
	discardContent atomic.Bool

	mu            sync.Mutex
	publicBase    string
	faults        Faults
	users         []*user
	groups        []*group
	sessions      map[string]string // session id -> username
	loginFailures map[string]int
	projects      []*project
	fields        []customField
	issues        []*issue
	nextIssueID   int
	nextCommentID int
	nextAttachID  int
	nextLinkID    int
	nextHistoryID int
	deletedKeys   map[string]bool

	applinks      map[string]*applink // id -> link
	consumers     map[string]*consumer
	requestTokens map[string]*requestToken
	accessTokens  map[string]*accessToken
	nonces        map[string]time.Time

	pats      map[string]*pat // raw token -> PAT
	nextPATID int

	oauth2Clients map[string]*oauth2Client
	oauth2Codes   map[string]*oauth2Code
	oauth2Access  map[string]*oauth2Token
	oauth2Refresh map[string]*oauth2Token

	webhooks      []*webhook
	nextWebhookID int

	buckets map[string]*bucket
}

// New returns an emulator seeded with the demo users, projects and issues.
func New(opts Options) (*Server, error) {
	prof, err := lookupProfile(opts.Version)
	if err != nil {
		return nil, err
	}
	cp := opts.ContextPath
	if cp == "" {
		cp = "/jira"
	}
	cp = "/" + strings.Trim(cp, "/")
	if cp == "/" {
		cp = ""
	}
	if opts.PublicBaseURL != "" {
		if _, err := parseBaseURL(opts.PublicBaseURL); err != nil {
			return nil, err
		}
	}
	s := &Server{
		opts:          opts,
		prof:          prof,
		cp:            cp,
		log:           opts.Logger,
		publicBase:    strings.TrimSuffix(opts.PublicBaseURL, "/"),
		sessions:      map[string]string{},
		loginFailures: map[string]int{},
		deletedKeys:   map[string]bool{},
		applinks:      map[string]*applink{},
		consumers:     map[string]*consumer{},
		requestTokens: map[string]*requestToken{},
		accessTokens:  map[string]*accessToken{},
		nonces:        map[string]time.Time{},
		pats:          map[string]*pat{},
		oauth2Clients: map[string]*oauth2Client{},
		oauth2Codes:   map[string]*oauth2Code{},
		oauth2Access:  map[string]*oauth2Token{},
		oauth2Refresh: map[string]*oauth2Token{},
		buckets:       map[string]*bucket{},
		client:        opts.HTTPClient,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opts.OnUnknownRoute == nil {
		s.opts.OnUnknownRoute = logUnknownRoute(opts.Logger, os.Stderr)
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	s.attachLimit.Store(opts.AttachmentLimit)
	s.discardContent.Store(opts.DiscardAttachmentContent)
	s.seed()
	s.routes()
	return s, nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("jira emulator: public base URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("jira emulator: public base URL %q: want http(s)://host[:port][/path]", raw)
	}
	return u, nil
}

// Version is the Jira release this server plays.
func (s *Server) Version() string { return s.prof.version }

// ContextPath is the path Jira is served under ("" when at the root).
func (s *Server) ContextPath() string { return s.cp }

// SetPublicBaseURL sets the base URL clients use (see Options.PublicBaseURL);
// it is often known only once the listener is bound.
func (s *Server) SetPublicBaseURL(base string) error {
	if _, err := parseBaseURL(base); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publicBase = strings.TrimSuffix(base, "/")
	return nil
}

// Close waits for asynchronous webhook deliveries (Jira 10.x) to finish.
func (s *Server) Close() { s.asyncWG.Wait() }

func (s *Server) seed() {
	s.users = seedUsers(s.prof.hasGDPRKeys())
	s.groups = seedGroups()
	s.projects = seedProjects()
	s.fields = seedCustomFields()
	s.nextIssueID = 10000
	s.nextCommentID = 10000
	s.nextAttachID = 10000
	s.nextLinkID = 10000
	s.nextHistoryID = 10000
	s.nextPATID = 1
	s.nextWebhookID = 1
	base := s.now().Add(-72 * time.Hour).Truncate(time.Second)
	for i, si := range seedIssues {
		p := s.projectByKey(si.project)
		p.nextNum++
		s.nextIssueID++
		at := base.Add(time.Duration(i) * time.Hour)
		is := &issue{
			id: itoa(s.nextIssueID), key: fmt.Sprintf("%s-%d", p.key, p.nextNum), project: p,
			typeID: si.typeID, summary: si.summary, statusID: si.status, priorityID: si.priority,
			assignee: si.assignee, reporter: si.reporter, creator: si.reporter, labels: si.labels, security: si.security,
			custom: map[string]any{}, created: at, updated: at,
		}
		if si.description != "" {
			d := si.description
			is.description = &d
		}
		if si.status == "10001" {
			is.resolution, is.resolved = "10000", at
		}
		for k, v := range si.custom {
			if k == FieldSeverity {
				f := s.field(k)
				o, _ := findBy(f.options, func(o fieldOption) bool { return o.value == v })
				is.custom[k] = o
				continue
			}
			is.custom[k] = v
		}
		s.issues = append(s.issues, is)
	}
	demo1 := s.issueByKey("DEMO-1")
	s.nextCommentID++
	demo1.comments = append(demo1.comments, &comment{id: itoa(s.nextCommentID), author: "alice", updateAuthor: "alice",
		body: "I can take this one.", created: demo1.created.Add(time.Hour), updated: demo1.created.Add(time.Hour)})
}

// now is the emulator's clock, including any clock-skew fault.
func (s *Server) now() time.Time {
	n := time.Now()
	if s.opts.Now != nil {
		n = s.opts.Now()
	}
	return n.Add(time.Duration(s.faults.ClockSkewSeconds) * time.Second)
}

// baseURL is the public base URL for r (or the configured one when r is nil).
// Callers hold s.mu.
func (s *Server) baseURL(r *http.Request) string {
	if s.publicBase != "" || r == nil {
		if s.publicBase == "" {
			return "http://localhost" + s.cp
		}
		return s.publicBase
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.cp
}

func (s *Server) userByName(name string) *user {
	u, _ := findBy(s.users, func(u *user) bool { return strings.EqualFold(u.name, name) })
	return u
}

func (s *Server) userByKey(key string) *user {
	u, _ := findBy(s.users, func(u *user) bool { return u.key == key })
	return u
}

func (s *Server) projectByKey(idOrKey string) *project {
	p, _ := findBy(s.projects, func(p *project) bool { return p.id == idOrKey || strings.EqualFold(p.key, idOrKey) })
	return p
}

func (s *Server) issueByKey(idOrKey string) *issue {
	is, _ := findBy(s.issues, func(i *issue) bool { return i.id == idOrKey || strings.EqualFold(i.key, idOrKey) })
	return is
}

func (s *Server) field(id string) customField {
	f, _ := findBy(s.fields, func(f customField) bool { return f.id == id })
	return f
}

// ---- routing ----

// authMode says which callers a route accepts.
type authMode int

const (
	anyone    authMode = iota // anonymous allowed
	loggedIn                  // any authenticated user
	adminOnly                 // Jira administrators
)

type handlerFunc func(w http.ResponseWriter, r *http.Request, u *user)

// route registers pattern (relative to the context path) with its gate.
// gate == nil means the route exists on every release.
func (s *Server) route(pattern string, mode authMode, gate func(profile) bool, h handlerFunc) {
	s.routeOn(s.mux, pattern, mode, gate, h)
}

func (s *Server) routeOn(mux *http.ServeMux, pattern string, mode authMode, gate func(profile) bool, h handlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	mux.HandleFunc(method+" "+s.cp+path, func(w http.ResponseWriter, r *http.Request) {
		if gate != nil && !gate(s.prof) {
			s.notInRelease(w, r)
			return
		}
		u, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if mode != anyone && u == nil {
			s.writeErrors(w, http.StatusUnauthorized, []string{"You are not authenticated. Authentication required to perform this operation."}, nil)
			return
		}
		if mode == adminOnly && !u.admin {
			s.writeErrors(w, http.StatusForbidden, []string{"You are not authorized to perform this operation. Please log in as an administrator."}, nil)
			return
		}
		if !s.rateLimit(w, r, u) {
			return
		}
		h(w, r, u)
	})
}

// notInRelease answers a Jira route the played release does not have, the
// way Jersey does in Jira: 404 with a "null for uri" message.
func (s *Server) notInRelease(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	base := s.baseURL(r)
	s.mu.Unlock()
	s.setUser(w, nil)
	writeJSON(w, http.StatusNotFound, map[string]any{
		"message":     "null for uri: " + base + strings.TrimPrefix(r.URL.RequestURI(), s.cp),
		"status-code": http.StatusNotFound,
	})
}

// ServeHTTP answers one request as Jira would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, s.cp+"/_emulator/") {
		s.mux.ServeHTTP(w, r)
		return
	}
	if s.applyFaults(w, r) {
		return
	}
	w.Header().Set("X-ASEN", "SEN-L0000000")
	// The 8.4+ createmeta paths overlap issue/{key}/… in ServeMux's eyes,
	// so they live on a mux of their own.
	if strings.Contains(r.URL.Path, "/issue/createmeta/") {
		s.metaMux.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// logUnknownRoute is the default Options.OnUnknownRoute: an error-level log
// line, on fallback (standard error) when no logger was given.
func logUnknownRoute(log *slog.Logger, fallback io.Writer) func(method, path string) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(fallback, nil))
	}
	return func(method, path string) {
		log.Error("jira emulator: no such route; a real Jira would not answer this request", "method", method, "path", path)
	}
}

func (s *Server) unknownRoute(w http.ResponseWriter, r *http.Request) {
	s.opts.OnUnknownRoute(r.Method, r.URL.Path)
	s.setUser(w, nil)
	if strings.HasPrefix(r.URL.Path, s.cp+"/rest/") {
		s.writeErrors(w, http.StatusNotFound, []string{"asanajira Jira emulator: no such resource: " + r.Method + " " + r.URL.Path}, nil)
		return
	}
	http.Error(w, "404 Not Found: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/", s.unknownRoute)
	s.metaMux = http.NewServeMux()
	s.metaMux.HandleFunc("/", s.unknownRoute)
	// Browsers ask for /favicon.ico on their own beside every page they
	// show; it is no client's drift, so it is answered 404 unreported.
	s.mux.HandleFunc("GET /favicon.ico", http.NotFound)
	s.emulatorRoutes()
	s.restRoutes()
	s.oauth1Routes()
	s.applinkRoutes()
	s.patRoutes()
	s.oauth2Routes()
	s.webhookRoutes()
	s.webRoutes()
}

// ---- responses ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeErrors writes Jira's standard error body.
func (s *Server) writeErrors(w http.ResponseWriter, status int, messages []string, fieldErrs map[string]string) {
	if messages == nil {
		messages = []string{}
	}
	if fieldErrs == nil {
		fieldErrs = map[string]string{}
	}
	writeJSON(w, status, map[string]any{"errorMessages": messages, "errors": fieldErrs})
}

func (s *Server) setUser(w http.ResponseWriter, u *user) {
	if w.Header().Get("X-AUSERNAME") != "" {
		return
	}
	name := "anonymous"
	if u != nil {
		name = u.name
	}
	w.Header().Set("X-AUSERNAME", name)
}

// decodeBody reads a JSON request body of at most 10 MiB.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(b) == 0 {
		return errors.New("No content to map to Object due to end of input")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("Unexpected character in request body: %w", err)
	}
	return nil
}

// decodeStrict reads a JSON body of at most 1 MiB and refuses unknown
// keys, so a misspelt setting is an error rather than silently ignored.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid body: %w", err)
	}
	if dec.More() {
		return errors.New("invalid body: more than one JSON value")
	}
	return nil
}

// jiraTime is Jira's datetime layout (offset without a colon).
const jiraTime = "2006-01-02T15:04:05.000-0700"

func fmtTime(t time.Time) string { return t.UTC().Format(jiraTime) }
