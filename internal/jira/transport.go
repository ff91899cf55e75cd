package jira

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// TransportOptions configure the network side of a Jira connection.
type TransportOptions struct {
	// CABundlePEM holds extra trusted CA certificates (PEM), added to the
	// system pool, for Jira servers behind a private CA.
	CABundlePEM []byte
	// ProxyURL is an HTTP(S) proxy; "" means the HTTPS_PROXY, HTTP_PROXY and
	// NO_PROXY environment variables.
	ProxyURL string
	// DisableProxy ignores proxies entirely.
	DisableProxy bool
	// ConnectAddress ("host:port") reroutes TCP connections meant for the
	// base URL's host to another address (split-horizon DNS, an internal
	// load balancer). Only the dial changes: the URL, the Host header, the
	// TLS server name and therefore the OAuth 1.0a signature all keep the
	// public base URL, which is what Jira checks signatures against.
	ConnectAddress string
	// DialTimeout, TLSHandshakeTimeout and ResponseHeaderTimeout default to
	// 10 s, 10 s and 60 s.
	DialTimeout           time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
}

// NewTransport returns an *http.Transport for the Jira server at baseURL
// configured by opts. Wrap it in an auth transport and pass the result to
// NewHTTPClient.
func NewTransport(baseURL string, opts TransportOptions) (*http.Transport, error) {
	base, err := ParseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Every request goes to this one Jira, many at once: keep enough idle
	// connections to it (the default of 2 turns load into connection churn).
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 64
	t.TLSHandshakeTimeout = orDefault(opts.TLSHandshakeTimeout, 10*time.Second)
	t.ResponseHeaderTimeout = orDefault(opts.ResponseHeaderTimeout, 60*time.Second)
	if len(opts.CABundlePEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(opts.CABundlePEM) {
			return nil, errors.New("jira: the CA bundle contains no PEM certificate; paste the CA certificate(s) starting with -----BEGIN CERTIFICATE-----")
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	switch {
	case opts.DisableProxy:
		t.Proxy = nil
	case opts.ProxyURL != "":
		pu, err := url.Parse(opts.ProxyURL)
		if err != nil || pu.Host == "" {
			return nil, fmt.Errorf("jira: proxy URL %q is not a URL like http://proxy.example.com:3128", opts.ProxyURL)
		}
		t.Proxy = http.ProxyURL(pu)
	}
	dialer := &net.Dialer{Timeout: orDefault(opts.DialTimeout, 10*time.Second), KeepAlive: 30 * time.Second}
	if opts.ConnectAddress != "" {
		if _, _, err := net.SplitHostPort(opts.ConnectAddress); err != nil {
			return nil, fmt.Errorf("jira: connect address %q must be host:port, like 10.0.0.5:8080", opts.ConnectAddress)
		}
		target := hostPort(base)
		to := opts.ConnectAddress
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if strings.EqualFold(addr, target) {
				addr = to
			}
			return dialer.DialContext(ctx, network, addr)
		}
	} else {
		t.DialContext = dialer.DialContext
	}
	return t, nil
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// NewHTTPClient wraps an (auth) transport in an *http.Client that never
// follows redirects, which signed requests must not do. timeout bounds whole
// calls, the answer's body included; use 0 for clients that upload large
// attachments and bound those calls with their context instead.
//
// The bound is a deadline on the request's context rather than
// http.Client.Timeout: for a transport net/http does not know (every auth
// transport), Timeout costs a goroutine and a timer per request, and a
// request whose context ends sooner, as every interactive one does, needs
// neither.
func NewHTTPClient(rt http.RoundTripper, timeout time.Duration) *http.Client {
	if timeout > 0 {
		rt = &timeoutTransport{base: rt, timeout: timeout}
	}
	return &http.Client{Transport: rt, CheckRedirect: noRedirects}
}

// timeoutTransport bounds each request, from its start to its answer's
// body being closed, by timeout, unless its context ends sooner.
type timeoutTransport struct {
	base    http.RoundTripper
	timeout time.Duration
}

// RoundTrip implements http.RoundTripper.
func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	deadline := time.Now().Add(t.timeout)
	if d, ok := req.Context().Deadline(); ok && !d.After(deadline) {
		return baseTransport(t.base).RoundTrip(req)
	}
	ctx, cancel := context.WithDeadline(req.Context(), deadline)
	resp, err := baseTransport(t.base).RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends a request's deadline with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// clientTimeout is the bound NewHTTPClient gave hc, or hc.Timeout.
func clientTimeout(hc *http.Client) time.Duration {
	if t, ok := hc.Transport.(*timeoutTransport); ok {
		return t.timeout
	}
	return hc.Timeout
}

// BearerTransport authenticates with a personal access token (Jira 8.14+) or
// an OAuth 2.0 access token: "Authorization: Bearer <token>".
type BearerTransport struct {
	Token string
	Base  http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *BearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r2 := req.Clone(req.Context())
	r2.Header.Set("Authorization", "Bearer "+t.Token)
	return baseTransport(t.Base).RoundTrip(r2)
}

// BasicAuthTransport authenticates with a user name and password. asanajira
// uses it only for one-time admin setup (application link, webhook): it fails
// behind SSO, under CAPTCHA and where the admin disabled basic auth.
type BasicAuthTransport struct {
	Username string
	Password string
	Base     http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *BasicAuthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r2 := req.Clone(req.Context())
	r2.SetBasicAuth(t.Username, t.Password)
	return baseTransport(t.Base).RoundTrip(r2)
}

// OAuth2Config returns the x/oauth2 configuration for Jira Data Center's
// OAuth 2.0 provider (8.22+, an "External application" incoming link).
// Use AuthCodeURL with oauth2.S256ChallengeOption for PKCE, Exchange with
// oauth2.VerifierOption, and a context from OAuth2Context for both the
// exchange and the token source.
func OAuth2Config(baseURL, clientID, clientSecret, redirectURL string, scopes ...string) (*oauth2.Config, error) {
	u, err := ParseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	authURL, _ := u.Parse("rest/oauth2/latest/authorize")
	tokenURL, _ := u.Parse("rest/oauth2/latest/token")
	if len(scopes) == 0 {
		scopes = []string{"WRITE"}
	}
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   authURL.String(),
			TokenURL:  tokenURL.String(),
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}, nil
}

// OAuth2Context returns a context whose token calls go through hc (for the
// CA bundle, proxy and connect address) and carry redirect_uri on refresh:
// Jira Data Center rejects a refresh without it with a bare invalid_grant,
// and x/oauth2 does not send it.
func OAuth2Context(ctx context.Context, hc *http.Client, redirectURL string) context.Context {
	base := http.DefaultTransport
	timeout := 30 * time.Second
	if hc != nil {
		base = baseTransport(hc.Transport)
		if t := clientTimeout(hc); t > 0 {
			timeout = t
		}
	}
	return context.WithValue(ctx, oauth2.HTTPClient, &http.Client{
		Transport:     &refreshRedirectTransport{base: base, redirectURL: redirectURL},
		Timeout:       timeout,
		CheckRedirect: noRedirects,
	})
}

type refreshRedirectTransport struct {
	base        http.RoundTripper
	redirectURL string
}

func (t *refreshRedirectTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil || t.redirectURL == "" {
		return t.base.RoundTrip(req)
	}
	form, err := formParams(req)
	if err != nil {
		return nil, err
	}
	if form.Get("grant_type") != "refresh_token" || form.Get("redirect_uri") != "" {
		return t.base.RoundTrip(req)
	}
	form.Set("redirect_uri", t.redirectURL)
	body := form.Encode()
	r2, err := http.NewRequestWithContext(req.Context(), req.Method, req.URL.String(), strings.NewReader(body)) //nolint:gosec // the same request, with redirect_uri added
	if err != nil {
		return nil, err
	}
	r2.Header = req.Header.Clone()
	return t.base.RoundTrip(r2)
}

// NewOAuth2Transport authenticates with OAuth 2.0 access tokens from src,
// refreshing them as src does.
func NewOAuth2Transport(src oauth2.TokenSource, base http.RoundTripper) http.RoundTripper {
	return &oauth2.Transport{Source: src, Base: base}
}
