package admin

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"golang.org/x/oauth2"
)

// The console reads Asana as the signed-in admin, with the token of their
// Asana sign-in: the workspaces and projects its pickers list by name. The
// token lives in the sealed session cookie with its refresh token; an
// access token about to expire (Asana's last an hour) is refreshed before
// a read, and the cookie carries the new one from then on.

// errNoAsanaSignin: the session did not start with Asana sign-in (a
// bootstrap session), so there is no token to read Asana with.
var errNoAsanaSignin = errors.New("admin: the session has no Asana sign-in")

// asanaAs returns an Asana client acting as the signed-in admin.
func (c *base) asanaAs(w http.ResponseWriter, r *http.Request, s *session) (*asana.Client, error) {
	if s.AsanaToken == "" {
		return nil, errNoAsanaSignin
	}
	if s.AsanaRefresh != "" && s.AsanaExpiry != 0 && !c.now().Add(time.Minute).Before(time.Unix(s.AsanaExpiry, 0)) {
		cfg, err := c.oauthConfig()
		if err != nil {
			return nil, err
		}
		ctx := context.WithValue(r.Context(), oauth2.HTTPClient, c.hc)
		tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: s.AsanaRefresh}).Token()
		if err != nil {
			return nil, &asana.Error{Method: http.MethodPost, URL: cfg.Endpoint.TokenURL, StatusCode: http.StatusUnauthorized, Err: err}
		}
		s.AsanaToken, s.AsanaExpiry = tok.AccessToken, c.expiryOf(tok)
		if tok.RefreshToken != "" {
			s.AsanaRefresh = tok.RefreshToken
		}
		if err := c.saveSession(w, *s); err != nil {
			return nil, err
		}
	}
	return c.asanaClient(s.AsanaToken), nil
}

// expiryOf is when an access token expires by the console's clock, in
// Unix seconds; 0 when Asana did not say.
func (c *base) expiryOf(tok *oauth2.Token) int64 {
	switch {
	case tok.ExpiresIn > 0:
		return c.now().Add(time.Duration(tok.ExpiresIn) * time.Second).Unix()
	case !tok.Expiry.IsZero():
		return tok.Expiry.Unix()
	}
	return 0
}

// asanaProblem says in a sentence why Asana could not be read, and what
// to do about it.
func asanaProblem(err error) string {
	var ae *asana.Error
	switch {
	case errors.Is(err, errNoAsanaSignin):
		return "This session did not sign in with Asana (it came from a bootstrap link), so the console cannot read Asana for you. Enter the gid below, or sign in with Asana."
	case errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized:
		return "Asana no longer accepts this session's sign-in. Sign out and sign in again to pick from Asana, or enter the gid below."
	case errors.As(err, &ae) && ae.StatusCode == 0:
		return "asanajira could not reach Asana. Try again in a moment, or enter the gid below."
	case errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound:
		return "Asana does not show you this workspace: sign in with an Asana account that belongs to it, or enter the gid below."
	}
	return "Asana did not answer as expected. Try again in a moment, or enter the gid below."
}
