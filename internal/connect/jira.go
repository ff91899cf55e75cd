package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// jiraCallTimeout bounds each call to Jira made while the user waits.
const jiraCallTimeout = 20 * time.Second

// oauth1State is kept under the request token between the start of the
// OAuth 1.0a dance and Jira's redirect.
type oauth1State struct {
	flowOwner
	Secret string `json:"t"`
}

// oauth2State is kept under the OAuth 2.0 state.
type oauth2State struct {
	flowOwner
	Verifier string `json:"v"`
}

// flowOwner is who started a Jira authorization, and on which server.
type flowOwner struct {
	User   string `json:"u"`
	Server string `json:"s"`
}

func (o flowOwner) owner() flowOwner { return o }

// resumeJiraFlow consumes a Jira authorization's one-time state into st,
// checks that the browser finishing the flow is the one that started it,
// and loads the server.
func (h *Handler) resumeJiraFlow(r *http.Request, state, kind string, st interface{ owner() flowOwner }) (session, store.JiraServer, error) {
	s, err := h.session(r)
	if err != nil {
		return s, store.JiraServer{}, err
	}
	if err := h.consumeState(r, state, kind, st); err != nil {
		return s, store.JiraServer{}, err
	}
	o := st.owner()
	if err := userStarted(s, o.User); err != nil {
		return s, store.JiraServer{}, err
	}
	srv, err := h.jiraServerOf(r.Context(), o.Server)
	return s, srv, err
}

// serverRow is one line of the servers page.
type serverRow struct {
	Server    store.JiraServer
	Connected bool
	Reconnect bool
	Reason    string
	JiraUser  string
	JiraName  string
	Suggested bool
}

// candidates are the Jira servers connected to the user's workspaces and
// the one the Asana project routes to, if the flow named a project.
func (h *Handler) candidates(ctx context.Context, s session) ([]store.JiraServer, string, error) {
	var conns []store.Connection
	for _, ws := range s.Workspaces {
		cs, err := h.d.Store.ListWorkspaceConnections(ctx, ws)
		if err != nil {
			return nil, "", fmt.Errorf("connect: list connections: %w", err)
		}
		conns = append(conns, cs...)
	}
	var out []store.JiraServer
	for _, c := range conns {
		if slices.ContainsFunc(out, func(j store.JiraServer) bool { return j.ID == c.JiraServerID }) {
			continue
		}
		srv, err := h.d.Store.GetJiraServer(ctx, c.JiraServerID)
		if err != nil {
			return nil, "", fmt.Errorf("connect: get jira server: %w", err)
		}
		out = append(out, srv)
	}
	suggested := ""
	if s.Project != "" && len(s.Workspaces) == 1 {
		if srv, err := h.d.Store.RouteProject(ctx, s.Workspaces[0], s.Project); err == nil {
			suggested = srv.ID
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, "", fmt.Errorf("connect: route project: %w", err)
		}
	}
	return out, suggested, nil
}

// server returns the Jira server named in the path, if the user may use it.
func (h *Handler) server(r *http.Request, s session) (store.JiraServer, error) {
	servers, _, err := h.candidates(r.Context(), s)
	if err != nil {
		return store.JiraServer{}, err
	}
	id := r.PathValue("server")
	for _, srv := range servers {
		if srv.ID == id {
			return srv, nil
		}
	}
	return store.JiraServer{}, httpx.Errorf(http.StatusNotFound, "This Jira server is not connected to your Asana workspace. Ask your asanajira administrator to connect it.")
}

// servers lists the user's Jira servers. Straight after the Asana step
// (auto=1) it skips itself when there is only one server to connect.
func (h *Handler) servers(w http.ResponseWriter, r *http.Request) error {
	s, err := h.session(r)
	if err != nil {
		return err
	}
	servers, suggested, err := h.candidates(r.Context(), s)
	if err != nil {
		return err
	}
	rows := make([]serverRow, 0, len(servers))
	for _, srv := range servers {
		row := serverRow{Server: srv, Suggested: srv.ID == suggested}
		c, err := h.d.Store.GetJiraCredential(r.Context(), s.User, srv.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fmt.Errorf("connect: get jira credential: %w", err)
		case c.ReconnectNeeded:
			row.Reconnect, row.Reason, row.JiraUser = true, c.ReconnectReason, c.JiraUsername
		default:
			row.Connected, row.JiraUser, row.JiraName = true, c.JiraUsername, c.JiraDisplayName
		}
		rows = append(rows, row)
	}
	if r.URL.Query().Get("auto") == "1" {
		for _, row := range rows {
			if !row.Connected && (row.Suggested || len(rows) == 1) {
				return redirect(w, r, "/connect/jira/"+row.Server.ID)
			}
		}
	}
	h.render(w, http.StatusOK, "servers", pageData{Title: "Connect Jira", Data: map[string]any{
		"User": s.Name, "Servers": rows, "CSRF": h.csrfToken(s),
	}})
	return nil
}

// methods are the ways to authorize on srv: what the administrator allowed
// (OAuth 1.0a when nothing was chosen), what is configured, and what the
// Jira version has.
func methods(srv store.JiraServer) []store.AuthMethod {
	allowed := srv.AuthMethods
	if len(allowed) == 0 {
		allowed = []store.AuthMethod{store.AuthOAuth1}
	}
	var out []store.AuthMethod
	for _, m := range []store.AuthMethod{store.AuthOAuth1, store.AuthOAuth2, store.AuthPAT} {
		if !slices.Contains(allowed, m) {
			continue
		}
		switch m {
		case store.AuthOAuth1:
			if srv.ConsumerKey == "" || srv.PrivateKeyPEM == "" {
				continue
			}
		case store.AuthOAuth2:
			if srv.OAuth2ClientID == "" || !versionAtLeast(srv.Version, 8, 22) {
				continue
			}
		case store.AuthPAT:
			if !versionAtLeast(srv.Version, 8, 14) {
				continue
			}
		}
		out = append(out, m)
	}
	return out
}

// versionAtLeast compares a Jira version like "9.12.0"; an unknown version
// passes, Jira will say no itself.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}

func (h *Handler) allowed(srv store.JiraServer, m store.AuthMethod) error {
	if !slices.Contains(methods(srv), m) {
		return httpx.Errorf(http.StatusForbidden, "This way of connecting is not enabled for %s. Go back and choose another, or ask your asanajira administrator.", srv.Name)
	}
	return nil
}

// methods offers the server's ways to authorize, or goes straight to the
// only one.
func (h *Handler) methods(w http.ResponseWriter, r *http.Request) error {
	s, err := h.session(r)
	if err != nil {
		return err
	}
	srv, err := h.server(r, s)
	if err != nil {
		return err
	}
	ms := methods(srv)
	switch len(ms) {
	case 0:
		return httpx.Errorf(http.StatusConflict, "No way to connect to %s is set up yet (no application link, OAuth 2.0 link or personal access tokens). Ask your asanajira administrator.", srv.Name)
	case 1:
		return redirect(w, r, "/connect/jira/"+srv.ID+"/"+string(ms[0]))
	}
	h.render(w, http.StatusOK, "methods", pageData{Title: "Connect " + srv.Name, Data: map[string]any{"Server": srv, "Methods": ms, "Primary": string(ms[0])}})
	return nil
}

// jiraFailure turns a failed call to Jira into a page that says what to do.
func jiraFailure(srv store.JiraServer, err error) error {
	var je *jira.Error
	if errors.As(err, &je) {
		msg := "Jira at " + srv.BaseURL + " did not answer as expected"
		switch je.Kind {
		case jira.KindNetwork, jira.KindServer:
			msg = "asanajira could not reach Jira at " + srv.BaseURL + " (it may be down or restarting). Try again in a few minutes."
		case jira.KindSSO:
			msg = "Jira at " + srv.BaseURL + " answered with a login page instead of an answer: a single sign-on or proxy login stands between asanajira and Jira. Ask your administrator to let asanajira reach Jira directly (the connect address), or connect with a personal access token."
		}
		if hint := je.Hint(); hint != "" && je.Kind != jira.KindNetwork && je.Kind != jira.KindSSO {
			msg += ": " + hint
		}
		return httpx.Wrap(http.StatusBadGateway, msg, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return httpx.Wrap(http.StatusGatewayTimeout, "Jira at "+srv.BaseURL+" did not answer in time. Try again in a few minutes.", err)
	}
	return httpx.Wrap(http.StatusBadGateway, "asanajira could not talk to Jira at "+srv.BaseURL+". Try again in a few minutes; if it keeps failing, tell your administrator.", err)
}

// startOAuth1 gets a request token with our callback and sends the user to
// Jira's authorize page. The token secret waits in the store under the
// request token.
func (h *Handler) startOAuth1(w http.ResponseWriter, r *http.Request) error {
	s, err := h.session(r)
	if err != nil {
		return err
	}
	srv, err := h.server(r, s)
	if err != nil {
		return err
	}
	if err := h.allowed(srv, store.AuthOAuth1); err != nil {
		return err
	}
	cfg, err := h.oauth1Config(srv)
	if err != nil {
		return err
	}
	tok, err := cfg.RequestToken(r.Context())
	if err != nil {
		return jiraFailure(srv, err)
	}
	if err := h.putState(r, tok.Token, kindJiraOAuth1, oauth1State{flowOwner: flowOwner{User: s.User, Server: srv.ID}, Secret: tok.Secret}); err != nil {
		return err
	}
	to, err := cfg.AuthorizeURL(tok.Token)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return redirect(w, r, to)
}

func (h *Handler) oauth1Config(srv store.JiraServer) (*jira.OAuth1Config, error) {
	signer, err := h.d.Credentials.JiraSigner(srv)
	if err != nil {
		return nil, httpx.Wrap(http.StatusConflict, "The application link to "+srv.Name+" is not set up. Ask your asanajira administrator.", err)
	}
	hc, err := h.d.Credentials.JiraHTTPClient(srv)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &jira.OAuth1Config{BaseURL: srv.BaseURL, Signer: signer, CallbackURL: h.d.PublicURL + JiraOAuth1CallbackPath,
		HTTPClient: hc, Timeout: jiraCallTimeout}, nil
}

// userStarted checks that the flow being finished was started by the user
// of this browser's session.
func userStarted(s session, user string) error {
	if user != s.User {
		return httpx.Errorf(http.StatusForbidden, "This authorization was started by another Asana user in this browser. Close this window and connect again from Asana.")
	}
	return nil
}

func (h *Handler) jiraServerOf(ctx context.Context, id string) (store.JiraServer, error) {
	srv, err := h.d.Store.GetJiraServer(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return srv, httpx.Wrap(http.StatusNotFound, "This Jira server was removed from asanajira meanwhile.", err)
	}
	if err != nil {
		return srv, fmt.Errorf("connect: get jira server: %w", err)
	}
	return srv, nil
}

// deniedDelay leaves a refusal on screen a moment before the popup tells
// Asana's window "error" and closes; Asana's window then says what happened
// and offers to connect again.
const deniedDelay = 2500

// denied is the page for a user who pressed Deny in Jira: Asana's window
// hears "error", as after a Deny on Asana's own consent page.
func (h *Handler) denied(w http.ResponseWriter, srv store.JiraServer) error {
	return h.message(w, http.StatusOK, pageData{Title: "Jira not connected", PostMessage: "error", CloseAfterMS: deniedDelay,
		Message:  "You did not allow asanajira to use your Jira account on " + srv.Name + ". Without it asanajira cannot show or create Jira issues for you. Nothing was changed.",
		Link:     "/connect/jira/" + srv.ID,
		LinkText: "Try again"})
}

// oauth1Callback finishes OAuth 1.0a: the request token is consumed (a
// replayed callback finds nothing), exchanged for an access token, and the
// result checked and stored.
func (h *Handler) oauth1Callback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var st oauth1State
	s, srv, err := h.resumeJiraFlow(r, q.Get("oauth_token"), kindJiraOAuth1, &st)
	if err != nil {
		return err
	}
	verifier := q.Get("oauth_verifier")
	if verifier == "denied" {
		return h.denied(w, srv)
	}
	cfg, err := h.oauth1Config(srv)
	if err != nil {
		return err
	}
	tok, err := cfg.AccessToken(r.Context(), q.Get("oauth_token"), verifier)
	if err != nil {
		var je *jira.Error
		if errors.As(err, &je) && je.OAuthProblem == "permission_denied" {
			return h.denied(w, srv)
		}
		return jiraFailure(srv, err)
	}
	cred := store.JiraCredential{AsanaUserGID: s.User, JiraServerID: srv.ID, Method: store.AuthOAuth1,
		AccessToken: store.Secret(tok.Token), TokenSecret: store.Secret(tok.Secret)}
	if tok.ExpiresIn > 0 {
		cred.Expiry = h.d.Now().Add(tok.ExpiresIn)
	}
	return h.saveJira(w, r, s, srv, cred)
}

// saveJira checks a new credential with Jira's myself, stores it sealed and
// moves on: back to the server list when there are several, else to the
// final page.
func (h *Handler) saveJira(w http.ResponseWriter, r *http.Request, s session, srv store.JiraServer, cred store.JiraCredential) error {
	me, err := h.d.Credentials.CheckJira(r.Context(), srv, cred)
	if err != nil {
		return jiraFailure(srv, err)
	}
	cred.JiraUsername, cred.JiraDisplayName = me.Name, me.DisplayName
	if err := h.d.Store.PutJiraCredential(r.Context(), cred); err != nil {
		return fmt.Errorf("connect: save jira credential: %w", err)
	}
	h.audit(r, s, "jira.connect", srv.ID, string(cred.Method)+" as "+me.Name)
	h.wakeCreations(r.Context(), s.User, srv)
	servers, _, err := h.candidates(r.Context(), s)
	if err != nil {
		return err
	}
	if len(servers) > 1 {
		return redirect(w, r, "/connect/jira")
	}
	return redirect(w, r, "/connect/done")
}

// wakeCreations brings the user's interrupted creates on srv that the
// sweep of creation claims put off for this (re)connect (jobs'
// awaitReconnect: a failed claim, CreationAwaitingReconnect, whose expiry
// is its next attempt, up to six hours on) due at once, so the sweep's next
// pass, within a minute, links their issues. A token refresh
// (credentials) need not: it refreshes only a credential not marked for
// reconnection, while a claim is put off only for a user whose credential
// was missing or that Jira refused (marked for reconnection then), so
// only a connect like this one makes it usable again.
//
// Due ConfigCacheTTL from now rather than now: another replica may serve
// the credential it cached before this write (none, or marked) for that
// long, and its sweep would put the claim off again, for hours.
//
// A time from now on, never one past, keeps createOnce's reasoning whole.
// The claim is failed and held by no one: a submit takes it over at once,
// whatever its expiry, and searches Jira after; the expiry only says when
// the sweep may list it, and when a submit may claim over it instead. A
// submit that claims over an expired claim counts the search made beside
// its form (createOnce) because the claim's holders were done before it
// expired: here the sweep that put it off was done before this wake, and
// the request that first held it long before (its claim had lapsed before
// the sweep took it over). An expiry set into the past would date the
// claim's freedom to a time when the sweep may still have held it.
func (h *Handler) wakeCreations(ctx context.Context, user string, srv store.JiraServer) {
	n, err := h.d.Store.WakeCreationsAwaitingReconnect(ctx, srv.ID, user, h.d.Now().Add(store.ConfigCacheTTL))
	attrs := []slog.Attr{slog.String("user", user), slog.String("jira_server", srv.ID)}
	switch {
	case err != nil:
		h.d.Log.LogAttrs(ctx, slog.LevelWarn, "could not bring forward the interrupted creates awaiting this Jira reconnect; the sweep finishes them at their later time",
			append(attrs, slog.Any("error", err))...)
	case n > 0:
		h.d.Log.LogAttrs(ctx, slog.LevelInfo, "interrupted creates awaiting this Jira reconnect are finished at the next sweep", append(attrs, slog.Int64("creates", n))...)
	}
}

func (h *Handler) audit(r *http.Request, s session, action, target, detail string) {
	err := h.d.Store.AppendAudit(r.Context(), store.AuditEntry{At: h.d.Now(), Actor: "asana:" + s.User, Action: action, Target: target, Detail: detail})
	if err != nil {
		h.d.Log.LogAttrs(r.Context(), slog.LevelError, "connect: audit", slog.String("action", action), slog.Any("error", err))
	}
}

func (h *Handler) oauth2Config(srv store.JiraServer) (*oauth2.Config, error) {
	cfg, err := h.d.Credentials.JiraOAuth2Config(srv)
	if err != nil {
		return nil, httpx.Wrap(http.StatusConflict, "The OAuth 2.0 link to "+srv.Name+" is not set up. Ask your asanajira administrator.", err)
	}
	if want := h.d.PublicURL + JiraOAuth2CallbackPath; cfg.RedirectURL != want {
		// Jira checks the redirect URL on every refresh: a mismatch would
		// break the connection an hour later, so refuse it now.
		return nil, fmt.Errorf("connect: the Jira OAuth 2.0 redirect URL is %q, want %q (credentials.Options.JiraOAuth2RedirectURL)", cfg.RedirectURL, want)
	}
	return cfg, nil
}

// startOAuth2 sends the user to Jira's OAuth 2.0 consent page with a state
// and a PKCE challenge.
func (h *Handler) startOAuth2(w http.ResponseWriter, r *http.Request) error {
	s, err := h.session(r)
	if err != nil {
		return err
	}
	srv, err := h.server(r, s)
	if err != nil {
		return err
	}
	if err := h.allowed(srv, store.AuthOAuth2); err != nil {
		return err
	}
	cfg, err := h.oauth2Config(srv)
	if err != nil {
		return err
	}
	state, verifier := randomString(32), oauth2.GenerateVerifier()
	if err := h.putState(r, state, kindJiraOAuth2, oauth2State{flowOwner: flowOwner{User: s.User, Server: srv.ID}, Verifier: verifier}); err != nil {
		return err
	}
	return redirect(w, r, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
}

// oauth2Callback finishes OAuth 2.0: the state is consumed, the code
// exchanged with the PKCE verifier, the result checked and stored.
func (h *Handler) oauth2Callback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var st oauth2State
	s, srv, err := h.resumeJiraFlow(r, q.Get("state"), kindJiraOAuth2, &st)
	if err != nil {
		return err
	}
	switch e := q.Get("error"); e {
	case "":
	case "access_denied":
		return h.denied(w, srv)
	default:
		return httpx.Errorf(http.StatusBadRequest, "Jira refused the authorization (%s). Ask your asanajira administrator to check the OAuth 2.0 link.", e)
	}
	cfg, err := h.oauth2Config(srv)
	if err != nil {
		return err
	}
	octx, err := h.d.Credentials.JiraOAuth2Context(r.Context(), srv)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	tok, err := cfg.Exchange(octx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return httpx.Wrap(http.StatusBadRequest, "Jira refused the authorization code ("+re.ErrorCode+"); it may have expired. Try again.", err)
		}
		return jiraFailure(srv, err)
	}
	cred := store.JiraCredential{AsanaUserGID: s.User, JiraServerID: srv.ID, Method: store.AuthOAuth2,
		AccessToken: store.Secret(tok.AccessToken), RefreshToken: store.Secret(tok.RefreshToken), Expiry: tok.Expiry}
	return h.saveJira(w, r, s, srv, cred)
}

// patPage renders the personal access token form.
func (h *Handler) patPage(w http.ResponseWriter, status int, s session, srv store.JiraServer, problem string) error {
	base := strings.TrimRight(srv.BaseURL, "/")
	h.render(w, status, "pat", pageData{Title: "Connect " + srv.Name + " with a personal access token", Data: map[string]any{
		"Server": srv, "CSRF": h.csrfToken(s), "Error": problem, "OtherMethods": len(methods(srv)) > 1,
		"ProfileURL": base + "/secure/ViewProfile.jspa?selectedTab=com.atlassian.pats.pats-plugin:jira-user-personal-access-tokens",
	}})
	return nil
}

func (h *Handler) patForm(w http.ResponseWriter, r *http.Request) error {
	s, err := h.session(r)
	if err != nil {
		return err
	}
	srv, err := h.server(r, s)
	if err != nil {
		return err
	}
	if err := h.allowed(srv, store.AuthPAT); err != nil {
		return err
	}
	return h.patPage(w, http.StatusOK, s, srv, "")
}

// patSubmit checks a pasted token with Jira's myself before storing it.
func (h *Handler) patSubmit(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	s, err := h.session(r)
	if err != nil {
		return err
	}
	if err := h.checkCSRF(r, s); err != nil {
		return err
	}
	srv, err := h.server(r, s)
	if err != nil {
		return err
	}
	if err := h.allowed(srv, store.AuthPAT); err != nil {
		return err
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		return h.patPage(w, http.StatusBadRequest, s, srv, "Paste the token Jira showed you when you created it.")
	}
	cred := store.JiraCredential{AsanaUserGID: s.User, JiraServerID: srv.ID, Method: store.AuthPAT, AccessToken: store.Secret(token)}
	if _, err := h.d.Credentials.CheckJira(r.Context(), srv, cred); err != nil {
		var je *jira.Error
		if errors.As(err, &je) && je.Kind == jira.KindUnauthorized {
			return h.patPage(w, http.StatusBadRequest, s, srv, "Jira did not accept this token. Check that you copied all of it, that it has not expired, and that it was created on "+srv.BaseURL+".")
		}
		return jiraFailure(srv, err)
	}
	return h.saveJira(w, r, s, srv, cred)
}

// disconnect removes the user's connection to one Jira server (form field
// server) or, without one, every Jira connection and the Asana
// authorization, which is revoked at Asana.
func (h *Handler) disconnect(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	s, err := h.session(r)
	if err != nil {
		return err
	}
	if err := h.checkCSRF(r, s); err != nil {
		return err
	}
	ctx := r.Context()
	if id := r.PostFormValue("server"); id != "" {
		if err := h.d.Store.DeleteJiraCredential(ctx, s.User, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("connect: delete jira credential: %w", err)
		}
		h.audit(r, s, "jira.disconnect", id, "")
		return redirect(w, r, "/connect/jira")
	}
	servers, err := h.d.Store.ListJiraServers(ctx)
	if err != nil {
		return fmt.Errorf("connect: list jira servers: %w", err)
	}
	for _, srv := range servers {
		if err := h.d.Store.DeleteJiraCredential(ctx, s.User, srv.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("connect: delete jira credential: %w", err)
		}
	}
	u, err := h.d.Store.GetAsanaUser(ctx, s.User)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("connect: get Asana user: %w", err)
	}
	if err == nil {
		if u.RefreshToken != "" {
			if cfg, err := h.asanaOAuth(); err == nil {
				if err := asana.RevokeToken(ctx, h.d.HTTPClient, cfg, u.RefreshToken.Reveal()); err != nil {
					// The tokens are deleted here either way; the user can
					// also remove the app in Asana.
					h.d.Log.LogAttrs(ctx, slog.LevelWarn, "connect: revoke Asana token", slog.String("asana_user", s.User), slog.Any("error", err))
				}
			}
		}
		u.AccessToken, u.RefreshToken, u.Expiry, u.ReconnectNeeded = "", "", time.Time{}, false
		if err := h.d.Store.PutAsanaUser(ctx, u); err != nil {
			return fmt.Errorf("connect: clear Asana tokens: %w", err)
		}
	}
	h.audit(r, s, "asana.disconnect", s.User, "")
	h.clearCookie(w, sessionCookie)
	return h.message(w, http.StatusOK, pageData{Title: "Disconnected",
		Message: "asanajira no longer acts for you in Asana or Jira. The Jira issues already linked to tasks stay as they are.",
		Link:    AuthenticationPath, LinkText: "Connect again"})
}
