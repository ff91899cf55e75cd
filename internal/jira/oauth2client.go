package jira

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// CheckOAuth2Client asks Jira Data Center's OAuth 2.0 token endpoint (8.22+)
// whether it knows an incoming link's client id and secret, without a user:
// it exchanges a made-up authorization code. Jira answers invalid_grant (or
// invalid_request) when it knows the client and its secret, and
// invalid_client or 401 when it does not.
//
// It returns nil for a known client and an *Error otherwise: errors.Is
// matches ErrNotFound when Jira has no OAuth 2.0 provider (before 8.22, or
// Server rather than Data Center), ErrUnauthorized when Jira does not know
// the client id and secret; KindNetwork when Jira did not answer. hc carries
// the server's network settings (connect address, CA bundle); its redirects
// are never followed.
func CheckOAuth2Client(ctx context.Context, hc *http.Client, baseURL, clientID, clientSecret, redirectURL string) error {
	cfg, err := OAuth2Config(baseURL, clientID, clientSecret, redirectURL)
	if err != nil {
		return err
	}
	tokenURL, _ := url.Parse(cfg.Endpoint.TokenURL) // built by OAuth2Config from a parsed URL
	_, err = cfg.Exchange(OAuth2Context(ctx, hc, redirectURL), "asanajira-check-"+randomNonce())
	if err == nil {
		return nil // Jira took the made-up code; it certainly knows the client
	}
	e := &Error{Method: http.MethodPost, URL: sanitizeURL(tokenURL)}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		e.Kind, e.Err = KindNetwork, stripURLError(err)
		return e
	}
	e.StatusCode, e.Message = re.Response.StatusCode, re.ErrorCode
	switch {
	case re.ErrorCode == "invalid_grant" || re.ErrorCode == "invalid_request":
		return nil
	case re.ErrorCode == "invalid_client" || re.Response.StatusCode == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
	case re.Response.StatusCode == http.StatusNotFound:
		e.Kind = KindNotFound
	case re.Response.StatusCode >= 500:
		e.Kind = KindServer
	}
	return e
}
