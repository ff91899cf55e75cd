// Package asana is asanajira's client for the Asana REST API (/api/1.0).
//
// It owns everything that speaks Asana's wire format: the Client and its
// typed Error, the per-token rate limiter, the OAuth 2.0 configuration
// (authorization code with PKCE, refresh, revoke), tasks, stories, custom
// fields (the "Jira status" enum), attachments (streaming downloads, external
// attachments connected to the app), webhooks with VerifySignature, the
// events API with sync tokens, and users, workspaces and projects.
//
// Authentication lives in the http.RoundTripper of the *http.Client given to
// New (an oauth2.Transport, or BearerTransport for personal access tokens).
package asana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Asana's REST API.
const DefaultBaseURL = "https://app.asana.com/api/1.0"

// maxErrorBody caps how much of an error response is read.
const maxErrorBody = 1 << 20

// Client talks to Asana as one token. It is safe for concurrent use.
type Client struct {
	hc        *http.Client
	download  *http.Client
	baseURL   *url.URL
	userAgent string
	limiter   *Limiter
	retry     RetryPolicy
	sleep     func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client) error

// WithLimiter shares a Limiter between Clients that use the same token
// (Asana's quotas are per token). Without it each Client has its own.
func WithLimiter(l *Limiter) Option {
	return func(c *Client) error {
		c.limiter = l
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
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

// WithDownloadClient sets the client that fetches download_url links. They
// are pre-signed URLs on a file host, so the default client carries no
// Asana token: a storage host refuses a second credential, and the token
// must not leave Asana.
func WithDownloadClient(hc *http.Client) Option {
	return func(c *Client) error {
		c.download = hc
		return nil
	}
}

// RetryPolicy says how the Client retries. 429 is retried for every method
// after Retry-After (Asana refused the request without doing it); GETs are
// also retried on 5xx and network errors with capped exponential backoff.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	// MaxRetryAfter is the longest Retry-After the Client waits for itself;
	// longer ones are returned as an *Error with RetryAfter set.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy follows Asana's own SDK: five attempts, backoff from
// one second.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 16 * time.Second, MaxRetryAfter: time.Minute}
}

// New returns a Client for Asana's API at baseURL ("" means DefaultBaseURL).
// hc carries the authentication transport.
func New(baseURL string, hc *http.Client, opts ...Option) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("asana: base URL %q must be like %s", baseURL, DefaultBaseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/"
	u.RawQuery, u.Fragment = "", ""
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	c := &Client{
		hc:        hc,
		download:  &http.Client{Timeout: 0},
		baseURL:   u,
		userAgent: "asanajira",
		retry:     DefaultRetryPolicy(),
		sleep:     sleepCtx,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.limiter == nil {
		c.limiter = NewLimiter(LimiterOptions{})
	}
	return c, nil
}

// NewRequest builds a request for relPath (relative to the base URL, no
// leading slash). A non-nil body is wrapped as {"data": body} and sent as
// JSON, unless it is an io.Reader, which is sent as is.
func (c *Client) NewRequest(ctx context.Context, method, relPath string, body any) (*http.Request, error) {
	if strings.HasPrefix(relPath, "/") || strings.Contains(relPath, "..") {
		return nil, fmt.Errorf("asana: path %q must be relative to the base URL, without \"..\"", relPath)
	}
	u, err := c.baseURL.Parse(relPath)
	if err != nil {
		return nil, fmt.Errorf("asana: bad path %q: %w", relPath, err)
	}
	var r io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	default:
		buf, err := json.Marshal(map[string]any{"data": body})
		if err != nil {
			return nil, fmt.Errorf("asana: encode %s %s: %w", method, relPath, err)
		}
		r = bytes.NewReader(buf)
		ct = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("asana: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	return req, nil
}

// Response is Asana's response envelope, kept for pagination and sync tokens.
type Response struct {
	Data     json.RawMessage `json:"data"` // undecoded data
	NextPage *NextPage       `json:"next_page"`
	// Events API fields.
	Sync    string `json:"sync"`
	HasMore bool   `json:"has_more"`
	// Header is the HTTP response header.
	Header http.Header `json:"-"`
}

// NextPage points at the next page of a list.
type NextPage struct {
	Offset string `json:"offset"`
	Path   string `json:"path"`
	URI    string `json:"uri"`
}

// Do sends req through the rate limiter, retrying as the policy allows, and
// decodes the "data" of a 2xx answer into v. It returns the whole envelope
// for pagination and sync tokens.
func (c *Client) Do(req *http.Request, v any) (*Response, error) {
	ctx := req.Context()
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	attempts := max(c.retry.MaxAttempts, 1)
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.GetBody != nil {
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = b
		}
		release, err := c.limiter.acquire(ctx, write)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			release()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			e := &Error{Method: req.Method, URL: sanitizeURL(req.URL), Err: stripURLError(err)}
			// A refused TLS certificate is refused again: no retry.
			if attempt < attempts && !write && replayable && !certificateRefused(err) {
				if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, e
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			env, err := decode(resp, v)
			release()
			return env, err
		}
		apiErr := CheckResponse(resp)
		_ = resp.Body.Close()
		release()
		if resp.StatusCode == http.StatusTooManyRequests && apiErr.RetryAfter > 0 {
			// Every request of this token waits, not only this one.
			c.limiter.pause(apiErr.RetryAfter)
		}
		wait, retry := c.shouldRetry(apiErr, write, attempt, attempts, replayable)
		if !retry {
			return nil, apiErr
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (c *Client) shouldRetry(e *Error, write bool, attempt, attempts int, replayable bool) (time.Duration, bool) {
	if attempt >= attempts || !replayable {
		return 0, false
	}
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		if e.RetryAfter > c.retry.MaxRetryAfter {
			return 0, false
		}
		if e.RetryAfter > 0 {
			return e.RetryAfter, true
		}
		return c.backoff(attempt), true
	case e.StatusCode >= 500 && !write:
		if e.RetryAfter > 0 && e.RetryAfter <= c.retry.MaxRetryAfter {
			return e.RetryAfter, true
		}
		return c.backoff(attempt), true
	}
	return 0, false
}

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

func decode(resp *http.Response, v any) (*Response, error) {
	defer resp.Body.Close()
	var env Response
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("asana: read %s %s: %w", resp.Request.Method, sanitizeURL(resp.Request.URL), err)
	}
	env.Header = resp.Header
	if len(bytes.TrimSpace(b)) == 0 {
		return &env, nil
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("asana: decode %s %s: %w", resp.Request.Method, sanitizeURL(resp.Request.URL), err)
	}
	if v != nil && len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, v); err != nil {
			return nil, fmt.Errorf("asana: decode %s %s data: %w", resp.Request.Method, sanitizeURL(resp.Request.URL), err)
		}
	}
	return &env, nil
}

func (c *Client) get(ctx context.Context, relPath string, q url.Values, v any) (*Response, error) {
	if len(q) > 0 {
		relPath += "?" + q.Encode()
	}
	req, err := c.NewRequest(ctx, http.MethodGet, relPath, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req, v)
}

func (c *Client) send(ctx context.Context, method, relPath string, body, v any) error {
	req, err := c.NewRequest(ctx, method, relPath, body)
	if err != nil {
		return err
	}
	_, err = c.Do(req, v)
	return err
}

// list yields every item of a paginated list (limit 100, offset tokens).
func list[T any](ctx context.Context, c *Client, relPath string, q url.Values) func(yield func(T, error) bool) {
	return func(yield func(T, error) bool) {
		var zero T
		if q == nil {
			q = url.Values{}
		}
		q.Set("limit", "100")
		for {
			var items []T
			env, err := c.get(ctx, relPath, q, &items)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if env.NextPage == nil || env.NextPage.Offset == "" {
				return
			}
			q.Set("offset", env.NextPage.Offset)
		}
	}
}

func optFields(q url.Values, fields []string) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if len(fields) > 0 {
		q.Set("opt_fields", strings.Join(fields, ","))
	}
	return q
}

// sanitizeURL removes credentials and secret-bearing query values.
func sanitizeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.Fragment = ""
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			switch strings.ToLower(k) {
			case "access_token", "token", "client_secret", "refresh_token", "code", "code_verifier", "secret", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token":
				q.Set(k, "REDACTED")
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func parseRetryAfter(s string) time.Duration {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// BearerTransport authenticates with a personal access token.
type BearerTransport struct {
	Token string
	Base  http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *BearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r2 := req.Clone(req.Context())
	r2.Header.Set("Authorization", "Bearer "+t.Token)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r2)
}
