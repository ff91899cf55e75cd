package jira

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// sessionCookie is the cookie of the web UI session, named as in Tomcat.
const sessionCookie = "JSESSIONID"

// authenticate resolves the caller of r. It returns ok=false when it has
// already answered (bad credentials, OAuth problem, disabled basic auth).
// A nil user with ok=true is an anonymous caller.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*user, bool) {
	authz := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(authz, " ")
	var u *user
	switch {
	case strings.EqualFold(scheme, "Basic"):
		var ok bool
		if u, ok = s.basicAuth(w, r); !ok {
			return nil, false
		}
	case strings.EqualFold(scheme, "Bearer"):
		var ok bool
		if u, ok = s.bearerAuth(w, strings.TrimSpace(cred)); !ok {
			return nil, false
		}
	case strings.EqualFold(scheme, "OAuth"):
		var ok bool
		if u, ok = s.oauth1Auth(w, r); !ok {
			return nil, false
		}
	default:
		u = s.sessionUser(r)
	}
	s.setUser(w, u)
	return u, true
}

func (s *Server) sessionUser(r *http.Request) *user {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name, ok := s.sessions[c.Value]
	if !ok {
		return nil
	}
	return s.userByName(name)
}

func (s *Server) captchaAfter() int {
	if s.opts.CaptchaAfter > 0 {
		return s.opts.CaptchaAfter
	}
	return 3
}

func (s *Server) basicAuth(w http.ResponseWriter, r *http.Request) (*user, bool) {
	name, pass, ok := r.BasicAuth()
	if s.opts.DisableBasicAuth && s.prof.hasBasicAuthToggle() && strings.HasPrefix(r.URL.Path, s.cp+"/rest/") {
		s.setUser(w, nil)
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Basic Authentication has been disabled on this instance."})
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(name)
	if ok && u != nil && s.loginFailures[u.name] >= s.captchaAfter() {
		// Jira then refuses even the right password until a web login.
		w.Header().Set("X-Seraph-LoginReason", "AUTHENTICATION_DENIED")
		w.Header().Set("X-Authentication-Denied-Reason", "CAPTCHA_CHALLENGE; login-url="+s.baseURL(r)+"/login.jsp")
		s.setUser(w, nil)
		s.writeErrors(w, http.StatusForbidden, []string{"CAPTCHA_CHALLENGE"}, nil)
		return nil, false
	}
	if !ok || u == nil || u.password != pass {
		if u != nil {
			s.loginFailures[u.name]++
		}
		w.Header().Set("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
		w.Header().Set("WWW-Authenticate", `Basic realm="protected-area"`)
		s.setUser(w, nil)
		s.writeErrors(w, http.StatusUnauthorized, []string{"You are not authenticated. Authentication required to perform this operation."}, nil)
		return nil, false
	}
	s.loginFailures[u.name] = 0
	w.Header().Set("X-Seraph-LoginReason", "OK")
	return u, true
}

// bearerAuth accepts personal access tokens (8.14+) and OAuth 2.0 access
// tokens (8.22+). Older releases do not know the scheme and treat the
// request as anonymous.
func (s *Server) bearerAuth(w http.ResponseWriter, token string) (*user, bool) {
	if !s.prof.hasPAT() {
		return nil, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if p, ok := s.pats[token]; ok && (p.expires.IsZero() || now.Before(p.expires)) {
		p.lastAccessed = now
		return s.userByName(p.user), true
	}
	if s.prof.hasOAuth2() {
		if t, ok := s.oauth2Access[token]; ok && now.Before(t.expires) {
			return s.userByName(t.user), true
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="`+s.baseURL(nil)+`"`)
	s.setUser(w, nil)
	s.writeErrors(w, http.StatusUnauthorized, []string{"You are not authenticated. Authentication required to perform this operation."}, nil)
	return nil, false
}

// randomToken returns n random bytes, hex-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// alnumToken returns an opaque token of n alphanumeric characters, the
// shape of Jira's OAuth tokens.
func alnumToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// ---- personal access tokens ----

type pat struct {
	id           int
	name         string
	user         string
	raw          string
	created      time.Time
	expires      time.Time
	lastAccessed time.Time
}

func (s *Server) patRoutes() {
	s.route("POST /rest/pat/latest/tokens", loggedIn, profile.hasPAT, s.createPAT)
	s.route("GET /rest/pat/latest/tokens", loggedIn, profile.hasPAT, s.listPATs)
	s.route("DELETE /rest/pat/latest/tokens/{id}", loggedIn, profile.hasPAT, s.deletePAT)
}

// newPAT mints a token shaped like Jira's: base64 of "<12-digit id>:<random>".
// Callers hold s.mu.
func (s *Server) newPAT(username, name string, days int) *pat {
	id := s.nextPATID
	s.nextPATID++
	rnd := make([]byte, 20)
	_, _ = rand.Read(rnd)
	raw := base64.StdEncoding.EncodeToString(append([]byte(fmt.Sprintf("%012d:", id)), rnd...))
	p := &pat{id: id, name: name, user: username, raw: raw, created: s.now()}
	if days > 0 {
		p.expires = p.created.Add(time.Duration(days) * 24 * time.Hour)
	}
	s.pats[raw] = p
	return p
}

func patJSON(p *pat, withRaw bool) map[string]any {
	m := map[string]any{"id": p.id, "name": p.name, "createdAt": fmtTime(p.created)}
	if !p.expires.IsZero() {
		m["expiringAt"] = fmtTime(p.expires)
	}
	if !p.lastAccessed.IsZero() {
		m["lastAccessedAt"] = fmtTime(p.lastAccessed)
	}
	if withRaw {
		m["rawToken"] = p.raw
	}
	return m
}

func (s *Server) createPAT(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		Name               string `json:"name"`
		ExpirationDuration int    `json:"expirationDuration"`
	}
	if err := decodeBody(r, &body); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	if body.Name == "" {
		s.writeErrors(w, http.StatusBadRequest, []string{"Token name is required."}, nil)
		return
	}
	s.mu.Lock()
	p := s.newPAT(u.name, body.Name, body.ExpirationDuration)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, patJSON(p, true))
}

func (s *Server) listPATs(w http.ResponseWriter, _ *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for id := 1; id < s.nextPATID; id++ {
		for _, p := range s.pats {
			if p.id == id && p.user == u.name {
				out = append(out, patJSON(p, false))
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deletePAT(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for raw, p := range s.pats {
		if itoa(p.id) == r.PathValue("id") && (p.user == u.name || u.admin) {
			delete(s.pats, raw)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	s.writeErrors(w, http.StatusNotFound, []string{"Token not found."}, nil)
}

// CreatePAT mints a personal access token for username, as the user would
// in their profile, and returns the raw token. It fails on releases before
// 8.14 and for unknown users.
func (s *Server) CreatePAT(username, name string) (string, error) {
	if !s.prof.hasPAT() {
		return "", fmt.Errorf("jira emulator: Jira %s has no personal access tokens (8.14+)", s.prof.version)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByName(username)
	if u == nil {
		return "", fmt.Errorf("jira emulator: no user %q", username)
	}
	return s.newPAT(u.name, name, 0).raw, nil
}

// RevokeAccessToken revokes a token of any kind (PAT, OAuth 1.0a access
// token, OAuth 2.0 access or refresh token). It reports whether it existed.
func (s *Server) RevokeAccessToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	if _, ok := s.pats[token]; ok {
		delete(s.pats, token)
		found = true
	}
	if _, ok := s.accessTokens[token]; ok {
		delete(s.accessTokens, token)
		found = true
	}
	if t, ok := s.oauth2Access[token]; ok {
		delete(s.oauth2Access, token)
		delete(s.oauth2Refresh, t.refresh)
		found = true
	}
	if t, ok := s.oauth2Refresh[token]; ok {
		delete(s.oauth2Refresh, token)
		delete(s.oauth2Access, t.access)
		found = true
	}
	return found
}

// ---- web sessions ----

// login checks a username and password from a web form; a success clears
// the CAPTCHA counter like a real web login. Callers hold s.mu.
func (s *Server) login(name, pass string) *user {
	u := s.userByName(name)
	if u == nil || u.password != pass {
		if u != nil {
			s.loginFailures[u.name]++
		}
		return nil
	}
	s.loginFailures[u.name] = 0
	return u
}

// startSession sets the session cookie for u. Callers hold s.mu.
func (s *Server) startSession(w http.ResponseWriter, u *user) {
	id := randomToken(16)
	s.sessions[id] = u.name
	path := s.cp
	if path == "" {
		path = "/"
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: path, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
