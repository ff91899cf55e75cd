package asana

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// DefaultOAuthBaseURL is where Asana's OAuth endpoints live.
const DefaultOAuthBaseURL = "https://app.asana.com"

// OAuth2Config returns the x/oauth2 configuration for Asana ("" base means
// DefaultOAuthBaseURL). Use AuthCodeURL(state, oauth2.S256ChallengeOption(v))
// with v from oauth2.GenerateVerifier for PKCE, Exchange(ctx, code,
// oauth2.VerifierOption(v)), and TokenSource for refreshes. Asana keeps the
// refresh token across refreshes; x/oauth2 keeps the old one when a refresh
// answer omits it.
func OAuth2Config(base, clientID, clientSecret, redirectURL string, scopes ...string) (*oauth2.Config, error) {
	if base == "" {
		base = DefaultOAuthBaseURL
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("asana: OAuth base URL %q must be like %s", base, DefaultOAuthBaseURL)
	}
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   u.String() + "/-/oauth_authorize",
			TokenURL:  u.String() + "/-/oauth_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}, nil
}

// RevokeToken revokes a refresh token (and its access tokens) at Asana's
// oauth_revoke endpoint, next to cfg's token URL.
func RevokeToken(ctx context.Context, hc *http.Client, cfg *oauth2.Config, refreshToken string) error {
	revokeURL := strings.TrimSuffix(cfg.Endpoint.TokenURL, "oauth_token") + "oauth_revoke"
	form := url.Values{"client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}, "token": {refreshToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, revokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("asana: revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &Error{Method: http.MethodPost, URL: sanitizeURL(req.URL), Err: stripURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return CheckResponse(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return nil
}
