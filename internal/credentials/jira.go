package credentials

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Jira returns a client acting as the Asana user on the Jira server. It
// fails with ErrNotConnected when the user has no credential there and with
// a *ReconnectError (ErrReconnectNeeded) when the credential was rejected
// earlier or cannot be refreshed. An OAuth 2.0 access token that is about
// to expire is refreshed first.
//
// While the client is used, a rejected token marks the credential for
// reconnection (the call itself fails with jira.ErrUnauthorized), and an
// OAuth 2.0 token Jira refuses is refreshed once and the request replayed
// when its body allows.
//
// Without opts the client is kept and handed out again (see clientCache).
func (p *Provider) Jira(ctx context.Context, asanaUserGID, jiraServerID string, opts ...jira.Option) (*jira.Client, error) {
	srv, err := p.st.GetJiraServer(ctx, jiraServerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("credentials: jira server %s: %w", jiraServerID, ErrNotConnected)
	}
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	k := credKey{user: asanaUserGID, server: jiraServerID}
	cred, err := p.st.GetJiraCredential(ctx, asanaUserGID, jiraServerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("credentials: Asana user %s on jira server %s: %w", asanaUserGID, jiraServerID, ErrNotConnected)
	}
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if cred.ReconnectNeeded {
		return nil, jiraReconnect(cred)
	}
	if cred.Method == store.AuthOAuth2 && !p.fresh(cred.Expiry) {
		if cred, err = p.refreshJira(ctx, srv, k, cred.AccessToken, false); err != nil {
			return nil, err
		}
	}
	if len(opts) == 0 {
		if c := p.clients.get(k, srv, cred); c != nil {
			return c, nil
		}
	}
	rt, err := p.jiraRoundTripper(srv, cred, true)
	if err != nil {
		return nil, err
	}
	c, err := jira.New(srv.BaseURL, jira.NewHTTPClient(rt, p.jiraTimeout), append([]jira.Option{jira.WithRetryPolicy(p.jiraRetry)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if len(opts) == 0 {
		p.clients.put(k, srv, cred, c)
	}
	return c, nil
}

// CheckJira calls Jira's myself with a credential that is not stored yet
// and returns who Jira says it is, so a connection is saved only once it
// works. Nothing is persisted or marked.
func (p *Provider) CheckJira(ctx context.Context, srv store.JiraServer, cred store.JiraCredential) (*jira.User, error) {
	rt, err := p.jiraRoundTripper(srv, cred, false)
	if err != nil {
		return nil, err
	}
	c, err := jira.New(srv.BaseURL, jira.NewHTTPClient(rt, p.refreshTimeout), jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	me, err := c.Myself(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials: check the Jira credential: %w", err)
	}
	return me, nil
}

func (p *Provider) jiraRoundTripper(srv store.JiraServer, cred store.JiraCredential, persist bool) (http.RoundTripper, error) {
	base, err := p.baseTransport(srv)
	if err != nil {
		return nil, err
	}
	conn := &jiraConn{p: p, srv: srv, key: credKey{user: cred.AsanaUserGID, server: srv.ID}, base: base, cred: cred, persist: persist}
	switch cred.Method {
	case store.AuthOAuth1:
		if conn.signer, err = p.JiraSigner(srv); err != nil {
			return nil, err
		}
	case store.AuthOAuth2, store.AuthPAT:
	default:
		return nil, fmt.Errorf("credentials: unknown Jira auth method %q", cred.Method)
	}
	return conn, nil
}

// jiraConn authenticates requests with one stored credential and reacts to
// Jira rejecting it.
type jiraConn struct {
	p       *Provider
	srv     store.JiraServer
	key     credKey
	base    http.RoundTripper
	signer  *jira.OAuth1Signer
	persist bool // false while checking a credential not stored yet

	mu   sync.Mutex
	cred store.JiraCredential
}

// RoundTrip implements http.RoundTripper.
func (c *jiraConn) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	cred, err := c.current(ctx)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	resp, err := c.send(req, cred)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !c.persist {
		return resp, err
	}
	reason, rejected := jiraRejection(resp)
	if !rejected {
		return resp, nil
	}
	// Marking and refreshing must finish even when the caller gives up.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.p.refreshTimeout+5*time.Second)
	defer cancel()
	if cred.Method != store.AuthOAuth2 {
		c.p.markJira(mctx, c.key, reason)
		return resp, nil
	}
	// An OAuth 2.0 access token may have been rotated by another replica's
	// refresh, or revoked with its refresh token still good: refresh (or
	// pick up the stored token) and replay once.
	next, err := c.p.refreshJira(mctx, c.srv, c.key, cred.AccessToken, true)
	if err != nil {
		return resp, nil // refreshJira marked the credential when Jira refused the refresh
	}
	c.set(next)
	r2, ok := rewind(req)
	if !ok {
		return resp, nil
	}
	drain(resp)
	resp, err = c.send(r2, next)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if reason, rejected := jiraRejection(resp); rejected {
		c.p.markJira(mctx, c.key, reason)
	}
	return resp, nil
}

func (c *jiraConn) current(ctx context.Context) (store.JiraCredential, error) {
	c.mu.Lock()
	cred := c.cred
	c.mu.Unlock()
	if cred.Method != store.AuthOAuth2 || !c.persist || c.p.fresh(cred.Expiry) {
		return cred, nil
	}
	next, err := c.p.refreshJira(ctx, c.srv, c.key, cred.AccessToken, false)
	if err != nil {
		return store.JiraCredential{}, err
	}
	c.set(next)
	return next, nil
}

func (c *jiraConn) set(cred store.JiraCredential) {
	c.mu.Lock()
	c.cred = cred
	c.mu.Unlock()
}

func (c *jiraConn) send(req *http.Request, cred store.JiraCredential) (*http.Response, error) {
	if cred.Method == store.AuthOAuth1 {
		t := &jira.OAuth1Transport{Signer: c.signer, Token: cred.AccessToken.Reveal(), Base: c.base}
		return t.RoundTrip(req)
	}
	t := &jira.BearerTransport{Token: cred.AccessToken.Reveal(), Base: c.base}
	return t.RoundTrip(req)
}

// jiraRejection reports whether a 401 means the user's token is no good
// (as opposed to an SSO page, a CAPTCHA lock or an application-link problem
// the administrator must fix, which reconnecting would not cure), and why.
// It reads the body and puts it back.
func jiraRejection(resp *http.Response) (string, bool) {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	cp := *resp
	cp.Body = io.NopCloser(bytes.NewReader(b))
	e := jira.CheckResponse(&cp)
	switch e.Kind {
	case jira.KindUnauthorized:
		return "Jira answered 401 Unauthorized to the stored token", true
	case jira.KindOAuth:
		switch e.OAuthProblem {
		case "token_rejected", "token_expired", "token_revoked", "permission_unknown":
			return "Jira rejected the OAuth token (oauth_problem=" + e.OAuthProblem + ")", true
		}
	}
	return "", false
}

// refreshJira returns a usable OAuth 2.0 credential, refreshing it unless
// someone else already did. used is the access token the caller had; when
// the stored token differs and is fresh, it is returned without a refresh.
// force refreshes even a token that looks fresh (Jira refused it).
func (p *Provider) refreshJira(ctx context.Context, srv store.JiraServer, k credKey, used store.Secret, force bool) (store.JiraCredential, error) {
	var (
		out    store.JiraCredential
		result error
	)
	err := p.withCredentialLock(ctx, k, func(q store.Queries) error {
		c, err := q.GetJiraCredential(ctx, k.user, k.server)
		if errors.Is(err, store.ErrNotFound) {
			result = fmt.Errorf("credentials: Asana user %s on jira server %s: %w", k.user, k.server, ErrNotConnected)
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case c.ReconnectNeeded:
			result = jiraReconnect(c)
			return nil
		case c.Method != store.AuthOAuth2:
			out = c
			return nil
		case c.AccessToken != used && p.fresh(c.Expiry):
			out = c // refreshed meanwhile, here or by another replica
			return nil
		case !force && p.fresh(c.Expiry):
			out = c
			return nil
		}
		tok, err := p.refreshJiraToken(ctx, srv, c.RefreshToken.Reveal())
		if err != nil {
			if !refreshRejected(err) {
				result = fmt.Errorf("credentials: refresh the Jira OAuth 2.0 token of Asana user %s on server %s: %w", k.user, k.server, err)
				return nil
			}
			reason := "Jira refused the refresh token (" + oauthErrorCode(err) + ")"
			if err := q.MarkJiraCredentialReconnect(ctx, k.user, k.server, reason); err != nil {
				return err
			}
			p.logReconnect(ctx, "jira", k, reason)
			c.ReconnectNeeded, c.ReconnectReason = true, reason
			result = jiraReconnect(c)
			return nil
		}
		c.AccessToken = store.Secret(tok.AccessToken)
		if tok.RefreshToken != "" {
			c.RefreshToken = store.Secret(tok.RefreshToken)
		}
		c.Expiry = tok.Expiry
		if err := q.PutJiraCredential(ctx, c); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return store.JiraCredential{}, fmt.Errorf("credentials: refresh Jira credential: %w", err)
	}
	return out, result
}

func (p *Provider) refreshJiraToken(ctx context.Context, srv store.JiraServer, refreshToken string) (*oauth2.Token, error) {
	if refreshToken == "" {
		return nil, &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "no refresh token stored"}
	}
	cfg, err := p.JiraOAuth2Config(srv)
	if err != nil {
		return nil, err
	}
	octx, err := p.JiraOAuth2Context(ctx, srv)
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(octx, p.refreshTimeout)
	defer cancel()
	// An empty access token makes the source refresh at once.
	return cfg.TokenSource(octx, &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// refreshRejected reports whether the token endpoint refused the refresh
// token itself (revoked, expired, already rotated), which only a new
// authorization cures. Other failures (network, invalid_client after an
// administrator changed the link) leave the credential alone.
func refreshRejected(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return re.ErrorCode
	}
	return "refused"
}

func (p *Provider) markJira(ctx context.Context, k credKey, reason string) {
	m := p.lockFor(k)
	m.Lock()
	defer m.Unlock()
	if err := p.st.MarkJiraCredentialReconnect(ctx, k.user, k.server, reason); err != nil && !errors.Is(err, store.ErrNotFound) {
		p.log.LogAttrs(ctx, slog.LevelError, "cannot mark Jira credential for reconnection",
			slog.String("asana_user", k.user), slog.String("jira_server", k.server), slog.Any("error", err))
		return
	}
	p.logReconnect(ctx, "jira", k, reason)
}

func (p *Provider) logReconnect(ctx context.Context, service string, k credKey, reason string) {
	attrs := []slog.Attr{slog.String("service", service), slog.String("asana_user", k.user), slog.String("reason", reason)}
	if k.server != "" {
		attrs = append(attrs, slog.String("jira_server", k.server))
	}
	p.log.LogAttrs(ctx, slog.LevelWarn, "credential rejected; the user must connect again", attrs...)
}

func jiraReconnect(c store.JiraCredential) error {
	return &ReconnectError{Service: "jira", AsanaUserGID: c.AsanaUserGID, JiraServerID: c.JiraServerID, Reason: c.ReconnectReason}
}

// rewind returns a copy of req with a fresh body, when the body can be
// replayed.
func rewind(req *http.Request) (*http.Request, bool) {
	r2 := req.Clone(req.Context())
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		return r2, true
	case req.GetBody != nil:
		b, err := req.GetBody()
		if err != nil {
			return nil, false
		}
		r2.Body = b
		return r2, true
	}
	return nil, false
}

// drain discards a response that is being replaced.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
}
