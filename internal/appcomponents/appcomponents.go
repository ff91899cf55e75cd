// Package appcomponents serves the endpoints Asana's App Components call:
// the widget on a task, the "Create new issue" modal form with its
// on_change, on_submit and typeaheads, the "Link existing issue" lookup
// (typeahead and attach), and the "Create Jira issue" rule action (form,
// on_change, on_submit, run).
//
// Every request passes the same gate before any handler runs: CORS for the
// Asana origin (OPTIONS answered first, unauthenticated), a capped body, the
// x-asana-request-signature HMAC-SHA256 over the raw query string (GET) or
// the body's data string (POST), then expires_at, which must lie ahead but
// by no more than MaxExpiresAhead. Requests that change something run at
// most once per signature; a replay gets the first answer (replay.go). Handlers speak to Jira
// only through bridge, whose calls carry a deadline, so each answer comes
// well inside Asana's 10-second budget.
package appcomponents

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/store"
)

// Enqueuer enqueues the copy job of a link the bridge stored marked with
// the job still to enqueue (bridge.Created.LinkID), beside the request,
// which does not wait for it; *jobs.Queue implements it.
type Enqueuer interface {
	EnqueueLinkCopy(ctx context.Context, linkID int64, remoteLinked bool)
}

// Waker is told of the task of every signed request, so the Asana intake
// polls its project at once (internal/asanaintake implements it).
type Waker interface {
	// WakeTaskBeside wakes the task's projects while the request goes on;
	// wait returns once that is done.
	WakeTaskBeside(ctx context.Context, taskGID string) (wait func())
}

// DefaultAppOrigin is the origin Asana's web app calls from.
const DefaultAppOrigin = "https://app.asana.com"

// Deps are what the handlers need.
type Deps struct {
	// Store is asanajira's database; it also records the signed requests
	// that changed something, against replays.
	Store    store.Store
	Bridge   *bridge.Service
	Enqueuer Enqueuer
	// Waker, when set, hears of the task of every signed request.
	Waker Waker
	// ClientSecret is the Asana app's OAuth client secret; it verifies the
	// signature of every request.
	ClientSecret string
	// AppOrigin is the origin allowed by CORS (default
	// https://app.asana.com; the emulator's origin in the demo). Several
	// origins may be given separated by commas.
	AppOrigin string
	// PublicURL is asanajira's base URL as Asana reaches it; the callback and
	// typeahead URLs in forms are built on it. Empty means the request's
	// own scheme and host.
	PublicURL string
	// PublicMode enables the rule action, whose run calls come from Asana's
	// servers and so need a publicly reachable asanajira.
	PublicMode bool
	Log        *slog.Logger
	// Now is the clock for expires_at (default time.Now).
	Now func() time.Time
}

// maxBody caps App Components request bodies; Asana's are small JSON.
const maxBody = 256 << 10

// Handler serves the App Components routes.
type Handler struct {
	d       Deps
	origins map[string]bool
	mux     *http.ServeMux
}

// New returns the App Components handler. Routes, all under /asana/ (the
// URLs to register in Asana's developer console, on PublicURL):
//
//	GET  /asana/widget                 widget metadata (Widget metadata URL)
//	GET  /asana/form                   "Create new issue" form metadata (Form metadata URL)
//	POST /asana/form/change            the form's on_change_callback
//	POST /asana/form/submit            the form's on_submit_callback (once per signature)
//	GET  /asana/form/typeahead         typeahead_url of user and project fields
//	GET  /asana/lookup/typeahead       lookup typeahead (Resource typeahead URL)
//	POST /asana/lookup/attach          lookup attach (Resource attach URL; once per signature)
//	GET  /asana/rule/form              rule action form metadata (rule action Form metadata URL)
//	POST /asana/rule/change            the rule form's on_change_callback
//	POST /asana/rule/submit            the rule form's on_submit_callback (once per signature)
//	POST /asana/rule/run               rule action run (Run action URL; once per signature)
//	OPTIONS /asana/...                 CORS preflight, no signature
//
// The rule routes answer 404 unless PublicMode is set.
func New(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.AppOrigin == "" {
		d.AppOrigin = DefaultAppOrigin
	}
	h := &Handler{d: d, origins: map[string]bool{}, mux: http.NewServeMux()}
	for _, o := range strings.Split(d.AppOrigin, ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			h.origins[o] = true
		}
	}
	h.handle("GET /asana/widget", h.widget)
	h.handle("GET /asana/form", h.formMetadata)
	h.handle("POST /asana/form/change", h.formChange)
	h.handleOnceWithin("POST /asana/form/submit", h.formSubmit)
	h.handle("GET /asana/form/typeahead", h.formTypeahead)
	h.handle("GET /asana/lookup/typeahead", h.lookupTypeahead)
	h.handleOnce("POST /asana/lookup/attach", h.attach)
	if d.PublicMode {
		h.handle("GET /asana/rule/form", h.ruleForm)
		h.handle("POST /asana/rule/change", h.ruleChange)
		h.handleOnce("POST /asana/rule/submit", h.ruleSubmit)
		h.handleOnce("POST /asana/rule/run", h.ruleRun)
	}
	return h
}

// ServeHTTP answers CORS, preflights included, then routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && h.origins[o] {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Asana-Request-Signature")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// appHandler is a handler behind the signature gate.
type appHandler func(w http.ResponseWriter, r *http.Request, req *request) error

func (h *Handler) handle(pattern string, fn appHandler) {
	h.mux.Handle(pattern, httpx.Handle(h.d.Log, func(w http.ResponseWriter, r *http.Request) error {
		req, err := h.authenticate(w, r)
		if err != nil {
			return err
		}
		defer h.wake(r.Context(), req)()
		return fn(w, r, req)
	}))
}

// wake tells the Waker that someone works on the request's task, beside
// the request rather than before it (the first wake of a task reads the
// store, which on PostgreSQL is a round trip); the function it returns
// waits for it, so it ends with the request.
func (h *Handler) wake(ctx context.Context, req *request) (wait func()) {
	if h.d.Waker == nil || req.Task == "" {
		return func() {}
	}
	return h.d.Waker.WakeTaskBeside(context.WithoutCancel(ctx), req.Task)
}

// handleOnce is handle for a request that changes something: a repeat of
// the same signed request is answered from the first (see replay.go).
func (h *Handler) handleOnce(pattern string, fn appHandler) { h.handleBy(pattern, fn, h.once) }

// handleOnceWithin is handleOnce for a handler that records its signature
// in its own transactions (see onceWithin).
func (h *Handler) handleOnceWithin(pattern string, fn appHandler) {
	h.handleBy(pattern, fn, h.onceWithin)
}

func (h *Handler) handleBy(pattern string, fn appHandler,
	once func(w http.ResponseWriter, r *http.Request, route string, req *request, fn appHandler) error) {
	h.mux.Handle(pattern, httpx.Handle(h.d.Log, func(w http.ResponseWriter, r *http.Request) error {
		req, err := h.authenticate(w, r)
		if err != nil {
			return err
		}
		defer h.wake(r.Context(), req)()
		return once(w, r, pattern, req, fn)
	}))
}

// callbackURL is an absolute URL of one of our routes.
func (h *Handler) callbackURL(r *http.Request, path string) string {
	base := strings.TrimRight(h.d.PublicURL, "/")
	if base == "" {
		scheme := "https"
		if r.TLS == nil {
			scheme = "http"
		}
		base = scheme + "://" + r.Host
	}
	return base + path
}

// copyLinked enqueues the copy job of the link a request stored (c; none
// when the task had it already): deferred by the handler, it runs once
// the answer is written.
func (h *Handler) copyLinked(ctx context.Context, c *bridge.Created) {
	if h.d.Enqueuer == nil || c == nil || c.Existing || c.LinkID == 0 {
		return
	}
	h.d.Enqueuer.EnqueueLinkCopy(ctx, c.LinkID, c.RemoteLinked)
}
