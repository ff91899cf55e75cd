// Package jira is asanajira's client for the REST API v2 of self-managed Jira
// Server and Data Center (7.13 through 10.x).
//
// It owns everything that speaks Jira's wire format: the Client and its typed
// Error, the request retry policy, the authentication transports (OAuth 1.0a
// RSA-SHA1, personal access tokens, OAuth 2.0, basic), the OAuth 1.0a dance
// helpers, the endpoint methods asanajira needs, the normalised create-metadata
// model, streaming attachment uploads, and the webhook payload types with
// ParseWebhook.
//
// Authentication lives only in the http.RoundTripper of the *http.Client given
// to New, so the Client never knows which auth mode is in use.
package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultUserAgent identifies asanajira to Jira administrators reading access logs.
const DefaultUserAgent = "asanajira"

// maxErrorBody caps how much of an error response is read, so a proxy that
// answers with a huge HTML page cannot exhaust memory.
const maxErrorBody = 1 << 20

// Client talks to one Jira server as one identity (whatever the RoundTripper of
// its *http.Client authenticates as). It is safe for concurrent use.
type Client struct {
	hc        *http.Client
	baseURL   *url.URL
	userAgent string
	retry     RetryPolicy
	// sleep waits between attempts; replaced in tests to keep them fast.
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client) error

// WithUserAgent sets the User-Agent header sent with every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithRetryPolicy replaces the default retry policy.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		c.retry = p
		return nil
	}
}

// RetryPolicy says how often and how long the Client retries a failed request.
//
// Requests Jira rejected with 429 are retried whatever their method, because
// Jira's rate limiter refuses them before doing any work. Idempotent requests
// (GET, HEAD, PUT, DELETE and the POSTs this package marks as safe, such as
// search and remote-link upserts) are also retried on 5xx answers and network
// errors. Other POSTs, in particular issue creation, are never retried on a
// 5xx or network error: Jira may have created the issue before failing, and only
// the caller can check that (by the remote link's globalId).
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, including the first one.
	// Values below 1 mean 1 (no retries).
	MaxAttempts int
	// BaseDelay is the first backoff delay; it doubles on each attempt.
	BaseDelay time.Duration
	// MaxDelay caps the exponential backoff.
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the Client waits for itself.
	// A longer one is returned to the caller as an *Error with RetryAfter set,
	// so a job queue can snooze instead of holding a worker.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy is used when no WithRetryPolicy option is given.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, BaseDelay: 500 * time.Millisecond, MaxDelay: 8 * time.Second, MaxRetryAfter: 30 * time.Second}
}

// New returns a Client for the Jira server at baseURL, which may carry a
// context path ("https://jira.example.com/jira"). hc carries the
// authentication transport (see NewHTTPClient); nil means an unauthenticated
// default client.
//
// The Client never follows redirects, whatever hc says: a request signed with
// OAuth 1.0a is bound to its URL and would fail after a redirect, Jira's REST
// API does not redirect, and a redirect almost always means an SSO login page
// or a wrong base URL, which the returned *Error explains.
func New(baseURL string, hc *http.Client, opts ...Option) (*Client, error) {
	u, err := ParseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	hcCopy := *hc
	hcCopy.CheckRedirect = noRedirects
	c := &Client{
		hc:        &hcCopy,
		baseURL:   u,
		userAgent: DefaultUserAgent,
		retry:     DefaultRetryPolicy(),
		sleep:     sleepCtx,
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ParseBaseURL checks a Jira base URL and returns it with exactly one trailing
// slash, so relative API paths resolve under its context path.
func ParseBaseURL(baseURL string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("jira: base URL %q is not a URL: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("jira: base URL %q must start with https:// or http://", sanitizeURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("jira: base URL %q has no host", sanitizeURL(u))
	}
	if u.User != nil {
		return nil, errors.New("jira: base URL must not contain a user name or password; configure credentials separately")
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	u.Path = strings.TrimRight(u.Path, "/") + "/"
	u.RawPath = ""
	return u, nil
}

// BaseURL returns a copy of the base URL the Client resolves paths against
// (always ending in "/").
func (c *Client) BaseURL() *url.URL {
	u := *c.baseURL
	return &u
}

// URL resolves a path relative to the base URL, for links shown to users
// (for example "browse/OPS-1").
func (c *Client) URL(relPath string) string {
	u, err := c.baseURL.Parse(strings.TrimLeft(relPath, "/"))
	if err != nil {
		return c.baseURL.String()
	}
	return u.String()
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewRequest builds a request for relPath (relative to the base URL, without
// a leading slash, for example "rest/api/2/myself"). A non-nil body is encoded
// as JSON, unless it is an io.Reader, which is sent as is.
func (c *Client) NewRequest(ctx context.Context, method, relPath string, body any) (*http.Request, error) {
	if strings.HasPrefix(relPath, "/") {
		return nil, fmt.Errorf("jira: path %q must be relative to the base URL (no leading slash)", relPath)
	}
	if strings.Contains(relPath, "..") {
		return nil, fmt.Errorf("jira: path %q must not contain \"..\"", relPath)
	}
	u, err := c.baseURL.Parse(relPath)
	if err != nil {
		return nil, fmt.Errorf("jira: bad path %q: %w", relPath, err)
	}
	var r io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	default:
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("jira: encode %s %s body: %w", method, relPath, err)
		}
		r = bytes.NewReader(buf)
		contentType = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("jira: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	return req, nil
}

// Response wraps the *http.Response of a completed call with the rate-limit
// headers Jira Data Center sends.
type Response struct {
	*http.Response
	// RateLimitRemaining is X-RateLimit-Remaining, or -1 when absent.
	RateLimitRemaining int
}

type retryKey struct{}

// idempotent marks a POST that may be retried after a 5xx or network error
// (search, remote-link upsert by globalId).
func idempotent(req *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), retryKey{}, true))
}

func isIdempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	v, _ := req.Context().Value(retryKey{}).(bool)
	return v
}

// Do sends req, retrying as the RetryPolicy allows, and decodes a 2xx JSON
// answer into v (unless v is nil; an io.Writer receives the raw body). A
// non-2xx answer becomes an *Error. When ctx is done its error is returned.
func (c *Client) Do(req *http.Request, v any) (*Response, error) {
	ctx := req.Context()
	attempts := max(c.retry.MaxAttempts, 1)
	// A body can be replayed only if net/http knows how to rewind it.
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.GetBody != nil {
			b, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("jira: rewind body of %s %s: %w", req.Method, sanitizeURL(req.URL), err)
			}
			req.Body = b
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			netErr := stripURLError(err)
			err = &Error{Method: req.Method, URL: sanitizeURL(req.URL), Kind: KindNetwork, Err: netErr}
			// A refused TLS certificate is refused again: no retry.
			if attempt < attempts && replayable && isIdempotent(req) && tlsHint(netErr) == "" {
				if serr := c.sleep(ctx, c.backoff(attempt)); serr != nil {
					return nil, serr
				}
				continue
			}
			return nil, err
		}
		r := &Response{Response: resp, RateLimitRemaining: headerInt(resp.Header, "X-RateLimit-Remaining", "X-RateLimiting-Remaining")}
		if st, ok := v.(*stream); ok && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			st.resp = resp // the caller reads and closes the body
			return r, nil
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			err := decodeBody(resp, v)
			return r, err
		}
		apiErr := CheckResponse(resp)
		_ = resp.Body.Close()
		wait, retry := c.shouldRetry(req, apiErr, attempt, attempts, replayable)
		if !retry {
			return r, apiErr
		}
		if err := c.sleep(ctx, wait); err != nil {
			return r, err
		}
	}
}

func (c *Client) shouldRetry(req *http.Request, e *Error, attempt, attempts int, replayable bool) (time.Duration, bool) {
	if attempt >= attempts || !replayable {
		return 0, false
	}
	switch {
	case e.StatusCode == http.StatusTooManyRequests,
		e.StatusCode == http.StatusServiceUnavailable && isIdempotent(req):
		if e.RetryAfter > 0 {
			if e.RetryAfter > c.retry.MaxRetryAfter {
				return 0, false
			}
			return e.RetryAfter, true
		}
		return c.backoff(attempt), true
	case e.StatusCode >= 500 && isIdempotent(req):
		return c.backoff(attempt), true
	}
	return 0, false
}

// backoff is capped exponential backoff with full jitter, so many workers
// hitting the same overloaded node do not retry in lockstep.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.BaseDelay << (attempt - 1)
	if d <= 0 || d > c.retry.MaxDelay {
		d = c.retry.MaxDelay
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func decodeBody(resp *http.Response, v any) error {
	defer resp.Body.Close()
	if w, ok := v.(io.Writer); ok {
		if _, err := io.Copy(w, resp.Body); err != nil {
			return fmt.Errorf("jira: read %s %s: %w", resp.Request.Method, sanitizeURL(resp.Request.URL), err)
		}
		return nil
	}
	if v == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	if isHTML(resp.Header) {
		// A 200 with an HTML page on a REST URL is an SSO or proxy login page.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := &Error{Method: resp.Request.Method, URL: sanitizeURL(resp.Request.URL), StatusCode: resp.StatusCode, Kind: KindSSO, Body: snippet(body)}
		return e
	}
	if d, ok := v.(bodyDecoder); ok {
		return decodeWhole(resp, d)
	}
	dec := json.NewDecoder(resp.Body)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("jira: decode %s %s answer (status %d): %w", resp.Request.Method, sanitizeURL(resp.Request.URL), resp.StatusCode, err)
	}
	return nil
}

// bodyDecoder is a value that decodes a whole answer itself, such as
// IssueSummary, skipping encoding/json's scan of what it does not read.
type bodyDecoder interface{ decodeJSON(b []byte) error }

// decodeWhole reads the body and hands it to d. An empty body decodes as
// nothing, as json.Decoder's io.EOF does above.
func decodeWhole(resp *http.Response, d bodyDecoder) error {
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n < maxErrorBody {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("jira: read %s %s: %w", resp.Request.Method, sanitizeURL(resp.Request.URL), err)
	}
	if len(bytes.TrimSpace(buf.Bytes())) == 0 {
		return nil
	}
	if err := d.decodeJSON(buf.Bytes()); err != nil {
		return fmt.Errorf("jira: decode %s %s answer (status %d): %w", resp.Request.Method, sanitizeURL(resp.Request.URL), resp.StatusCode, err)
	}
	return nil
}

func isHTML(h http.Header) bool {
	ct := h.Get("Content-Type")
	if strings.HasPrefix(ct, "application/json") {
		return false // what Jira sends: no need to parse it
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/html" || mt == "application/xhtml+xml"
}

func headerInt(h http.Header, names ...string) int {
	for _, n := range names {
		if s := h.Get(n); s != "" {
			if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
				return i
			}
		}
	}
	return -1
}

// sanitizeURL drops credentials, the query values that can carry secrets and
// the fragment, so URLs can go into errors and logs.
func sanitizeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			switch strings.ToLower(k) {
			case "secret", "token", "access_token", "client_secret", "oauth_token", "oauth_verifier", "code", "password", "os_password", "refresh_token", "code_verifier":
				q.Set(k, "REDACTED")
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

// stripURLError removes the *url.Error wrapper, whose text repeats the full,
// unsanitised URL.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// page parameters shared by Jira's startAt/maxResults endpoints.
func pageQuery(q url.Values, startAt, maxResults int) url.Values {
	if q == nil {
		q = url.Values{}
	}
	q.Set("startAt", strconv.Itoa(startAt))
	if maxResults > 0 {
		q.Set("maxResults", strconv.Itoa(maxResults))
	}
	return q
}

// withQuery appends an encoded query to a relative path.
func withQuery(relPath string, q url.Values) string {
	if len(q) == 0 {
		return relPath
	}
	return relPath + "?" + q.Encode()
}

// get is the common shape of a GET that decodes into v.
func (c *Client) get(ctx context.Context, relPath string, q url.Values, v any) error {
	req, err := c.NewRequest(ctx, http.MethodGet, withQuery(relPath, q), nil)
	if err != nil {
		return err
	}
	_, err = c.Do(req, v)
	return err
}

// send is the common shape of a request with a JSON body that decodes into v.
func (c *Client) send(ctx context.Context, method, relPath string, body, v any, retrySafe bool) (*Response, error) {
	req, err := c.NewRequest(ctx, method, relPath, body)
	if err != nil {
		return nil, err
	}
	if retrySafe {
		req = idempotent(req)
	}
	return c.Do(req, v)
}

// pathEscape escapes one path segment (an issue key, a project key, an id).
func pathEscape(s string) string { return url.PathEscape(s) }
