package admin

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/asanajira/asanajira/internal/setup"
)

// Cookie names. The session cookie is scoped to /admin so no other part of
// asanajira ever receives it.
const (
	sessionCookie = "asanajira_admin"
	stateCookie   = "asanajira_admin_state"
	flashCookie   = "asanajira_admin_flash"
	// sessionPurpose separates session cookies from any other value sealed
	// with the same keyring: a sealed token copied from the database is not
	// a session.
	sessionPurpose = "asanajira-admin-session/v1"
)

// session is a signed-in admin. It lives in a cookie sealed (AES-256-GCM,
// authenticated) with the app's keyring rather than in a table: it survives
// restarts and is shared by every replica without a lookup per request.
// The price is that signing out deletes the cookie in that browser only; a
// copied cookie stays valid until it expires (SessionTTL, 12 hours).
type session struct {
	Purpose string `json:"p"`
	GID     string `json:"g"`
	Name    string `json:"n"`
	Email   string `json:"e,omitempty"`
	// Bootstrap marks a bootstrap session without Asana sign-in (no Asana
	// app configured): it has no GID and lasts while there is no admin.
	Bootstrap bool   `json:"b,omitempty"`
	CSRF      string `json:"c"`
	Expires   int64  `json:"x"`
	// AsanaToken is the admin's Asana access token from sign-in, used only
	// to read Asana for the admin (asana.go); AsanaRefresh renews it and
	// AsanaExpiry (Unix seconds, 0 unknown) says when it ends. The cookie
	// is sealed, so the browser cannot read them.
	AsanaToken   string `json:"t,omitempty"`
	AsanaRefresh string `json:"r,omitempty"`
	AsanaExpiry  int64  `json:"te,omitempty"`
}

// actor is the admin as the audit log names them.
func (s *session) actor() setup.Actor { return setup.AdminActor(s.Name, s.GID) }

// checkCSRF compares a submitted token with the session's in constant time.
func (s *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// startSession seals s into the session cookie as a new session.
func (c *base) startSession(w http.ResponseWriter, s session) error {
	s.Purpose = sessionPurpose
	s.CSRF = randomToken(32)
	s.Expires = c.now().Add(c.d.SessionTTL).Unix()
	return c.saveSession(w, s)
}

// saveSession seals s into the session cookie as it is: an existing
// session keeps its CSRF token and its end.
func (c *base) saveSession(w http.ResponseWriter, s session) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	sealed, err := c.d.Sealer.Seal(raw)
	if err != nil {
		return err
	}
	c.setCookie(w, sessionCookie, base64.RawURLEncoding.EncodeToString(sealed), "/admin", int(max(s.Expires-c.now().Unix(), 1)))
	return nil
}

// readSession returns the request's valid session, or nil.
func (c *base) readSession(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil
	}
	raw, err := c.d.Sealer.Open(sealed)
	if err != nil {
		return nil
	}
	var s session
	if json.Unmarshal(raw, &s) != nil || s.Purpose != sessionPurpose || s.CSRF == "" {
		return nil
	}
	if c.now().Unix() >= s.Expires {
		return nil
	}
	return &s
}

func (c *base) clearSession(w http.ResponseWriter) {
	c.setCookie(w, sessionCookie, "", "/admin", -1)
}

// setCookie sets every console cookie: HttpOnly, SameSite=Lax (the Asana
// sign-in returns by a cross-site redirect, which Strict would strip), and
// Secure when asanajira is served over https.
func (c *base) setCookie(w http.ResponseWriter, name, value, path string, maxAge int) {
	//nolint:gosec // G124: Secure follows the public URL's scheme; a browser drops Secure cookies from an http:// demo bridge.
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
}
