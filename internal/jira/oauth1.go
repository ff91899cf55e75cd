package jira

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dghubble/oauth1"
)

// OAuth1Signer signs requests with OAuth 1.0a RSA-SHA1, the only signature
// method Jira accepts from an application-link consumer.
//
// The signature itself is made by dghubble/oauth1's RSASigner. The base
// string is built here (RFC 5849 §3.4.1) rather than by the library so that
// the clock and nonce can be fixed in known-answer tests, the context of the
// request is honoured, and the base string can be shown next to the one Jira
// echoes on signature_invalid.
type OAuth1Signer struct {
	// ConsumerKey is the application link's consumer key.
	ConsumerKey string
	// PrivateKey pairs with the public key pasted into the application link.
	PrivateKey *rsa.PrivateKey
	// Now returns the signing time; nil means time.Now.
	Now func() time.Time
	// Nonce returns a fresh nonce; nil means 128 random bits in hex.
	Nonce func() string
}

// Sign adds an OAuth Authorization header to req, signed for req's URL, and
// returns the signature base string. token is the request or access token
// ("" when asking for a request token); extra holds protocol parameters such
// as oauth_callback or oauth_verifier. A form-encoded body is read and
// restored, because its parameters are part of the signature.
func (s *OAuth1Signer) Sign(req *http.Request, token string, extra map[string]string) (string, error) {
	if s.PrivateKey == nil {
		return "", fmt.Errorf("jira: oauth1: no private key configured for consumer %q", s.ConsumerKey)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	nonce := randomNonce
	if s.Nonce != nil {
		nonce = s.Nonce
	}
	rsaSigner := &oauth1.RSASigner{PrivateKey: s.PrivateKey}
	params := map[string]string{
		"oauth_consumer_key":     s.ConsumerKey,
		"oauth_signature_method": rsaSigner.Name(),
		"oauth_timestamp":        strconv.FormatInt(now().Unix(), 10),
		"oauth_nonce":            nonce(),
		"oauth_version":          "1.0",
	}
	if token != "" {
		params["oauth_token"] = token
	}
	for k, v := range extra {
		params[k] = v
	}
	form, err := formParams(req)
	if err != nil {
		return "", err
	}
	base := signatureBaseString(req.Method, req.URL, form, params)
	sig, err := rsaSigner.Sign("", base)
	if err != nil {
		return "", fmt.Errorf("jira: oauth1: sign: %w", err)
	}
	params["oauth_signature"] = sig
	req.Header.Set("Authorization", oauthHeader(params))
	return base, nil
}

func randomNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b[:])
}

// formParams reads the parameters of an application/x-www-form-urlencoded
// body and puts the bytes back.
func formParams(req *http.Request) (url.Values, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, nil
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("jira: oauth1: read form body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, fmt.Errorf("jira: oauth1: parse form body: %w", err)
	}
	return v, nil
}

// signatureBaseString builds the RFC 5849 §3.4.1 base string: the method,
// the normalised URL (lowercase scheme and host, default port dropped, the
// full escaped path including Jira's context path, no query) and the sorted,
// encoded parameters from the query, the form body and the oauth_* set.
func signatureBaseString(method string, u *url.URL, form url.Values, oauthParams map[string]string) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range u.Query() {
		for _, v := range vs {
			pairs = append(pairs, pair{oauth1.PercentEncode(k), oauth1.PercentEncode(v)})
		}
	}
	for k, vs := range form {
		for _, v := range vs {
			pairs = append(pairs, pair{oauth1.PercentEncode(k), oauth1.PercentEncode(v)})
		}
	}
	for k, v := range oauthParams {
		if k == "realm" || k == "oauth_signature" {
			continue
		}
		pairs = append(pairs, pair{oauth1.PercentEncode(k), oauth1.PercentEncode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var ps strings.Builder
	for i, p := range pairs {
		if i > 0 {
			ps.WriteByte('&')
		}
		ps.WriteString(p.k)
		ps.WriteByte('=')
		ps.WriteString(p.v)
	}
	return strings.ToUpper(method) + "&" + oauth1.PercentEncode(normalizedURL(u)) + "&" + oauth1.PercentEncode(ps.String())
}

func normalizedURL(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	if p := u.Port(); p != "" && (scheme != "http" || p != "80") && (scheme != "https" || p != "443") {
		host += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// oauthHeader formats the Authorization header (RFC 5849 §3.5.1).
func oauthHeader(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("OAuth ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(oauth1.PercentEncode(k))
		b.WriteString(`="`)
		b.WriteString(oauth1.PercentEncode(params[k]))
		b.WriteString(`"`)
	}
	return b.String()
}

// parseOAuthHeader reads the oauth_* parameters back from an Authorization
// header.
func parseOAuthHeader(h string) map[string]string {
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		return nil
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"`)
		if dec, err := url.PathUnescape(v); err == nil {
			v = dec
		}
		params[k] = v
	}
	return params
}

// baseStringOfSigned recomputes the base string of a request this package
// signed (from its URL and Authorization header), for error reports.
func baseStringOfSigned(req *http.Request) string {
	params := parseOAuthHeader(req.Header.Get("Authorization"))
	if params == nil {
		return ""
	}
	return signatureBaseString(req.Method, req.URL, nil, params)
}

// OAuth1Transport is an http.RoundTripper that signs every request with an
// OAuth 1.0a access token. Requests are signed for the URL they carry, which
// must be Jira's public base URL; to reach Jira by another address, reroute
// only the TCP dial (TransportOptions.ConnectAddress).
type OAuth1Transport struct {
	Signer *OAuth1Signer
	// Token is the access token from the OAuth 1.0a dance.
	Token string
	// Base is the underlying transport; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *OAuth1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r2 := req.Clone(req.Context())
	if _, err := t.Signer.Sign(r2, t.Token, nil); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return baseTransport(t.Base).RoundTrip(r2)
}

func baseTransport(rt http.RoundTripper) http.RoundTripper {
	if rt != nil {
		return rt
	}
	return http.DefaultTransport
}

// OAuth1Config drives the three-legged OAuth 1.0a dance against Jira's
// application-link servlets.
type OAuth1Config struct {
	// BaseURL is Jira's public base URL, including any context path; the
	// servlet URLs are signed for it and the user's browser is sent to it.
	BaseURL string
	Signer  *OAuth1Signer
	// CallbackURL receives oauth_token and oauth_verifier after the user
	// allows access; "" means "oob" (Jira shows a code to paste).
	CallbackURL string
	// HTTPClient carries the transport options (CA bundle, proxy,
	// ConnectAddress); nil means a plain client. Its redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds each token call; 0 means 30 seconds.
	Timeout time.Duration
}

// OAuth1Token is the answer of the request-token or access-token servlet.
type OAuth1Token struct {
	Token  string
	Secret string
	// CallbackConfirmed is oauth_callback_confirmed (request token only).
	CallbackConfirmed bool
	// ExpiresIn is oauth_expires_in (access token), 0 when absent;
	// AuthorizationExpiresIn is oauth_authorization_expires_in.
	ExpiresIn              time.Duration
	AuthorizationExpiresIn time.Duration
	SessionHandle          string
}

// RequestToken asks Jira for a temporary request token
// (POST plugins/servlet/oauth/request-token, with oauth_callback).
func (c *OAuth1Config) RequestToken(ctx context.Context) (*OAuth1Token, error) {
	cb := c.CallbackURL
	if cb == "" {
		cb = "oob"
	}
	return c.tokenCall(ctx, "plugins/servlet/oauth/request-token", "", map[string]string{"oauth_callback": cb})
}

// AuthorizeURL is where the user's browser goes to allow access for a
// request token.
func (c *OAuth1Config) AuthorizeURL(requestToken string) (string, error) {
	u, err := ParseBaseURL(c.BaseURL)
	if err != nil {
		return "", err
	}
	u, _ = u.Parse("plugins/servlet/oauth/authorize")
	u.RawQuery = url.Values{"oauth_token": {requestToken}}.Encode()
	return u.String(), nil
}

// AccessToken exchanges an authorised request token and its verifier for
// an access token (POST plugins/servlet/oauth/access-token).
func (c *OAuth1Config) AccessToken(ctx context.Context, requestToken, verifier string) (*OAuth1Token, error) {
	extra := map[string]string{}
	if verifier != "" {
		extra["oauth_verifier"] = verifier
	}
	return c.tokenCall(ctx, "plugins/servlet/oauth/access-token", requestToken, extra)
}

func (c *OAuth1Config) tokenCall(ctx context.Context, relPath, token string, extra map[string]string) (*OAuth1Token, error) {
	base, err := ParseBaseURL(c.BaseURL)
	if err != nil {
		return nil, err
	}
	u, _ := base.Parse(relPath)
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("jira: oauth1: %w", err)
	}
	if _, err := c.Signer.Sign(req, token, extra); err != nil {
		return nil, err
	}
	hc := &http.Client{CheckRedirect: noRedirects}
	if c.HTTPClient != nil {
		cp := *c.HTTPClient
		cp.CheckRedirect = noRedirects
		hc = &cp
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("jira: POST %s: %w (Jira did not answer in %s)", sanitizeURL(u), ctx.Err(), timeout)
		}
		return nil, &Error{Method: http.MethodPost, URL: sanitizeURL(u), Kind: KindNetwork, Err: stripURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, CheckResponse(resp)
	}
	if isHTML(resp.Header) {
		// A 200 HTML page is a single sign-on or proxy login in front of
		// Jira, not a token answer.
		return nil, &Error{Method: http.MethodPost, URL: sanitizeURL(u), StatusCode: resp.StatusCode, Kind: KindSSO}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("jira: POST %s: read answer: %w", sanitizeURL(u), err)
	}
	v, err := url.ParseQuery(strings.TrimSpace(string(body)))
	if err != nil || v.Get("oauth_token") == "" {
		return nil, fmt.Errorf("jira: POST %s: the answer has no oauth_token; is this URL really Jira? (got %q)", sanitizeURL(u), snippet(body))
	}
	t := &OAuth1Token{
		Token:             v.Get("oauth_token"),
		Secret:            v.Get("oauth_token_secret"),
		CallbackConfirmed: v.Get("oauth_callback_confirmed") == "true",
		SessionHandle:     v.Get("oauth_session_handle"),
	}
	if n, err := strconv.ParseInt(v.Get("oauth_expires_in"), 10, 64); err == nil {
		t.ExpiresIn = time.Duration(n) * time.Second
	}
	if n, err := strconv.ParseInt(v.Get("oauth_authorization_expires_in"), 10, 64); err == nil {
		t.AuthorizationExpiresIn = time.Duration(n) * time.Second
	}
	return t, nil
}
