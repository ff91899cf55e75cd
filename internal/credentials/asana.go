package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Asana returns a client acting as the Asana user with the OAuth token they
// gave asanajira. It fails with ErrNotConnected when the user never
// authorized (or disconnected) and with a *ReconnectError when Asana
// rejected the token. An access token about to expire is refreshed first;
// a 401 while the client is used refreshes once and replays the request,
// and marks the user for reconnection when Asana refuses the refresh.
//
// Clients of one user share a rate limiter, since Asana's quotas are per
// token.
func (p *Provider) Asana(ctx context.Context, asanaUserGID string, opts ...asana.Option) (*asana.Client, error) {
	u, err := p.st.GetAsanaUser(ctx, asanaUserGID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.AccessToken == "" && !u.ReconnectNeeded) {
		return nil, fmt.Errorf("credentials: Asana user %s: %w", asanaUserGID, ErrNotConnected)
	}
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if u.ReconnectNeeded {
		return nil, asanaReconnect(u.GID, "")
	}
	if !p.fresh(u.Expiry) {
		if u, err = p.refreshAsana(ctx, asanaUserGID, u.AccessToken, false); err != nil {
			return nil, err
		}
	}
	conn := &asanaConn{p: p, gid: asanaUserGID, base: p.hc.Transport, user: u}
	if conn.base == nil {
		conn.base = http.DefaultTransport
	}
	// The call's bound is a deadline on its context (the transport of
	// jira.NewHTTPClient) rather than http.Client.Timeout, which, for a
	// transport net/http does not know, as this one, starts two goroutines
	// and a timer for every call. Redirects are followed as the provider's
	// client follows them.
	hc := jira.NewHTTPClient(conn, p.hc.Timeout)
	hc.CheckRedirect, hc.Jar = p.hc.CheckRedirect, p.hc.Jar
	opts = append([]asana.Option{asana.WithLimiter(p.limiter(asanaUserGID))}, opts...)
	c, err := asana.New(p.asanaAPI, hc, opts...)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return c, nil
}

func (p *Provider) limiter(gid string) *asana.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.limiters[gid]
	if l == nil {
		l = asana.NewLimiter(asana.LimiterOptions{})
		p.limiters[gid] = l
	}
	return l
}

// asanaConn authenticates requests as one Asana user.
type asanaConn struct {
	p    *Provider
	gid  string
	base http.RoundTripper

	mu   sync.Mutex
	user store.AsanaUser
}

// RoundTrip implements http.RoundTripper.
func (c *asanaConn) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	u, err := c.current(ctx)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	resp, err := c.send(req, u)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.p.refreshTimeout+5*time.Second)
	defer cancel()
	next, err := c.p.refreshAsana(mctx, c.gid, u.AccessToken, true)
	if err != nil {
		return resp, nil // refreshAsana marked the user when Asana refused the refresh
	}
	c.set(next)
	r2, ok := rewind(req)
	if !ok {
		return resp, nil
	}
	drain(resp)
	resp, err = c.send(r2, next)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		c.p.markAsana(mctx, c.gid, "Asana answered 401 Unauthorized to a freshly refreshed token")
	}
	return resp, err
}

func (c *asanaConn) current(ctx context.Context) (store.AsanaUser, error) {
	c.mu.Lock()
	u := c.user
	c.mu.Unlock()
	if c.p.fresh(u.Expiry) {
		return u, nil
	}
	next, err := c.p.refreshAsana(ctx, c.gid, u.AccessToken, false)
	if err != nil {
		return store.AsanaUser{}, err
	}
	c.set(next)
	return next, nil
}

func (c *asanaConn) set(u store.AsanaUser) {
	c.mu.Lock()
	c.user = u
	c.mu.Unlock()
}

func (c *asanaConn) send(req *http.Request, u store.AsanaUser) (*http.Response, error) {
	t := &asana.BearerTransport{Token: u.AccessToken.Reveal(), Base: c.base}
	return t.RoundTrip(req)
}

// refreshAsana returns a usable Asana token for the user, refreshing it
// unless someone else already did (see refreshJira). The user is read
// again under the lock, not from the store's ConfigCache: on PostgreSQL in
// the transaction, whose GetAsanaUser locks the row, so of two replicas
// refreshing at once one refreshes and the other uses its tokens (were
// Asana to rotate refresh tokens, a second refresh with the old one would
// fail and mark the user); on SQLite, where this process is the only
// writer, every write of the user dropped its cached entry.
func (p *Provider) refreshAsana(ctx context.Context, gid string, used store.Secret, force bool) (store.AsanaUser, error) {
	k := credKey{user: gid}
	var (
		out    store.AsanaUser
		result error
	)
	err := p.withCredentialLock(ctx, k, func(q store.Queries) error {
		u, err := q.GetAsanaUser(ctx, gid)
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.AccessToken == "" && !u.ReconnectNeeded) {
			// Disconnected, perhaps on another replica since this one
			// read the user: nothing to refresh, and nothing to mark.
			result = fmt.Errorf("credentials: Asana user %s: %w", gid, ErrNotConnected)
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case u.ReconnectNeeded:
			result = asanaReconnect(gid, "")
			return nil
		case u.AccessToken != used && p.fresh(u.Expiry):
			out = u
			return nil
		case !force && p.fresh(u.Expiry):
			out = u
			return nil
		}
		var tok *oauth2.Token
		if u.RefreshToken == "" {
			err = &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "no refresh token stored"}
		} else {
			rctx, cancel := context.WithTimeout(p.AsanaOAuth2Context(ctx), p.refreshTimeout)
			tok, err = p.asanaOAuth.TokenSource(rctx, &oauth2.Token{RefreshToken: u.RefreshToken.Reveal()}).Token()
			cancel()
		}
		if err != nil {
			if !refreshRejected(err) {
				result = fmt.Errorf("credentials: refresh the Asana token of user %s: %w", gid, err)
				return nil
			}
			reason := "Asana refused the refresh token (" + oauthErrorCode(err) + ")"
			u.ReconnectNeeded = true
			if err := q.PutAsanaUser(ctx, u); err != nil {
				return err
			}
			p.logReconnect(ctx, "asana", k, reason)
			result = asanaReconnect(gid, reason)
			return nil
		}
		u.AccessToken = store.Secret(tok.AccessToken)
		if tok.RefreshToken != "" {
			u.RefreshToken = store.Secret(tok.RefreshToken)
		}
		u.Expiry = tok.Expiry
		if err := q.PutAsanaUser(ctx, u); err != nil {
			return err
		}
		out = u
		return nil
	})
	if err != nil {
		return store.AsanaUser{}, fmt.Errorf("credentials: refresh Asana credential: %w", err)
	}
	return out, result
}

// markAsana flags the user for reconnection.
func (p *Provider) markAsana(ctx context.Context, gid, reason string) {
	k := credKey{user: gid}
	err := p.withCredentialLock(ctx, k, func(q store.Queries) error {
		u, err := q.GetAsanaUser(ctx, gid)
		if err != nil {
			return err
		}
		u.ReconnectNeeded = true
		return q.PutAsanaUser(ctx, u)
	})
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelError, "cannot mark Asana user for reconnection", slog.String("asana_user", gid), slog.Any("error", err))
		return
	}
	p.logReconnect(ctx, "asana", k, reason)
}

func asanaReconnect(gid, reason string) error {
	return &ReconnectError{Service: "asana", AsanaUserGID: gid, Reason: reason}
}
