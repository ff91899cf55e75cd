// Package credentials owns turning a stored credential into an authenticated
// client: a *jira.Client acting as one Asana user on one Jira server (OAuth
// 1.0a, OAuth 2.0 or a personal access token) and an *asana.Client acting as
// one Asana user (OAuth 2.0).
//
// OAuth 2.0 access tokens are refreshed here and the new tokens persisted
// before use. Refreshes of one credential are serialised: a mutex per
// credential inside the process and, on PostgreSQL, the credential's row
// lock (store.Tx.GetJiraCredential and store.Tx.GetAsanaUser take it FOR
// UPDATE) held across the refresh call, so two replicas sharing one
// database refresh once and the loser reads the winner's tokens. This matters because Jira Data Center
// rotates refresh tokens: a second refresh with the old one would fail and
// disconnect the user.
//
// A token Jira or Asana rejects (401, oauth_problem=token_rejected, a refresh
// answered invalid_grant) marks the credential "reconnect needed" so that
// callers get ErrReconnectNeeded at once instead of failing the same way on
// every request until the user connects again.
package credentials

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
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

// ErrNotConnected is returned when the Asana user has no credential for the
// Jira server (or has never authorized asanajira in Asana).
var ErrNotConnected = errors.New("credentials: not connected")

// ErrReconnectNeeded is returned when the stored credential was rejected
// (revoked, expired, the application link changed) and the user must
// authorize again. Match it with errors.Is; the error is a *ReconnectError.
var ErrReconnectNeeded = errors.New("credentials: reconnect needed")

// ReconnectError says which credential must be authorized again and why.
type ReconnectError struct {
	// Service is "jira" or "asana".
	Service      string
	AsanaUserGID string
	// JiraServerID is empty for an Asana credential.
	JiraServerID string
	// Reason is what the server said when it rejected the credential.
	Reason string
}

// Error implements error.
func (e *ReconnectError) Error() string {
	what := "the Asana account"
	if e.Service == "jira" {
		what = "the Jira account on server " + e.JiraServerID
	}
	msg := "credentials: " + what + " must be connected again"
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrReconnectNeeded) true.
func (e *ReconnectError) Is(target error) bool { return target == ErrReconnectNeeded }

// Options configure a Provider.
type Options struct {
	// Store holds the credentials; required.
	Store store.Store
	// AsanaOAuthURL is where Asana's OAuth endpoints live ("" means
	// https://app.asana.com); AsanaAPIURL is the REST base ("" means
	// https://app.asana.com/api/1.0).
	AsanaOAuthURL string
	AsanaAPIURL   string
	// AsanaClientID, AsanaClientSecret and AsanaRedirectURL are the Asana
	// app's OAuth client, for refreshing Asana tokens.
	AsanaClientID     string
	AsanaClientSecret string
	AsanaRedirectURL  string
	// JiraOAuth2RedirectURL is the redirect URL used when users authorized
	// with Jira OAuth 2.0; Jira Data Center wants it again on every refresh.
	JiraOAuth2RedirectURL string
	// HTTPClient makes the calls to Asana (API and token endpoint); nil
	// means a client with a 60-second timeout.
	HTTPClient *http.Client
	// JiraTimeout bounds each Jira call of the clients handed out; 0 means
	// 60 seconds. Callers that upload large files pass a context deadline.
	JiraTimeout time.Duration
	// JiraRetryPolicy is the retry policy of the clients Jira hands out; the
	// zero value means jira.DefaultRetryPolicy.
	JiraRetryPolicy jira.RetryPolicy
	// RefreshTimeout bounds one token refresh call; 0 means 20 seconds.
	RefreshTimeout time.Duration
	// Now is the clock that decides whether an access token is still
	// fresh; nil means time.Now.
	Now func() time.Time
	// Log receives one line per credential marked for reconnection; nil
	// discards.
	Log *slog.Logger
}

// Provider hands out authenticated clients for stored credentials. It is
// safe for concurrent use; make one per process.
type Provider struct {
	st             store.Store
	asanaOAuth     *oauth2.Config
	asanaAPI       string
	jiraRedirect   string
	hc             *http.Client
	jiraTimeout    time.Duration
	jiraRetry      jira.RetryPolicy
	refreshTimeout time.Duration
	clients        clientCache
	now            func() time.Time
	log            *slog.Logger

	mu         sync.Mutex
	locks      map[credKey]*sync.Mutex
	transports map[transportKey]*http.Transport
	limiters   map[string]*asana.Limiter
	// keys holds parsed application link private keys by their PEM text:
	// parsing one took longer than signing with it, on every OAuth 1.0a
	// request.
	keys map[string]*rsa.PrivateKey
}

type credKey struct {
	user   string
	server string // "" for the Asana credential
}

// transportKey names a transport by everything it is built from, so an
// edited server (a new connect address, a new CA bundle) gets a new one.
type transportKey struct {
	id, baseURL, connectAddress, caBundle string
}

// refreshLeeway is how long before its expiry an access token is refreshed,
// so a token does not expire between the check and Jira's or Asana's check.
const refreshLeeway = time.Minute

// New returns a Provider.
func New(opts Options) (*Provider, error) {
	if opts.Store == nil {
		return nil, errors.New("credentials: a store is required")
	}
	cfg, err := asana.OAuth2Config(opts.AsanaOAuthURL, opts.AsanaClientID, opts.AsanaClientSecret, opts.AsanaRedirectURL)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	p := &Provider{
		st:             opts.Store,
		asanaOAuth:     cfg,
		asanaAPI:       opts.AsanaAPIURL,
		jiraRedirect:   opts.JiraOAuth2RedirectURL,
		hc:             opts.HTTPClient,
		jiraTimeout:    opts.JiraTimeout,
		jiraRetry:      opts.JiraRetryPolicy,
		refreshTimeout: opts.RefreshTimeout,
		now:            opts.Now,
		log:            opts.Log,
		locks:          map[credKey]*sync.Mutex{},
		transports:     map[transportKey]*http.Transport{},
		limiters:       map[string]*asana.Limiter{},
		keys:           map[string]*rsa.PrivateKey{},
	}
	if p.hc == nil {
		p.hc = &http.Client{Timeout: 60 * time.Second}
	}
	if p.jiraTimeout <= 0 {
		p.jiraTimeout = 60 * time.Second
	}
	if p.jiraRetry == (jira.RetryPolicy{}) {
		p.jiraRetry = jira.DefaultRetryPolicy()
	}
	if p.refreshTimeout <= 0 {
		p.refreshTimeout = 20 * time.Second
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// lockFor returns the mutex of one credential.
func (p *Provider) lockFor(k credKey) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.locks[k]
	if m == nil {
		m = &sync.Mutex{}
		p.locks[k] = m
	}
	return m
}

// fresh reports whether a token with this expiry can still be used; a zero
// expiry means the token does not expire (OAuth 1.0a, PATs).
func (p *Provider) fresh(expiry time.Time) bool {
	return expiry.IsZero() || p.now().Add(refreshLeeway).Before(expiry)
}

// withCredentialLock runs fn with the credential serialised against every
// other refresh of it. On PostgreSQL fn runs in a transaction, so the row
// lock GetJiraCredential takes there holds until fn returns and other
// replicas wait for it. On SQLite only one process uses the database and a
// transaction takes the whole database's write lock at BEGIN, which would
// stall every other writer during a refresh call; the per-credential mutex
// serialises refreshes and each write is one statement.
func (p *Provider) withCredentialLock(ctx context.Context, k credKey, fn func(q store.Queries) error) error {
	m := p.lockFor(k)
	m.Lock()
	defer m.Unlock()
	if p.st.Dialect() == "sqlite" {
		return fn(p.st)
	}
	return p.st.InTx(ctx, func(tx store.Tx) error { return fn(tx) })
}

// baseTransport returns the shared network transport of a Jira server
// (its connect address and CA bundle), so clients handed out per request
// share one connection pool. Every connection asanajira makes to a stored
// server goes through it: user calls, token exchanges and refreshes, and
// attachment uploads.
func (p *Provider) baseTransport(srv store.JiraServer) (*http.Transport, error) {
	k := transportKey{id: srv.ID, baseURL: srv.BaseURL, connectAddress: srv.ConnectAddress, caBundle: srv.CABundlePEM}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.transports[k]; t != nil {
		return t, nil
	}
	t, err := jira.NewTransport(srv.BaseURL, ServerTransportOptions(srv))
	if err != nil {
		return nil, fmt.Errorf("credentials: jira server %s: %w", srv.ID, err)
	}
	p.transports[k] = t
	return t, nil
}

// ServerTransportOptions are the network settings stored for a Jira
// server: its connect address and CA bundle. Every transport built for a
// stored server starts from them.
func ServerTransportOptions(srv store.JiraServer) jira.TransportOptions {
	return jira.TransportOptions{ConnectAddress: srv.ConnectAddress, CABundlePEM: []byte(srv.CABundlePEM)}
}

// JiraHTTPClient returns an unauthenticated client for a Jira server's
// network settings (connect address, CA bundle), for the OAuth dances,
// whose token calls authenticate themselves. It never follows redirects.
func (p *Provider) JiraHTTPClient(srv store.JiraServer) (*http.Client, error) {
	t, err := p.baseTransport(srv)
	if err != nil {
		return nil, err
	}
	return jira.NewHTTPClient(t, p.refreshTimeout), nil
}

// JiraSigner returns the OAuth 1.0a signer of a Jira server's application
// link.
func (p *Provider) JiraSigner(srv store.JiraServer) (*jira.OAuth1Signer, error) {
	if srv.ConsumerKey == "" || srv.PrivateKeyPEM == "" {
		return nil, fmt.Errorf("credentials: jira server %s has no application link key pair; an administrator must set up the application link", srv.ID)
	}
	key, err := p.privateKey(srv.PrivateKeyPEM.Reveal())
	if err != nil {
		return nil, fmt.Errorf("credentials: jira server %s: %w", srv.ID, err)
	}
	return &jira.OAuth1Signer{ConsumerKey: srv.ConsumerKey, PrivateKey: key}, nil
}

// privateKey parses a PEM private key once per process; a server whose
// key is replaced has a new PEM text, so a new entry.
func (p *Provider) privateKey(pemText string) (*rsa.PrivateKey, error) {
	p.mu.Lock()
	k := p.keys[pemText]
	p.mu.Unlock()
	if k != nil {
		return k, nil
	}
	k, err := parsePrivateKey(pemText)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.keys) >= 64 { // a few servers; keys rotated away are dropped
		clear(p.keys)
	}
	p.keys[pemText] = k
	return k, nil
}

// JiraOAuth2Config returns the OAuth 2.0 configuration of a Jira server's
// incoming link, with the redirect URL this Provider refreshes with.
func (p *Provider) JiraOAuth2Config(srv store.JiraServer) (*oauth2.Config, error) {
	if srv.OAuth2ClientID == "" {
		return nil, fmt.Errorf("credentials: jira server %s has no OAuth 2.0 client; an administrator must create the incoming link", srv.ID)
	}
	cfg, err := jira.OAuth2Config(srv.BaseURL, srv.OAuth2ClientID, srv.OAuth2ClientSecret.Reveal(), p.jiraRedirect)
	if err != nil {
		return nil, fmt.Errorf("credentials: jira server %s: %w", srv.ID, err)
	}
	return cfg, nil
}

// JiraOAuth2Context returns ctx prepared for the token calls of a Jira
// server: its network settings and redirect_uri on refresh.
func (p *Provider) JiraOAuth2Context(ctx context.Context, srv store.JiraServer) (context.Context, error) {
	hc, err := p.JiraHTTPClient(srv)
	if err != nil {
		return nil, err
	}
	return jira.OAuth2Context(ctx, hc, p.jiraRedirect), nil
}

// AsanaOAuth2Config returns the Asana app's OAuth 2.0 configuration.
func (p *Provider) AsanaOAuth2Config() *oauth2.Config {
	cp := *p.asanaOAuth
	return &cp
}

// AsanaOAuth2Context returns ctx prepared for Asana's token endpoint: calls
// go through the Provider's HTTP client and a refresh carries redirect_uri,
// which Asana lists among the refresh parameters.
func (p *Provider) AsanaOAuth2Context(ctx context.Context) context.Context {
	return jira.OAuth2Context(ctx, p.hc, p.asanaOAuth.RedirectURL)
}

// parsePrivateKey reads an RSA private key in PKCS #8 ("PRIVATE KEY", what
// asanajira generates) or PKCS #1 ("RSA PRIVATE KEY") PEM.
func parsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("the application link private key is not PEM")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the application link private key: %w", err)
		}
		return k, nil
	default:
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the application link private key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("the application link private key is not an RSA key")
		}
		return rk, nil
	}
}
