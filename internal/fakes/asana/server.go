// Package asana is an in-memory Asana for asanajira's tests and demo: the REST
// API (/api/1.0), OAuth 2.0, personal access tokens, webhooks, the events API,
// rate limits and fault injection, plus the App Components host: a task pane
// page a person can use in a browser, and a Go-side caller that signs widget,
// form, lookup and rule-action requests to an app exactly as Asana does.
//
// It is written from Asana's published API references and OpenAPI specs with
// its own wire types, never from asanajira's Asana client, so a wrong JSON tag
// cannot hide on both sides. It imports the standard library only.
package asana

import (
	"context"
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

// Options configures a Server. The zero value is usable: it serves the demo app
// registration, logs nowhere and uses the wall clock.
type Options struct {
	// PublicBaseURL is the scheme://host[:port] under which clients reach the
	// emulator; it appears in permalink_url, download_url, next_page.uri and
	// in the OAuth pages. SetPublicBaseURL changes it later (httptest learns
	// its URL only after the handler exists).
	PublicBaseURL string
	// App is the registered App Components app. Empty fields take the demo
	// defaults (DefaultApp).
	App AppRegistration
	// Logger receives request failures, app response validation errors and
	// webhook delivery outcomes. Nil discards them, except the report of an
	// unknown route (see OnUnknownRoute).
	Logger *slog.Logger
	// OnUnknownRoute is called for every request no route matches, before
	// the 404, so a test can fail loudly on client drift (tests pass a
	// function that calls t.Errorf). Nil means the request is logged at
	// error level with its method and path, on Logger or, when Logger is
	// nil, on standard error: drift is never silent, in the demo either.
	OnUnknownRoute func(method, path string)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TokenLifetime is how long an OAuth access token lives (expires_in);
	// zero means 3600 s as on Asana.
	TokenLifetime time.Duration
	// RateLimit turns on Asana's per-token limits (requests per window and
	// concurrent read/write caps). Off by default so tests are not throttled.
	RateLimit bool
	// RateLimitRequests is the number of requests one token may make per
	// RateLimitWindow; zero means 1500 (a paid workspace).
	RateLimitRequests int
	// RateLimitWindow is the sliding window of RateLimitRequests; zero means
	// one minute.
	RateLimitWindow time.Duration
	// MaxConcurrentReads and MaxConcurrentWrites cap one token's in-flight
	// GET and POST/PUT/PATCH/DELETE requests; zero means 50 and 15.
	MaxConcurrentReads  int
	MaxConcurrentWrites int
	// WebhookTiming sets how fast webhook deliveries, retries, heartbeats
	// and deletions happen; zero fields take Asana's documented values.
	WebhookTiming WebhookTiming
	// HTTPClient makes the emulator's outbound calls: webhook handshakes and
	// deliveries, and App Components calls made from Go. Nil means a client
	// with a 10-second timeout.
	HTTPClient *http.Client
}

// Server is the emulator. It is an http.Handler; serve it with httptest or
// http.Server. Create it with New and stop its background webhook work with
// Close.
type Server struct {
	log            *slog.Logger
	onUnknownRoute func(method, path string)
	clock          func() time.Time
	tokenLifetime  time.Duration
	rateLimit      rateLimitConfig
	timing         WebhookTiming
	hc             *http.Client
	mux            *http.ServeMux
	api            *http.ServeMux

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// attachLimit is the largest file POST /attachments accepts (0:
	// Asana's 100 MB); commentOnly holds the users (gid) who may only
	// comment on tasks, as a project's comment-only members: Asana refuses
	// their attachments with 403.
	attachLimit atomic.Int64

	mu          sync.Mutex
	st          *state
	commentOnly map[string]bool
}

// New returns a Server seeded with the demo workspace, users, project and
// tasks (see Seed).
func New(opts Options) (*Server, error) {
	if opts.PublicBaseURL != "" {
		if err := checkBaseURL(opts.PublicBaseURL); err != nil {
			return nil, err
		}
	}
	app := opts.App.withDefaults()
	if err := app.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		log:            opts.Logger,
		onUnknownRoute: opts.OnUnknownRoute,
		clock:          opts.Now,
		tokenLifetime:  opts.TokenLifetime,
		timing:         opts.WebhookTiming.withDefaults(),
		hc:             opts.HTTPClient,
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.onUnknownRoute == nil {
		s.onUnknownRoute = logUnknownRoute(opts.Logger, os.Stderr)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.tokenLifetime <= 0 {
		s.tokenLifetime = time.Hour
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 10 * time.Second}
	}
	s.rateLimit = rateLimitConfig{
		enabled:   opts.RateLimit,
		requests:  orDefault(opts.RateLimitRequests, 1500),
		window:    opts.RateLimitWindow,
		maxReads:  orDefault(opts.MaxConcurrentReads, 50),
		maxWrites: orDefault(opts.MaxConcurrentWrites, 15),
	}
	if s.rateLimit.window <= 0 {
		s.rateLimit.window = time.Minute
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.st = newState(strings.TrimRight(opts.PublicBaseURL, "/"), app)
	s.seed()
	s.mux = s.routes()
	s.api = s.apiMux()
	return s, nil
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("asana emulator: public base URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("asana emulator: public base URL %q must be http(s)://host[:port]", raw)
	}
	return nil
}

// Close stops webhook deliveries and waits for them to finish. The handler
// keeps answering requests afterwards.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// SetPublicBaseURL sets the scheme://host[:port] clients use to reach the
// emulator, e.g. an httptest.Server's URL.
func (s *Server) SetPublicBaseURL(base string) error {
	if err := checkBaseURL(base); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.baseURL = strings.TrimRight(base, "/")
	return nil
}

// PublicBaseURL returns the base URL the emulator advertises.
func (s *Server) PublicBaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.baseURL
}

// SetApp replaces the App Components app registration. Empty fields take the
// demo defaults.
func (s *Server) SetApp(app AppRegistration) error {
	app = app.withDefaults()
	if err := app.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.app = app
	return nil
}

// App returns the current app registration.
func (s *Server) App() AppRegistration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.app.clone()
}

// nowLocked is now for callers already holding s.mu.
func (s *Server) nowLocked() time.Time {
	return s.clock().Add(time.Duration(s.st.faults.ClockSkewSeconds) * time.Second).UTC()
}

// ServeHTTP serves the REST API, OAuth, the task pane page and the
// /_emulator control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_emulator/") || r.URL.Path == "/_emulator" {
		s.mux.ServeHTTP(w, r)
		return
	}
	if s.applyFaults(w, r) {
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/1.0/") {
		s.serveAPI(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	// Emulator control.
	mux.HandleFunc("GET /_emulator/faults", s.handleGetFaults)
	mux.HandleFunc("PUT /_emulator/faults", s.handlePutFaults)
	mux.HandleFunc("DELETE /_emulator/faults", s.handleDeleteFaults)
	mux.HandleFunc("GET /_emulator/seed", s.handleSeed)
	// OAuth 2.0 and the login session shared by the OAuth page and the task pane.
	mux.HandleFunc("GET /-/oauth_authorize", s.handleAuthorizePage)
	mux.HandleFunc("POST /-/oauth_authorize", s.handleAuthorizeDecision)
	mux.HandleFunc("POST /-/oauth_token", s.handleToken)
	mux.HandleFunc("POST /-/oauth_revoke", s.handleRevoke)
	mux.HandleFunc("GET /-/login", s.handleLoginPage)
	mux.HandleFunc("POST /-/login", s.handleLogin)
	mux.HandleFunc("POST /-/logout", s.handleLogout)
	// Asana-hosted file downloads behind expiring download_url links.
	mux.HandleFunc("GET /-/download/{ticket}", s.handleDownload)
	// The task pane page and the JSON endpoints its script uses.
	s.uiRoutes(mux)
	mux.HandleFunc("/", s.handleUnknown)
	return mux
}

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	s.unknownRoute(r)
	http.Error(w, "404 Not Found: the asanajira Asana emulator has no route for "+r.Method+" "+r.URL.Path, http.StatusNotFound)
}

func (s *Server) unknownRoute(r *http.Request) {
	s.onUnknownRoute(r.Method, r.URL.Path)
}

// logUnknownRoute is the default Options.OnUnknownRoute: an error-level log
// line, on fallback (standard error) when no logger was given.
func logUnknownRoute(log *slog.Logger, fallback io.Writer) func(method, path string) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(fallback, nil))
	}
	return func(method, path string) {
		log.Error("asana emulator: no such route; Asana would not answer this request", "method", method, "path", path)
	}
}
