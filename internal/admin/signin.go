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

// Auth state kinds the console stores (store.AuthState.Kind).
const (
	kindSignin    = "admin-signin"
	kindBootstrap = "admin-bootstrap"
)

// Audit actions about admins. admin.grant is also how a bootstrap-granted
// admin is recognised at later sign-ins.
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

// signinState travels through the Asana redirect in an auth state row.
type signinState struct {
	Verifier  string `json:"v"`
	Next      string `json:"n"`
	Bootstrap bool   `json:"b,omitempty"`
}

// BootstrapURL returns a one-time link that lets the first admin in, while
// no admin has ever signed in; ok is false once one has. Each call creates
// a new link valid for 24 hours: the app prints it to the log at start.
// Opening it and pressing the button signs in with Asana and makes that
// Asana user an admin (audit action admin.grant); without an Asana app
// configured it opens a bootstrap session instead.
func (c *Console) BootstrapURL(ctx context.Context) (link string, ok bool, err error) {
	signedIn, err := c.adminHasSignedIn(ctx)
	if err != nil || signedIn {
		return "", false, err
	}
	token := randomToken(32)
	if err := c.d.Store.PutAuthState(ctx, store.AuthState{State: token, Kind: kindBootstrap,
		ExpiresAt: c.now().Add(bootstrapTTL)}); err != nil {
		return "", false, fmt.Errorf("admin: bootstrap link: %w", err)
	}
	return c.public + "/admin/bootstrap?token=" + token, true, nil
}

// adminHasSignedIn looks for a sign-in in the audit log, newest first; a
// busy console finds one on the first page.
func (c *Console) adminHasSignedIn(ctx context.Context) (bool, error) {
	found := false
	err := c.scanAudit(ctx, func(e store.AuditEntry) bool {
		found = e.Action == actionSignin
		return found
	})
	return found, err
}

// grantedAdmin reports whether a bootstrap grant made gid an admin.
func (c *Console) grantedAdmin(ctx context.Context, gid string) (bool, error) {
	found := false
	err := c.scanAudit(ctx, func(e store.AuditEntry) bool {
		found = e.Action == actionGrant && e.Target == gid
		return found
	})
	return found, err
}

// scanAudit calls stop on each audit entry, newest first, until it returns
// true or the log ends.
func (c *Console) scanAudit(ctx context.Context, stop func(store.AuditEntry) bool) error {
	var before int64
	for {
		es, err := c.d.Store.ListAudit(ctx, store.AuditFilter{BeforeID: before, Limit: 500})
		if err != nil {
			return fmt.Errorf("admin: read audit log: %w", err)
		}
		for _, e := range es {
			if stop(e) {
				return nil
			}
		}
		if len(es) < 500 {
			return nil
		}
		before = es[len(es)-1].ID
	}
}

func (c *Console) oauthConfig() (*oauth2.Config, error) {
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
func (c *Console) redirectURL() string { return c.public + "/admin/auth/callback" }

type signinData struct {
	Next          string
	Configured    bool
	RedirectURL   string
	BootstrapOpen bool
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) error {
	if s := c.readSession(r); s != nil && c.stillAdmin(s) {
		http.Redirect(w, r, "/admin/connections", http.StatusSeeOther)
		return nil
	}
	c.render(w, r, http.StatusOK, "signin", nil, "Sign in", signinData{
		Next: safeNext(r.URL.Query().Get("next")), Configured: c.d.AsanaClientID != "", RedirectURL: c.redirectURL()})
	return nil
}

func (c *Console) signinStart(w http.ResponseWriter, r *http.Request) error {
	return c.startAsanaSignin(w, r, safeNext(r.URL.Query().Get("next")), false)
}

// startAsanaSignin sends the browser to Asana's consent page with PKCE and a
// state that is both stored (one use) and bound to this browser by a cookie.
func (c *Console) startAsanaSignin(w http.ResponseWriter, r *http.Request, next string, bootstrap bool) error {
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
	http.Redirect(w, r, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(st.Verifier)), http.StatusSeeOther)
	return nil
}

func (c *Console) signinCallback(w http.ResponseWriter, r *http.Request) error {
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
	configured := c.configuredAdmin(me.GID, me.Email)
	granted := false
	if !configured && !st.Bootstrap {
		if granted, err = c.grantedAdmin(ctx, me.GID); err != nil {
			return err
		}
	}
	s := session{GID: me.GID, Name: me.Name, Email: me.Email, Granted: !configured, AsanaToken: tok.AccessToken}
	if !configured && !granted && !st.Bootstrap {
		if err := c.audit(ctx, &s, actionSigninRefused, me.GID, "not in the admin list"); err != nil {
			return err
		}
		return httpx.Errorf(http.StatusForbidden, "%s (%s) is not an asanajira admin. An admin is listed by Asana user gid or email in --admins (ASANAJIRA_ADMINS).", me.Name, me.GID)
	}
	if st.Bootstrap && !configured {
		if err := c.audit(ctx, &s, actionGrant, me.GID, "first admin, signed in with the bootstrap link"); err != nil {
			return err
		}
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

// asanaClient calls Asana's REST API with an access token.
func (c *Console) asanaClient(token string) *asana.Client {
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
func (c *Console) bootstrapPage(w http.ResponseWriter, r *http.Request) error {
	c.render(w, r, http.StatusOK, "bootstrap", nil, "First sign-in", bootstrapData{
		Token: r.URL.Query().Get("token"), Configured: c.d.AsanaClientID != ""})
	return nil
}

func (c *Console) bootstrapUse(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	token := r.PostFormValue("token")
	if token == "" {
		return httpx.Errorf(http.StatusForbidden, "the bootstrap link has no token")
	}
	as, err := c.d.Store.ConsumeAuthState(r.Context(), token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && as.Kind != kindBootstrap) {
		return httpx.Errorf(http.StatusForbidden, "this bootstrap link was already used or expired; restart asanajira to print a new one (only while no admin has signed in)")
	}
	if err != nil {
		return fmt.Errorf("admin: bootstrap: %w", err)
	}
	if c.d.AsanaClientID != "" {
		return c.startAsanaSignin(w, r, "/admin/connections", true)
	}
	s := session{Name: "bootstrap admin", Granted: true}
	if err := c.audit(r.Context(), &s, actionBootstrap, "", "bootstrap session without Asana sign-in (no Asana app configured)"); err != nil {
		return err
	}
	if err := c.startSession(w, s); err != nil {
		return fmt.Errorf("admin: start session: %w", err)
	}
	return c.redirect(w, r, "/admin/connections",
		"Signed in with the bootstrap link. Configure the Asana app and list yourself in ASANAJIRA_ADMINS to sign in with Asana.")
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, _ *session) error {
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
