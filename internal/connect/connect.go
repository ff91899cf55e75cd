// Package connect owns the pages a user goes through to connect asanajira:
// the authentication URL Asana opens in a popup when the app is installed
// (Asana OAuth 2.0 with PKCE to learn who the user is), the choice of Jira
// server, the Jira authorization by the methods the server allows (OAuth
// 1.0a, OAuth 2.0, a personal access token), the final page that tells
// Asana's window the outcome with postMessage, and disconnecting.
//
// Routes (mount the handler at "/connect/"):
//
//	GET  /connect/auth                  the authentication URL: starts Asana OAuth
//	GET  /connect/asana/callback        Asana's redirect (code or error=access_denied)
//	GET  /connect/jira                  the user's Jira servers: connect, reconnect, disconnect, finish
//	GET  /connect/jira/{server}         how to authorize on one server (goes straight to the only method)
//	GET  /connect/jira/{server}/oauth1  starts OAuth 1.0a (request token, then Jira's authorize page)
//	GET  /connect/oauth1/callback       Jira's OAuth 1.0a redirect (oauth_token, oauth_verifier)
//	GET  /connect/jira/{server}/oauth2  starts OAuth 2.0 with PKCE (Jira Data Center 8.22+)
//	GET  /connect/oauth2/callback       Jira's OAuth 2.0 redirect (code or error)
//	GET  /connect/jira/{server}/pat     the personal access token form
//	POST /connect/jira/{server}/pat     checks the pasted token with Jira's myself and saves it
//	POST /connect/disconnect            removes one Jira connection, or everything (CSRF-protected)
//	GET  /connect/done                  postMessage("success") to Asana's window, then closes
//
// One-time values (the Asana state, an OAuth 1.0a request token, a Jira
// OAuth 2.0 state) are kept sealed in the store and consumed atomically, so
// a replayed callback fails cleanly. Between steps the user is known by a
// short-lived session cookie signed with a key derived from the Asana client
// secret, so any replica can serve any step.
package connect

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/asanajira/asanajira/internal/credentials"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/web"
)

// Paths the Asana app registration and Jira's incoming OAuth 2.0 link must
// name, relative to the public URL.
const (
	// AuthenticationPath is the app's Authentication URL.
	AuthenticationPath = "/connect/auth"
	// AsanaCallbackPath is the OAuth redirect URL to register in Asana.
	AsanaCallbackPath = "/connect/asana/callback"
	// JiraOAuth1CallbackPath receives Jira's OAuth 1.0a redirect; it is sent
	// as oauth_callback, so nothing needs registering in Jira.
	JiraOAuth1CallbackPath = "/connect/oauth1/callback"
	// JiraOAuth2CallbackPath is the redirect URL of Jira's incoming OAuth 2.0
	// link; credentials.Options.JiraOAuth2RedirectURL must be the public URL
	// followed by it.
	JiraOAuth2CallbackPath = "/connect/oauth2/callback"
)

// Lifetimes of the flow's one-time values and of the session.
const (
	stateTTL   = 10 * time.Minute
	sessionTTL = time.Hour
)

// Cookie names; both are scoped to /connect/.
const (
	stateCookie   = "asanajira_connect_state"
	sessionCookie = "asanajira_connect_session"
)

// Kinds of store.AuthState this package writes.
const (
	kindAsana      = "connect-asana"
	kindJiraOAuth1 = "connect-jira-oauth1"
	kindJiraOAuth2 = "connect-jira-oauth2"
)

// Credentials is what connect needs from *credentials.Provider: the
// network settings and keys of a Jira server, and a check of a credential
// before it is stored.
type Credentials interface {
	JiraHTTPClient(srv store.JiraServer) (*http.Client, error)
	JiraSigner(srv store.JiraServer) (*jira.OAuth1Signer, error)
	JiraOAuth2Config(srv store.JiraServer) (*oauth2.Config, error)
	JiraOAuth2Context(ctx context.Context, srv store.JiraServer) (context.Context, error)
	CheckJira(ctx context.Context, srv store.JiraServer, cred store.JiraCredential) (*jira.User, error)
}

var _ Credentials = (*credentials.Provider)(nil)

// Deps are what the connect pages need.
type Deps struct {
	Store       store.Store
	Credentials Credentials
	// Log receives one line per failed request; nil discards.
	Log *slog.Logger
	// PublicURL is asanajira's base URL as browsers reach it
	// (https://asanajira.example.com); callbacks are built from it and its
	// scheme decides whether cookies are Secure.
	PublicURL string
	// AsanaURL is where Asana lives ("" means https://app.asana.com): OAuth
	// at /-/oauth_authorize and /-/oauth_token, the API at /api/1.0.
	AsanaURL          string
	AsanaClientID     string
	AsanaClientSecret string
	// AppOrigin is the origin of Asana's window, the postMessage target
	// ("" means https://app.asana.com; the emulator's origin in the demo).
	// Several may be given separated by commas: the message is posted to
	// each, and the browser delivers it to the opener's own.
	AppOrigin string
	// HTTPClient calls Asana; nil means a client with a 30-second timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves the connect pages.
type Handler struct {
	d          Deps
	public     *url.URL
	secure     bool
	sessionKey []byte
	origins    []string
	pages      map[string]*template.Template
	mux        *http.ServeMux
}

// New returns the connect pages as an http.Handler serving the routes in
// the package documentation.
func New(d Deps) http.Handler {
	h, err := newHandler(d)
	if err != nil {
		// The templates are embedded: failing to parse them is a bug that
		// every test catches.
		panic(err)
	}
	return h
}

func newHandler(d Deps) (*Handler, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.AsanaURL == "" {
		d.AsanaURL = "https://app.asana.com"
	}
	d.AsanaURL = strings.TrimRight(d.AsanaURL, "/")
	if d.AppOrigin == "" {
		d.AppOrigin = "https://app.asana.com"
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	pub, err := url.Parse(d.PublicURL)
	if err != nil || pub.Host == "" {
		return nil, fmt.Errorf("connect: public URL %q must be like https://asanajira.example.com", d.PublicURL)
	}
	h := &Handler{d: d, public: pub, secure: pub.Scheme == "https", sessionKey: sessionKey(d.AsanaClientSecret)}
	for _, o := range strings.Split(d.AppOrigin, ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			h.origins = append(h.origins, o)
		}
	}
	if h.pages, err = parsePages(web.Templates()); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	handle := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
		mux.Handle(pattern, h.page(fn))
	}
	handle("GET "+AuthenticationPath, h.startAsana)
	handle("GET "+AsanaCallbackPath, h.asanaCallback)
	handle("GET /connect/jira", h.servers)
	handle("GET /connect/jira/{server}", h.methods)
	handle("GET /connect/jira/{server}/oauth1", h.startOAuth1)
	handle("GET "+JiraOAuth1CallbackPath, h.oauth1Callback)
	handle("GET /connect/jira/{server}/oauth2", h.startOAuth2)
	handle("GET "+JiraOAuth2CallbackPath, h.oauth2Callback)
	handle("GET /connect/jira/{server}/pat", h.patForm)
	handle("POST /connect/jira/{server}/pat", h.patSubmit)
	handle("POST /connect/disconnect", h.disconnect)
	handle("GET /connect/done", h.done)
	handle("/connect/", func(http.ResponseWriter, *http.Request) error {
		return httpx.Errorf(http.StatusNotFound, "There is no such page. Start again from Asana.")
	})
	h.mux = mux
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	// These pages hold one-time codes in their URLs and tokens in forms:
	// never cached, never framed, never leaking the URL as a Referer. No
	// Cross-Origin-Opener-Policy: same-origin, which would cut the popup
	// off from window.opener and the final postMessage with it.
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	h.mux.ServeHTTP(w, r)
}

// pageData is what every template gets.
type pageData struct {
	Title string
	// Message and Hint are the body of the message page; Link and LinkText
	// an optional way on.
	Message  string
	Hint     string
	Link     string
	LinkText string
	// PostMessage, when set, is sent to window.opener at each of
	// AppOrigins after CloseAfterMS, and the window closes.
	PostMessage  string
	AppOrigins   []string
	CloseAfterMS int
	Nonce        string
	// Accounts are the Jira accounts the user connected, shown so that a
	// browser logged in to Jira as someone else is noticed.
	Accounts []account
	// Page-specific data.
	Data any
}

// page adapts a handler that returns an error: an *httpx.Error becomes a
// message page with its status; anything else a 500 page. The error is
// logged once here, by path only: query strings carry codes and tokens.
func (h *Handler) page(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		status, msg := http.StatusInternalServerError, "Something went wrong on asanajira's side. Close this window and try again; if it keeps failing, give your administrator this request id: "+httpx.RequestID(r.Context())
		var he *httpx.Error
		if errors.As(err, &he) {
			status, msg = he.Status, he.Msg
		}
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		h.d.Log.LogAttrs(r.Context(), level, "connect request failed", slog.String("request_id", httpx.RequestID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("error", err))
		h.render(w, status, "message", pageData{Title: "Could not connect", Message: msg,
			Link: AuthenticationPath, LinkText: "Start again"})
	})
}

// render writes a page. The nonce lets the page's one inline script run
// under a Content-Security-Policy that allows nothing else.
func (h *Handler) render(w http.ResponseWriter, status int, name string, d pageData) {
	d.Nonce = randomString(16)
	d.AppOrigins = h.origins
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-"+d.Nonce+"'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := h.pages[name].ExecuteTemplate(w, "layout", d); err != nil {
		h.d.Log.Error("connect: render page", slog.String("page", name), slog.Any("error", err))
	}
}

func parsePages(fsys fs.FS) (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range []string{"message", "servers", "methods", "pat"} {
		t, err := template.New(name).ParseFS(fsys, "layout.html", "connect/frame.html", "connect/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("connect: parse template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// message renders the message page.
func (h *Handler) message(w http.ResponseWriter, status int, d pageData) error {
	h.render(w, status, "message", d)
	return nil
}

// Cookies.

// setCookie sets a /connect/ cookie: HttpOnly, SameSite=Lax (the OAuth
// redirects back are top-level GET navigations, which Lax lets through), and
// Secure when asanajira is served over https.
func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	//nolint:gosec // G124: Secure follows the public URL's scheme; a browser drops Secure cookies from an http:// demo bridge.
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/connect/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) clearCookie(w http.ResponseWriter, name string) {
	//nolint:gosec // G124: as in setCookie.
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/connect/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

// session is who the user is between steps, from the Asana OAuth step.
type session struct {
	User       string   `json:"u"`
	Name       string   `json:"n,omitempty"`
	Workspaces []string `json:"w,omitempty"`
	Project    string   `json:"p,omitempty"`
	// ID is random per sign-in; the CSRF token is derived from it.
	ID      string `json:"i"`
	Expires int64  `json:"e"`
}

func sessionKey(clientSecret string) []byte {
	if clientSecret == "" {
		// Without a client secret nothing works anyway (Asana OAuth needs
		// it); a random key keeps sessions unforgeable in the meantime.
		return []byte(randomString(32))
	}
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte("asanajira connect session key v1"))
	return m.Sum(nil)
}

func (h *Handler) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, h.sessionKey)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return m.Sum(nil)
}

func (h *Handler) startSession(w http.ResponseWriter, s session) {
	s.ID = randomString(16)
	s.Expires = h.d.Now().Add(sessionTTL).Unix()
	b, _ := json.Marshal(s) // plain strings and numbers always encode
	payload := base64.RawURLEncoding.EncodeToString(b)
	sig := base64.RawURLEncoding.EncodeToString(h.mac("session", payload))
	h.setCookie(w, sessionCookie, payload+"."+sig, sessionTTL)
}

// session returns the signed-in user, or a 401 page explaining how to
// start again.
func (h *Handler) session(r *http.Request) (session, error) {
	errNoSession := httpx.Errorf(http.StatusUnauthorized, "Your asanajira session has expired or this window was opened outside the connection flow. Close it and connect again from Asana, or use the link below.")
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, errNoSession
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return session{}, errNoSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, h.mac("session", payload)) {
		return session{}, errNoSession
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var s session
	if err != nil || json.Unmarshal(b, &s) != nil || s.User == "" || h.d.Now().Unix() > s.Expires {
		return session{}, errNoSession
	}
	return s, nil
}

// csrfToken is the token forms post back; it is bound to the session.
func (h *Handler) csrfToken(s session) string {
	return base64.RawURLEncoding.EncodeToString(h.mac("csrf", s.ID, s.User))
}

// checkCSRF checks a form's token and, when the browser sent one, that
// Origin is asanajira's own.
func (h *Handler) checkCSRF(r *http.Request, s session) error {
	if o := r.Header.Get("Origin"); o != "" && o != "null" && !strings.EqualFold(o, h.public.Scheme+"://"+h.public.Host) {
		return httpx.Errorf(http.StatusForbidden, "This form was sent from another site. Open the asanajira page again and retry.")
	}
	want := h.csrfToken(s)
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(want)) != 1 {
		return httpx.Errorf(http.StatusForbidden, "This form has expired. Open the asanajira page again and retry.")
	}
	return nil
}

// putState stores a one-time value for the flow.
func (h *Handler) putState(r *http.Request, state, kind string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("connect: encode state: %w", err)
	}
	err = h.d.Store.PutAuthState(r.Context(), store.AuthState{State: state, Kind: kind, Data: store.Secret(b),
		ExpiresAt: h.d.Now().Add(stateTTL)})
	if err != nil {
		return fmt.Errorf("connect: save state: %w", err)
	}
	return nil
}

// errUsedState is what a replayed, expired or forged callback gets.
var errUsedState = "This authorization link was already used or has expired. Close this window and connect again from Asana."

// consumeState takes a one-time value of the given kind out of the store.
func (h *Handler) consumeState(r *http.Request, state, kind string, into any) error {
	if state == "" {
		return httpx.Errorf(http.StatusBadRequest, "The authorization answer is incomplete (no state). Close this window and connect again from Asana.")
	}
	a, err := h.d.Store.ConsumeAuthState(r.Context(), state)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Wrap(http.StatusBadRequest, errUsedState, err)
	}
	if err != nil {
		return fmt.Errorf("connect: consume state: %w", err)
	}
	if a.Kind != kind {
		return httpx.Errorf(http.StatusBadRequest, "%s", errUsedState)
	}
	if err := json.Unmarshal([]byte(a.Data.Reveal()), into); err != nil {
		return fmt.Errorf("connect: decode state: %w", err)
	}
	return nil
}

// redirect answers 303 to a path on asanajira or an absolute URL.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	//nolint:gosec // G710: every target is an asanajira path built from stored ids or an authorize URL built from stored configuration, never a URL taken from the request.
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// account is one connected Jira account, as the final page shows it.
type account struct {
	ServerID, ServerName, ServerURL string
	Username, DisplayName, Initial  string
}

// doneDelay leaves the final page on screen long enough to read which
// Jira account was connected before the popup closes.
const doneDelay = 2500

// done is the last page: it names the Jira accounts the user connected,
// tells Asana's window the user is connected and closes the popup.
func (h *Handler) done(w http.ResponseWriter, r *http.Request) error {
	d := pageData{Title: "Connected", PostMessage: "success", CloseAfterMS: doneDelay,
		Message: "asanajira is connected. This window closes by itself in a moment; if it does not, close it and go back to Asana."}
	if s, err := h.session(r); err == nil {
		accounts, err := h.accounts(r.Context(), s)
		if err != nil {
			return err
		}
		d.Accounts = accounts
	}
	return h.message(w, http.StatusOK, d)
}

// accounts lists the Jira accounts the user has connected on the servers
// of their workspaces.
func (h *Handler) accounts(ctx context.Context, s session) ([]account, error) {
	servers, _, err := h.candidates(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []account
	for _, srv := range servers {
		c, err := h.d.Store.GetJiraCredential(ctx, s.User, srv.ID)
		if errors.Is(err, store.ErrNotFound) || err == nil && c.ReconnectNeeded {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("connect: get jira credential: %w", err)
		}
		out = append(out, account{ServerID: srv.ID, ServerName: srv.Name, ServerURL: srv.BaseURL,
			Username: c.JiraUsername, DisplayName: c.JiraDisplayName, Initial: initial(c.JiraDisplayName, c.JiraUsername)})
	}
	return out, nil
}

// initial is the first letter of a name, upper case, for an avatar.
func initial(names ...string) string {
	for _, n := range names {
		for _, r := range strings.TrimSpace(n) {
			return strings.ToUpper(string(r))
		}
	}
	return "?"
}
