package asana

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// codeLifetime bounds how long an authorization code can be exchanged.
const codeLifetime = 10 * time.Minute

const sessionCookie = "asana_emulator_session"

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Asana emulator</title><link rel="stylesheet" href="/_emulator/ui/style.css"><link rel="icon" href="/favicon.ico" type="image/svg+xml"></head>
<body class="narrow"><main class="card auth">
<div class="brand"><span class="dots"><i></i><i></i><i></i></span> Asana <small>emulator</small></div>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .AppName}}<p><strong>{{.AppName}}</strong> wants to access your Asana account{{if .Scope}} (scope: <code>{{.Scope}}</code>){{end}}.</p>{{end}}
<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
{{if .User}}<p>Signed in as <strong>{{.User}}</strong>. <a href="{{.SwitchURL}}" id="switch-account">Use another account</a></p>{{else}}
<label>Username <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<p class="hint">Demo users: admin, alice, bob (the password is the name).</p>{{end}}
<div class="actions">{{if .AppName}}<button name="decision" value="deny" class="secondary" formnovalidate>Deny</button>
<button name="decision" value="allow" class="primary">Allow</button>{{else}}<button class="primary">Sign in</button>{{end}}</div>
</form></main></body></html>`))

type pageData struct {
	Title, Error, AppName, Scope, User, Action string
	// SwitchURL asks again with the login form, for another account.
	SwitchURL string
	Hidden    map[string]string
}

func renderPage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

// sessionUser returns the user signed in to the emulator's pages, if any.
func (s *Server) sessionUser(r *http.Request) (*user, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[s.st.sessions[c.Value]]
	return u, ok
}

// checkPassword accepts the demo users, whose password is their login.
func (s *Server) checkPassword(login, password string) (*user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, gid := range s.st.userOrder {
		u := s.st.users[gid]
		if u.login == login && subtle.ConstantTimeCompare([]byte(password), []byte(u.login)) == 1 {
			return u, true
		}
	}
	return nil, false
}

func (s *Server) startSession(w http.ResponseWriter, u *user) {
	id := randomToken(16)
	s.mu.Lock()
	s.st.sessions[id] = u.gid
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	renderPage(w, http.StatusOK, pageData{Title: "Sign in", Action: "/-/login",
		Hidden: map[string]string{"next": safeNext(r.URL.Query().Get("next"))}})
}

// safeNext keeps post-login redirects on the emulator.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	u, ok := s.checkPassword(r.PostFormValue("username"), r.PostFormValue("password"))
	if !ok {
		renderPage(w, http.StatusUnauthorized, pageData{Title: "Sign in", Action: "/-/login",
			Error: "Wrong username or password.", Hidden: map[string]string{"next": next}})
		return
	}
	s.startSession(w, u)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.st.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/-/login", http.StatusSeeOther)
}

// authorizeParams are the checked query parameters of /-/oauth_authorize.
// prompt is OpenID Connect's: with "login" the page asks for a user name
// and password even when someone is signed in, so a person can choose
// another account (Asana does not document it; RFC 6749 §3.1 has servers
// ignore parameters they do not know).
type authorizeParams struct {
	clientID, redirectURI, state, scope, challenge, method, prompt string
}

// forceLogin reports whether the request asked to sign in again.
func (p authorizeParams) forceLogin() bool {
	return slices.Contains(strings.Fields(p.prompt), "login")
}

// checkAuthorize validates an authorize request; a bad client_id or
// redirect_uri gets a plain error page, never a redirect.
func (s *Server) checkAuthorize(v url.Values) (authorizeParams, string) {
	p := authorizeParams{clientID: v.Get("client_id"), redirectURI: v.Get("redirect_uri"), state: v.Get("state"),
		scope: v.Get("scope"), challenge: v.Get("code_challenge"), method: v.Get("code_challenge_method"), prompt: v.Get("prompt")}
	app := s.App()
	switch {
	case p.clientID != app.ClientID:
		return p, "The client_id is missing or invalid."
	case !redirectAllowed(app, p.redirectURI):
		return p, "The redirect_uri is missing or does not match a redirect URL registered for the app."
	case v.Get("response_type") != "code":
		return p, "The response_type must be code."
	case p.challenge != "" && p.method != "S256":
		return p, "The code_challenge_method must be S256."
	}
	if p.scope == "" {
		p.scope = "default"
	}
	return p, ""
}

func redirectAllowed(app AppRegistration, uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	if len(app.RedirectURLs) == 0 {
		return true
	}
	for _, r := range app.RedirectURLs {
		if r == uri {
			return true
		}
	}
	return false
}

func (p authorizeParams) hidden() map[string]string {
	h := map[string]string{"client_id": p.clientID, "redirect_uri": p.redirectURI, "state": p.state,
		"scope": p.scope, "code_challenge": p.challenge, "code_challenge_method": p.method, "response_type": "code"}
	if p.prompt != "" {
		h["prompt"] = p.prompt
	}
	return h
}

func (s *Server) handleAuthorizePage(w http.ResponseWriter, r *http.Request) {
	p, problem := s.checkAuthorize(r.URL.Query())
	if problem != "" {
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	d := pageData{Title: "Authorize " + s.App().Name, AppName: s.App().Name, Scope: p.scope,
		Action: "/-/oauth_authorize", Hidden: p.hidden()}
	if u, ok := s.sessionUser(r); ok && !p.forceLogin() {
		d.User = u.name
		again := r.URL.Query()
		again.Set("prompt", "login")
		d.SwitchURL = "/-/oauth_authorize?" + again.Encode()
	}
	renderPage(w, http.StatusOK, d)
}

// handleAuthorizeDecision takes Allow or Deny (signing in first when
// needed) and redirects to the app with a code or error=access_denied.
func (s *Server) handleAuthorizeDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	p, problem := s.checkAuthorize(r.PostForm)
	if problem != "" {
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(p.redirectURI)
	q := back.Query()
	if p.state != "" {
		q.Set("state", p.state)
	}
	if r.PostFormValue("decision") != "allow" {
		q.Set("error", "access_denied")
		q.Set("error_description", "The user denied the request.")
		back.RawQuery = q.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
		return
	}
	u, ok := s.sessionUser(r)
	if !ok || p.forceLogin() {
		u, ok = s.checkPassword(r.PostFormValue("username"), r.PostFormValue("password"))
		if !ok {
			renderPage(w, http.StatusUnauthorized, pageData{Title: "Authorize " + s.App().Name, AppName: s.App().Name,
				Scope: p.scope, Action: "/-/oauth_authorize", Hidden: p.hidden(), Error: "Wrong username or password."})
			return
		}
		s.startSession(w, u)
	}
	code := s.issueCode(u.gid, p)
	q.Set("code", code)
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (s *Server) issueCode(userGID string, p authorizeParams) string {
	code := randomToken(16)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.codes[code] = &authCode{user: userGID, clientID: p.clientID, redirectURI: p.redirectURI,
		challenge: p.challenge, method: p.method, scope: p.scope, expires: s.nowLocked().Add(codeLifetime)}
	return code
}

// IssueOAuthCode returns an authorization code as if user (a login or gid)
// had pressed Allow for the registered app; challenge is an optional PKCE
// S256 code challenge.
func (s *Server) IssueOAuthCode(userRef, redirectURI, challenge string) (string, error) {
	s.mu.Lock()
	u, ok := s.st.userByRef(userRef)
	clientID := s.st.app.ClientID
	s.mu.Unlock()
	if !ok {
		return "", errorf(http.StatusBadRequest, "asana emulator: unknown user %q", userRef)
	}
	p := authorizeParams{clientID: clientID, redirectURI: redirectURI, challenge: challenge, scope: "default"}
	if challenge != "" {
		p.method = "S256"
	}
	return s.issueCode(u.gid, p), nil
}

// IssueAccessToken returns a fresh OAuth access and refresh token for user
// (a login or gid), as after a completed authorization.
func (s *Server) IssueAccessToken(userRef string) (access, refresh string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.userByRef(userRef)
	if !ok {
		return "", "", errorf(http.StatusBadRequest, "asana emulator: unknown user %q", userRef)
	}
	refresh = "1/" + randomToken(20)
	s.st.refresh[refresh] = &refreshToken{user: u.gid, clientID: s.st.app.ClientID, scope: "default"}
	return s.newAccessLocked(u.gid, s.st.app.ClientID, refresh), refresh, nil
}

func (st *state) userByRef(ref string) (*user, bool) {
	if u, ok := st.users[ref]; ok {
		return u, true
	}
	for _, u := range st.users {
		if ref != "" && u.login == ref { // users added by AddUser have no login
			return u, true
		}
	}
	return nil, false
}

func (s *Server) newAccessLocked(userGID, clientID, refresh string) string {
	tok := "2/" + randomToken(24)
	s.st.access[tok] = &accessToken{user: userGID, clientID: clientID, refresh: refresh,
		expires: s.nowLocked().Add(s.tokenLifetime)}
	return tok
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// handleToken is POST /-/oauth_token: authorization_code (with optional PKCE)
// and refresh_token grants, form-encoded.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The body must be form-encoded.")
		return
	}
	f := r.PostForm
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && clientID == "" {
		clientID, secret = u, p
	}
	app := s.App()
	if clientID != app.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The client_id or client_secret is wrong.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var userGID, refresh string
	switch f.Get("grant_type") {
	case "authorization_code":
		c, ok := s.st.codes[f.Get("code")]
		delete(s.st.codes, f.Get("code")) // single use, even when the exchange fails
		switch {
		case !ok || !s.nowLocked().Before(c.expires) || c.clientID != clientID:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The code is invalid, used or expired.")
			return
		case c.redirectURI != f.Get("redirect_uri"):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The redirect_uri does not match the authorization request.")
			return
		case c.challenge != "" && !pkceOK(c.challenge, f.Get("code_verifier")):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The code_verifier does not match the code_challenge.")
			return
		}
		userGID = c.user
		refresh = "1/" + randomToken(20)
		s.st.refresh[refresh] = &refreshToken{user: c.user, clientID: clientID, scope: c.scope}
	case "refresh_token":
		rt, ok := s.st.refresh[f.Get("refresh_token")]
		if !ok || rt.revoked || rt.clientID != clientID {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid or revoked.")
			return
		}
		userGID = rt.user
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")
		return
	}
	rtKey := refresh
	if rtKey == "" {
		rtKey = f.Get("refresh_token")
	}
	access := s.newAccessLocked(userGID, clientID, rtKey)
	u := s.st.users[userGID]
	body := map[string]any{
		"access_token": access, "token_type": "bearer", "expires_in": int(s.tokenLifetime.Seconds()),
		"data": map[string]any{"id": u.gid, "gid": u.gid, "name": u.name, "email": u.email},
	}
	if refresh != "" {
		body["refresh_token"] = refresh
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

// pkceOK checks an S256 code_verifier against its challenge.
func pkceOK(challenge, verifier string) bool {
	if verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// handleRevoke is POST /-/oauth_revoke: it revokes a refresh token and every
// access token minted from it; unknown tokens still get 200.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token is required.")
		return
	}
	app := s.App()
	if r.PostForm.Get("client_id") != app.ClientID ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("client_secret")), []byte(app.ClientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The client_id or client_secret is wrong.")
		return
	}
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, isAccess := s.st.access[tok]; isAccess {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Only refresh tokens can be revoked.")
		return
	}
	if rt, ok := s.st.refresh[tok]; ok {
		rt.revoked = true
		for k, at := range s.st.access {
			if at.refresh == tok {
				delete(s.st.access, k)
			}
		}
	}
	w.WriteHeader(http.StatusOK)
}
