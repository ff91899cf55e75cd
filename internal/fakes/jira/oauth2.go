package jira

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OAuth 2.0 provider of Jira Data Center 8.22+: incoming links with client
// id/secret, authorization code with PKCE, rotating refresh tokens.
const (
	oauth2AccessTTL  = 3600 * time.Second
	oauth2RefreshTTL = 7776000 * time.Second
	oauth2CodeTTL    = 600 * time.Second
)

type oauth2Client struct {
	id, secret, name string
	redirects        []string
	scopes           []string
}

type oauth2Code struct {
	code, client, user, redirect, scope string
	challenge, method                   string
	expires                             time.Time
}

type oauth2Token struct {
	access, refresh string
	client, user    string
	scope, redirect string
	expires         time.Time // of the access token
	refreshExpires  time.Time
}

// OAuth2Client is an incoming OAuth 2.0 link, as an administrator creates
// it under Application links → External application → Incoming.
type OAuth2Client struct {
	ClientID     string
	ClientSecret string
	Name         string
	RedirectURLs []string
	Scopes       []string // READ, WRITE, ADMIN, SYSTEM_ADMIN
}

// RegisterOAuth2Client creates an incoming OAuth 2.0 link and returns it
// with its generated client id and secret. It fails before 8.22.
func (s *Server) RegisterOAuth2Client(name string, redirectURLs, scopes []string) (OAuth2Client, error) {
	if !s.prof.hasOAuth2() {
		return OAuth2Client{}, fmt.Errorf("jira emulator: Jira %s has no OAuth 2.0 provider (8.22+)", s.prof.version)
	}
	if len(redirectURLs) == 0 {
		return OAuth2Client{}, fmt.Errorf("jira emulator: an OAuth 2.0 link needs a redirect URL")
	}
	if len(scopes) == 0 {
		scopes = []string{"WRITE"}
	}
	c := &oauth2Client{id: randomToken(16), secret: randomToken(32), name: name, redirects: slices.Clone(redirectURLs), scopes: slices.Clone(scopes)}
	s.mu.Lock()
	s.oauth2Clients[c.id] = c
	s.mu.Unlock()
	return OAuth2Client{ClientID: c.id, ClientSecret: c.secret, Name: name, RedirectURLs: c.redirects, Scopes: c.scopes}, nil
}

// emulatorOAuth2Client is the HTTP twin of RegisterOAuth2Client:
// POST <cp>/_emulator/oauth2/clients {"name","redirect_urls":[…],"scopes":[…]}.
func (s *Server) emulatorOAuth2Client(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name         string   `json:"name"`
		RedirectURLs []string `json:"redirect_urls"`
		Scopes       []string `json:"scopes"`
	}
	if err := decodeBody(r, &in); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	c, err := s.RegisterOAuth2Client(in.Name, in.RedirectURLs, in.Scopes)
	if err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"client_id": c.ClientID, "client_secret": c.ClientSecret, "name": c.Name,
		"redirect_urls": c.RedirectURLs, "scopes": c.Scopes})
}

func (s *Server) oauth2Routes() {
	s.route("GET /rest/oauth2/latest/authorize", anyone, profile.hasOAuth2, s.oauth2Authorize)
	s.route("POST /rest/oauth2/latest/authorize", anyone, profile.hasOAuth2, s.oauth2Authorize)
	s.route("POST /rest/oauth2/latest/token", anyone, profile.hasOAuth2, s.oauth2TokenEndpoint)
}

func oauth2Error(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// oauth2Authorize shows the login + consent page and, on Allow, redirects
// to the client's redirect URL with a code.
func (s *Server) oauth2Authorize(w http.ResponseWriter, r *http.Request, u *user) {
	_ = r.ParseForm()
	f := r.Form
	s.mu.Lock()
	c := s.oauth2Clients[f.Get("client_id")]
	s.mu.Unlock()
	if c == nil {
		s.page(w, http.StatusBadRequest, "OAuth 2.0 error", `<p class="error">Invalid client_id.</p>`)
		return
	}
	redirect := f.Get("redirect_uri")
	if !slices.Contains(c.redirects, redirect) {
		s.page(w, http.StatusBadRequest, "OAuth 2.0 error", `<p class="error">The redirect_uri does not match the one registered for this application.</p>`)
		return
	}
	fail := func(code string) {
		q := url.Values{"error": {code}}
		if st := f.Get("state"); st != "" {
			q.Set("state", st)
		}
		http.Redirect(w, r, addQuery(redirect, q), http.StatusFound)
	}
	if f.Get("response_type") != "code" {
		fail("unsupported_response_type")
		return
	}
	scope := f.Get("scope")
	if scope == "" {
		scope = strings.Join(c.scopes, " ")
	}
	for sc := range strings.FieldsSeq(scope) {
		if !slices.Contains(c.scopes, sc) && (sc != "READ" || !slices.Contains(c.scopes, "WRITE")) {
			fail("invalid_scope")
			return
		}
	}
	if m := f.Get("code_challenge_method"); m != "" && m != "S256" && m != "plain" {
		fail("invalid_request")
		return
	}
	if r.Method == http.MethodGet {
		s.consentPage(w, r, u, c, "")
		return
	}
	if u == nil {
		s.mu.Lock()
		u = s.login(f.Get("os_username"), f.Get("os_password"))
		if u != nil {
			s.startSession(w, u)
		}
		s.mu.Unlock()
		if u == nil {
			s.consentPage(w, r, nil, c, "Sorry, your username and password are incorrect - please try again.")
			return
		}
	}
	if f.Get("deny") != "" || f.Get("approve") == "" {
		fail("access_denied")
		return
	}
	code := &oauth2Code{code: randomToken(20), client: c.id, user: u.name, redirect: redirect, scope: scope,
		challenge: f.Get("code_challenge"), method: f.Get("code_challenge_method")}
	if code.challenge != "" && code.method == "" {
		code.method = "plain"
	}
	s.mu.Lock()
	code.expires = s.now().Add(oauth2CodeTTL)
	s.oauth2Codes[code.code] = code
	s.mu.Unlock()
	q := url.Values{"code": {code.code}}
	if st := f.Get("state"); st != "" {
		q.Set("state", st)
	}
	http.Redirect(w, r, addQuery(redirect, q), http.StatusFound)
}

func addQuery(raw string, q url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	v := u.Query()
	for k, vs := range q {
		v[k] = vs
	}
	u.RawQuery = v.Encode()
	return u.String()
}

func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, u *user, c *oauth2Client, msg string) {
	var b strings.Builder
	fmt.Fprintf(&b, `<h1>Allow access?</h1><p><b>%s</b> wants to access Jira on your behalf with the scopes <code>%s</code>.</p>`,
		htmlEscape(c.name), htmlEscape(strings.Join(c.scopes, " ")))
	if msg != "" {
		fmt.Fprintf(&b, `<p class="error">%s</p>`, htmlEscape(msg))
	}
	fmt.Fprintf(&b, `<form method="post" action="%s/rest/oauth2/latest/authorize" id="oauth2-consent">`, s.cp)
	_ = r.ParseForm()
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method"} {
		if v := r.Form.Get(k); v != "" {
			fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, k, htmlEscape(v))
		}
	}
	if u == nil {
		b.WriteString(`<p><label>Username <input type="text" name="os_username" id="login-form-username"></label></p>`)
		b.WriteString(`<p><label>Password <input type="password" name="os_password" id="login-form-password"></label></p>`)
	} else {
		fmt.Fprintf(&b, `<p>Logged in as <b>%s</b>.</p>`, htmlEscape(u.displayName))
	}
	b.WriteString(`<p><input type="submit" name="approve" value="Allow" id="approve"> <input type="submit" name="deny" value="Deny" id="deny"></p></form>`)
	s.page(w, http.StatusOK, "Authorize application", b.String())
}

// oauth2TokenEndpoint exchanges codes (with PKCE) and refresh tokens.
// Refreshing rotates both tokens; the old pair stops working at once.
func (s *Server) oauth2TokenEndpoint(w http.ResponseWriter, r *http.Request, _ *user) {
	if err := r.ParseForm(); err != nil {
		oauth2Error(w, http.StatusBadRequest, "invalid_request", "The request body must be form-encoded.")
		return
	}
	f := r.PostForm
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if bid, bsecret, ok := r.BasicAuth(); ok {
		id, secret = bid, bsecret
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.oauth2Clients[id]
	if c == nil || subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) != 1 {
		oauth2Error(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	now := s.now()
	var usr, scope, redirect string
	switch f.Get("grant_type") {
	case "authorization_code":
		code := s.oauth2Codes[f.Get("code")]
		if code == nil || code.client != c.id || now.After(code.expires) {
			oauth2Error(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid or expired.")
			return
		}
		delete(s.oauth2Codes, code.code) // single use
		if f.Get("redirect_uri") != code.redirect {
			oauth2Error(w, http.StatusBadRequest, "invalid_grant", "The redirect_uri does not match the authorization request.")
			return
		}
		if code.challenge != "" {
			v := f.Get("code_verifier")
			want := v
			if code.method == "S256" {
				sum := sha256.Sum256([]byte(v))
				want = base64.RawURLEncoding.EncodeToString(sum[:])
			}
			if v == "" || want != code.challenge {
				oauth2Error(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed.")
				return
			}
		}
		usr, scope, redirect = code.user, code.scope, code.redirect
	case "refresh_token":
		old := s.oauth2Refresh[f.Get("refresh_token")]
		if old == nil || old.client != c.id || now.After(old.refreshExpires) || f.Get("redirect_uri") != old.redirect {
			oauth2Error(w, http.StatusBadRequest, "invalid_grant", "")
			return
		}
		delete(s.oauth2Refresh, old.refresh)
		delete(s.oauth2Access, old.access)
		usr, scope, redirect = old.user, old.scope, old.redirect
	default:
		oauth2Error(w, http.StatusBadRequest, "unsupported_grant_type", "Supported grant types: authorization_code, refresh_token.")
		return
	}
	t := &oauth2Token{access: randomToken(32), refresh: randomToken(32), client: c.id, user: usr, scope: scope, redirect: redirect,
		expires: now.Add(oauth2AccessTTL), refreshExpires: now.Add(oauth2RefreshTTL)}
	s.oauth2Access[t.access] = t
	s.oauth2Refresh[t.refresh] = t
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": t.access, "refresh_token": t.refresh, "token_type": "bearer",
		"expires_in": int(oauth2AccessTTL.Seconds()), "scope": scope})
}
