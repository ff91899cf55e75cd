package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/store"
	"golang.org/x/oauth2"
)

// Auth state kinds the console stores (store.AuthState.Kind). The store
// keeps at most one bootstrap state.
const (
	kindSignin    = "admin-signin"
	kindBootstrap = store.AdminBootstrapKind
)

// Audit actions about admins. They record what happened; who is an admin
// is read from the admins table and the configuration, never from here.
const (
	actionSignin        = "admin.signin"
	actionSigninRefused = "admin.signin_refused"
	actionGrant         = "admin.grant"
	actionBootstrap     = "admin.bootstrap"
)

const (
	signinStateTTL = 10 * time.Minute
	bootstrapTTL   = 24 * time.Hour
)

// signinPages are the pages reachable without a session: sign-in with
// Asana, its callback, the bootstrap link, and sign-out.
type signinPages struct{ *base }

func (c *signinPages) mount(m *http.ServeMux) {
	m.Handle("GET /admin/signin", c.handle(c.signinPage))
	m.Handle("GET /admin/signin/start", c.handle(c.signinStart))
	m.Handle("GET /admin/auth/callback", c.handle(c.signinCallback))
	m.Handle("GET /admin/bootstrap", c.handle(c.bootstrapPage))
	m.Handle("POST /admin/bootstrap", c.handle(c.bootstrapUse))
	m.Handle("POST /admin/signout", c.admin(c.signout))
}

// signinState travels through the Asana redirect in an auth state row.
type signinState struct {
	Verifier  string `json:"v"`
	Next      string `json:"n"`
	Bootstrap bool   `json:"b,omitempty"`
}

// bootstrapURL returns a one-time link that lets the first admin in, while
// there is no admin (see admins.go); ok is false once there is one. Each
// call creates a new link valid for 24 hours and revokes the earlier ones:
// the app prints it to the log at start. Opening it and pressing the button
// signs in with Asana and makes that Asana user the first admin (audit
// action admin.grant); without an Asana app configured it opens a
// bootstrap session instead, valid while there is no admin.
func (c *signinPages) bootstrapURL(ctx context.Context) (link string, ok bool, err error) {
	open, err := c.bootstrapOpen(ctx)
	if err != nil || !open {
		return "", false, err
	}
	token := randomToken(32)
	if err := c.d.Store.PutAdminBootstrapState(ctx, token, c.now().Add(bootstrapTTL)); err != nil {
		return "", false, fmt.Errorf("admin: bootstrap link: %w", err)
	}
	return c.public + "/admin/bootstrap?token=" + token, true, nil
}

func (c *base) oauthConfig() (*oauth2.Config, error) {
	if c.d.AsanaClientID == "" || c.d.AsanaClientSecret == "" {
		return nil, httpx.Errorf(http.StatusServiceUnavailable,
			"sign-in with Asana is not configured: set --asana-client-id and --asana-client-secret (ASANAJIRA_ASANA_CLIENT_ID, ASANAJIRA_ASANA_CLIENT_SECRET)")
	}
	cfg, err := asana.OAuth2Config(c.asanaBase(), c.d.AsanaClientID, c.d.AsanaClientSecret, c.redirectURL())
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	return cfg, nil
}

// redirectURL is the admin sign-in's OAuth redirect URL; it must be one of
// the Asana app's registered redirect URLs.
func (c *base) redirectURL() string { return c.public + "/admin/auth/callback" }

type signinData struct {
	Next          string
	Configured    bool
	RedirectURL   string
	BootstrapOpen bool
}

func (c *signinPages) signinPage(w http.ResponseWriter, r *http.Request) error {
	if s := c.readSession(r); s != nil {
		admin, err := c.stillAdmin(r.Context(), s)
		if err != nil {
			return err
		}
		if admin {
			http.Redirect(w, r, "/admin/connections", http.StatusSeeOther)
			return nil
		}
	}
	c.render(w, r, http.StatusOK, "signin", nil, "Sign in", signinData{
		Next: safeNext(r.URL.Query().Get("next")), Configured: c.d.AsanaClientID != "", RedirectURL: c.redirectURL()})
	return nil
}

// signinStart sends the browser to Asana. With account=other it asks
// Asana to let the person choose the account again rather than go on as
// whoever is signed in to Asana in this browser (see startAsanaSignin).
func (c *signinPages) signinStart(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return c.startAsanaSignin(w, r, safeNext(q.Get("next")), false, q.Get("account") == "other")
}

// startAsanaSignin sends the browser to Asana's consent page with PKCE and a
// state that is both stored (one use) and bound to this browser by a cookie.
// another adds OpenID Connect's prompt=login, which asks the authorization
// server to sign the person in again: the Asana emulator then shows its
// login form; an authorization server that does not know the parameter
// ignores it (RFC 6749 §3.1), and the refusal page says how to sign out of
// Asana instead.
func (c *signinPages) startAsanaSignin(w http.ResponseWriter, r *http.Request, next string, bootstrap, another bool) error {
	cfg, err := c.oauthConfig()
	if err != nil {
		return err
	}
	st := signinState{Verifier: oauth2.GenerateVerifier(), Next: next, Bootstrap: bootstrap}
	raw, _ := json.Marshal(st) // plain strings always marshal
	state := randomToken(24)
	if err := c.d.Store.PutAuthState(r.Context(), store.AuthState{State: state, Kind: kindSignin,
		Data: store.Secret(raw), ExpiresAt: c.now().Add(signinStateTTL)}); err != nil {
		return fmt.Errorf("admin: start sign-in: %w", err)
	}
	c.setCookie(w, stateCookie, state, "/admin/auth", int(signinStateTTL/time.Second))
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier)}
	if another {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	http.Redirect(w, r, cfg.AuthCodeURL(state, opts...), http.StatusSeeOther)
	return nil
}

func (c *signinPages) signinCallback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	c.setCookie(w, stateCookie, "", "/admin/auth", -1)
	if e := q.Get("error"); e != "" {
		return httpx.Errorf(http.StatusForbidden, "Asana did not sign you in (%s); start again from the sign-in page", e)
	}
	state := q.Get("state")
	ck, err := r.Cookie(stateCookie)
	if state == "" || err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		return httpx.Errorf(http.StatusForbidden, "this sign-in was not started in this browser, or took too long; start again from the sign-in page")
	}
	as, err := c.d.Store.ConsumeAuthState(ctx, state)
	if errors.Is(err, store.ErrNotFound) || (err == nil && as.Kind != kindSignin) {
		return httpx.Errorf(http.StatusForbidden, "this sign-in link was already used or expired; start again from the sign-in page")
	}
	if err != nil {
		return fmt.Errorf("admin: sign-in callback: %w", err)
	}
	var st signinState
	if err := json.Unmarshal([]byte(as.Data.Reveal()), &st); err != nil {
		return fmt.Errorf("admin: sign-in state: %w", err)
	}
	cfg, err := c.oauthConfig()
	if err != nil {
		return err
	}
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.hc), q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return httpx.Wrap(http.StatusBadGateway, "Asana did not accept the sign-in code; start again from the sign-in page", err)
	}
	me, err := c.asanaClient(tok.AccessToken).Me(ctx)
	if err != nil {
		return httpx.Wrap(http.StatusBadGateway, "asanajira could not read your Asana profile; try again", err)
	}
	s := session{GID: me.GID, Name: me.Name, Email: me.Email, AsanaToken: tok.AccessToken, AsanaRefresh: tok.RefreshToken, AsanaExpiry: c.expiryOf(tok)}
	admitted, refusal, err := c.admit(ctx, &s, st.Bootstrap)
	if err != nil {
		return err
	}
	if !admitted {
		if err := c.audit(ctx, &s, actionSigninRefused, me.GID, refusal); err != nil {
			return err
		}
		c.render(w, r, http.StatusForbidden, "not_admin", nil, "Not an admin", notAdminData{
			Name: or(me.Name, me.GID), Email: me.Email, GID: me.GID, Initial: initial(or(me.Name, me.Email)),
			Bootstrap: st.Bootstrap, Hint: c.d.SignInHint, AsanaURL: c.asanaBase(), Next: safeNext(st.Next)})
		return nil
	}
	if err := c.audit(ctx, &s, actionSignin, me.GID, ""); err != nil {
		return err
	}
	if err := c.startSession(w, s); err != nil {
		return fmt.Errorf("admin: start session: %w", err)
	}
	http.Redirect(w, r, safeNext(st.Next), http.StatusSeeOther)
	return nil
}

// notAdminData is the page of an Asana user who signed in and is not an
// admin: who they are, how to become one, and a way to sign in with
// another Asana account.
type notAdminData struct {
	Name, Email, GID, Initial string
	// Bootstrap: they came by a bootstrap link while an admin existed.
	Bootstrap bool
	// Hint is Deps.SignInHint (the demo's admin account).
	Hint     string
	AsanaURL string
	Next     string
}

// initial is the first letter of a name, for an avatar.
func initial(name string) string {
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// asanaClient calls Asana's REST API with an access token.
func (c *base) asanaClient(token string) *asana.Client {
	hc := &http.Client{Transport: &asana.BearerTransport{Token: token, Base: c.hc.Transport}, Timeout: c.hc.Timeout}
	cl, _ := asana.New(c.asanaBase()+"/api/1.0", hc, asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 1})) // the base URL was checked by oauthConfig
	return cl
}

type bootstrapData struct {
	Token      string
	Configured bool
}

// bootstrapPage shows a button rather than acting on GET, so a link
// preview or prefetch cannot spend the one-time token.
func (c *signinPages) bootstrapPage(w http.ResponseWriter, r *http.Request) error {
	c.render(w, r, http.StatusOK, "bootstrap", nil, "First sign-in", bootstrapData{
		Token: r.URL.Query().Get("token"), Configured: c.d.AsanaClientID != ""})
	return nil
}

func (c *signinPages) bootstrapUse(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	token := r.PostFormValue("token")
	if token == "" {
		return httpx.Errorf(http.StatusForbidden, "the bootstrap link has no token")
	}
	as, err := c.d.Store.ConsumeAuthState(r.Context(), token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && as.Kind != kindBootstrap) {
		return httpx.Errorf(http.StatusForbidden, "this bootstrap link was already used, has expired or was replaced by a newer one; the newest link is in asanajira's log (a restart prints a new one while there is no admin)")
	}
	if err != nil {
		return fmt.Errorf("admin: bootstrap: %w", err)
	}
	// The link may predate the first admin (another link, or --admins).
	open, err := c.bootstrapOpen(r.Context())
	if err != nil {
		return err
	}
	if !open {
		return httpx.Errorf(http.StatusForbidden, "an asanajira admin exists already, so bootstrap links no longer work; sign in, or ask an admin to add you")
	}
	if c.d.AsanaClientID != "" {
		return c.startAsanaSignin(w, r, "/admin/connections", true, false)
	}
	s := session{Name: "bootstrap admin", Bootstrap: true}
	if err := c.audit(r.Context(), &s, actionBootstrap, "", "bootstrap session without Asana sign-in (no Asana app configured)"); err != nil {
		return err
	}
	if err := c.startSession(w, s); err != nil {
		return fmt.Errorf("admin: start session: %w", err)
	}
	return c.redirect(w, r, "/admin/connections",
		"Signed in with the bootstrap link. Configure the Asana app and list yourself in ASANAJIRA_ADMINS to sign in with Asana.")
}

func (c *signinPages) signout(w http.ResponseWriter, r *http.Request, _ *session) error {
	c.clearSession(w)
	http.Redirect(w, r, "/admin/signin", http.StatusSeeOther)
	return nil
}

// safeNext keeps post-sign-in redirects inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/admin/connections"
	}
	return next
}
