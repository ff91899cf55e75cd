package jira

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sentinels matched by errors.Is against an *Error (or an
// *AttachmentTooLargeError).
var (
	// ErrNotFound: Jira answered 404. Some resources (a comment restricted
	// to a group or role) also use 404 for "exists but you may not see it".
	ErrNotFound = errors.New("jira: not found")
	// ErrUnauthorized: the credential was refused (401, an OAuth problem, a
	// CAPTCHA lock, an SSO login page, basic auth disabled). The user or admin
	// must reconnect or fix the credential; retrying will not help.
	ErrUnauthorized = errors.New("jira: unauthorized")
	// ErrForbidden: authenticated, but not allowed (403). Jira Server also
	// answers 403 for an issue the user may not see (no Browse Projects
	// permission, or its security level).
	ErrForbidden = errors.New("jira: forbidden")
	// ErrRateLimited: Jira Data Center's rate limiter answered 429; wait
	// for Error.RetryAfter.
	ErrRateLimited = errors.New("jira: rate limited")
	// ErrAttachmentTooLarge: a file is bigger than Jira (or a proxy in front of
	// it) accepts.
	ErrAttachmentTooLarge = errors.New("jira: attachment too large")
)

// ErrorKind classifies an *Error by what went wrong, so callers can decide
// between retrying, reconnecting and reporting.
type ErrorKind int

// Error kinds.
const (
	KindOther ErrorKind = iota
	// KindNetwork: no HTTP answer (DNS, TCP, TLS, timeout).
	KindNetwork
	// KindUnauthorized: a plain 401.
	KindUnauthorized
	// KindOAuth: Jira reported an oauth_problem.
	KindOAuth
	// KindCaptcha: Jira wants a CAPTCHA solved in the browser first.
	KindCaptcha
	// KindBasicAuthDisabled: the administrator turned basic auth off for REST.
	KindBasicAuthDisabled
	// KindSSO: an HTML page (or a redirect to one) came back instead of JSON:
	// an SSO or proxy login intercepted the request.
	KindSSO
	// KindRedirect: Jira redirected elsewhere (usually a wrong base URL).
	KindRedirect
	// KindForbidden: a 403 for lack of permission.
	KindForbidden
	// KindNotFound: a 404.
	KindNotFound
	// KindValidation: a 400 with field errors.
	KindValidation
	// KindRateLimited: a 429.
	KindRateLimited
	// KindServer: a 5xx.
	KindServer
	// KindTooLarge: Jira or a proxy refused a body as too large.
	KindTooLarge
)

// Error is every failed call to Jira: a non-2xx answer, an unexpected HTML
// page, or a network failure. Its text names the request (with secrets
// removed), what Jira said, and what the user or admin should do.
type Error struct {
	Method string
	// URL is the request URL with secrets redacted.
	URL        string
	StatusCode int
	Kind       ErrorKind
	// ErrorMessages and Errors are Jira's standard error body
	// {"errorMessages":[…],"errors":{"field":"message"}}.
	ErrorMessages []string
	Errors        map[string]string
	// Message is the {"message":…} body some endpoints use (basic auth disabled).
	Message string
	// OAuthProblem is the oauth_problem from the body or WWW-Authenticate.
	OAuthProblem string
	// OAuthSignatureBaseString is the base string Jira computed, echoed on
	// signature_invalid; SentSignatureBaseString is the one this client
	// signed. Comparing them shows which part of the URL a proxy changed.
	OAuthSignatureBaseString string
	SentSignatureBaseString  string
	// LoginReason is X-Seraph-LoginReason; DeniedReason is
	// X-Authentication-Denied-Reason (CAPTCHA_CHALLENGE; login-url=…).
	LoginReason  string
	DeniedReason string
	// Location is the sanitised target of a redirect.
	Location string
	// RetryAfter is the Retry-After header, 0 when absent.
	RetryAfter time.Duration
	// Body is the start of a non-JSON body (plain text or HTML).
	Body string
	// Err is the underlying network error for KindNetwork.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "jira: %s %s: ", e.Method, e.URL)
	if e.Kind == KindNetwork {
		fmt.Fprintf(&b, "%v", e.Err)
	} else {
		fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if d := e.detail(); d != "" {
		b.WriteString(": ")
		b.WriteString(d)
	}
	if h := e.Hint(); h != "" {
		b.WriteString(" (")
		b.WriteString(h)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) detail() string {
	var parts []string
	parts = append(parts, e.ErrorMessages...)
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+e.Errors[k])
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	if e.OAuthProblem != "" {
		parts = append(parts, "oauth_problem="+e.OAuthProblem)
	}
	if e.DeniedReason != "" {
		parts = append(parts, "X-Authentication-Denied-Reason: "+e.DeniedReason)
	} else if e.LoginReason != "" && e.LoginReason != "OK" {
		parts = append(parts, "X-Seraph-LoginReason: "+e.LoginReason)
	}
	if len(parts) == 0 && e.Body != "" && e.Kind != KindSSO {
		parts = append(parts, strconvQuote(e.Body))
	}
	return strings.Join(parts, "; ")
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// Hint says in words what the user or admin should do about the error.
func (e *Error) Hint() string {
	switch e.Kind {
	case KindNetwork:
		if h := tlsHint(e.Err); h != "" {
			return h
		}
		return "check that asanajira can reach Jira at this address (DNS, firewall, proxy, TLS certificate) and that Jira is running"
	case KindOAuth:
		return oauthHint(e.OAuthProblem)
	case KindCaptcha:
		return "Jira locked this account behind a CAPTCHA after failed logins: log in to Jira once in a browser, then try again"
	case KindBasicAuthDisabled:
		return "basic authentication is disabled on this Jira; use a personal access token or OAuth instead, or ask the Jira admin to allow basic auth for this user"
	case KindSSO:
		return "Jira answered with an HTML login page instead of JSON: an SSO or proxy login intercepted the call; use OAuth or a personal access token, and make sure the base URL points at Jira itself"
	case KindRedirect:
		return "Jira redirected the request to " + e.Location + "; set the Jira base URL to the address Jira itself reports (Administration → System → Base URL)"
	case KindUnauthorized:
		if e.LoginReason == "AUTHENTICATED_FAILED" || e.LoginReason == "AUTHENTICATION_DENIED" {
			return "Jira rejected the credential: reconnect the Jira account"
		}
		return "Jira did not accept the credential: reconnect the Jira account (the token may have been revoked or expired)"
	case KindForbidden:
		return "the Jira user lacks the permission for this action; ask a Jira admin to grant it"
	case KindNotFound:
		return "it does not exist, or the connected Jira user may not see it"
	case KindValidation:
		return "Jira rejected the values; fix the fields listed"
	case KindRateLimited:
		if e.RetryAfter > 0 {
			return "Jira's rate limit was reached; retry after " + e.RetryAfter.String()
		}
		return "Jira's rate limit was reached; retry later or ask the Jira admin to raise the limit for this user"
	case KindServer:
		if e.StatusCode == http.StatusServiceUnavailable {
			return "Jira is unavailable (maintenance or a node down); retry later"
		}
		return "Jira failed internally; retry later, and check Jira's logs if it persists"
	case KindTooLarge:
		return "the file is larger than Jira or a proxy in front of it accepts; raise the attachment limit in Jira (Administration → System → Attachments) or the proxy's body limit"
	}
	return ""
}

func oauthHint(problem string) string {
	switch problem {
	case "consumer_key_unknown":
		return "Jira has no application link with this consumer key: create the application link (incoming, with this consumer key and public key) or fix the consumer key"
	case "signature_invalid":
		return "the signature did not match: the base URL configured in asanajira must be exactly the URL Jira believes it has (scheme, host, port, context path), a proxy must not rewrite it, and the public key in the application link must match asanajira's private key"
	case "signature_method_rejected":
		return "Jira accepts only RSA-SHA1 signatures for this consumer"
	case "timestamp_refused":
		return "the clocks of asanajira's host and Jira differ by more than 5 minutes: synchronise both with NTP"
	case "token_rejected", "token_expired", "token_revoked":
		return "the Jira access token is no longer valid (revoked by the user, expired, or the application link changed): reconnect the Jira account"
	case "nonce_used":
		return "Jira saw this nonce before; retry the request"
	case "permission_denied", "permission_unknown":
		return "the user did not allow access in Jira: connect the Jira account again and click Allow"
	case "consumer_key_refused", "consumer_key_rejected":
		return "the application link's consumer is disabled in Jira: ask the Jira admin to enable it"
	case "parameter_absent":
		return "the OAuth request missed a parameter; restart the Jira connection"
	}
	return "Jira refused the OAuth request: check the application link, then reconnect the Jira account"
}

// Is lets errors.Is match the package sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Kind == KindNotFound
	case ErrUnauthorized:
		switch e.Kind {
		case KindUnauthorized, KindOAuth, KindCaptcha, KindSSO, KindBasicAuthDisabled:
			return true
		}
	case ErrForbidden:
		return e.Kind == KindForbidden
	case ErrRateLimited:
		return e.Kind == KindRateLimited
	case ErrAttachmentTooLarge:
		return e.Kind == KindTooLarge
	}
	return false
}

// Unwrap returns the network error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether retrying later may succeed (rate limit, 5xx,
// network).
func (e *Error) Temporary() bool {
	switch e.Kind {
	case KindNetwork, KindRateLimited, KindServer:
		return true
	}
	return false
}

// CheckResponse turns a non-2xx answer into an *Error, reading at most 1 MiB
// of its body. It does not close the body.
func CheckResponse(resp *http.Response) *Error {
	e := &Error{StatusCode: resp.StatusCode}
	if resp.Request != nil {
		e.Method = resp.Request.Method
		e.URL = sanitizeURL(resp.Request.URL)
	}
	h := resp.Header
	e.RetryAfter = parseRetryAfter(h.Get("Retry-After"))
	e.LoginReason = h.Get("X-Seraph-LoginReason")
	e.DeniedReason = h.Get("X-Authentication-Denied-Reason")
	if p := wwwAuthParam(h.Values("WWW-Authenticate"), "oauth_problem"); p != "" {
		e.OAuthProblem = p
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	trimmed := strings.TrimSpace(string(body))
	switch {
	case isHTML(h) || strings.HasPrefix(strings.ToLower(trimmed), "<!doctype html") || strings.HasPrefix(strings.ToLower(trimmed), "<html"):
		e.Body = snippet(body)
		e.Kind = KindSSO
	case strings.HasPrefix(trimmed, "{"):
		var jb struct {
			ErrorMessages []string        `json:"errorMessages"`
			Errors        map[string]any  `json:"errors"`
			Message       string          `json:"message"`
			Raw           json.RawMessage `json:"-"`
		}
		if json.Unmarshal(body, &jb) == nil {
			e.ErrorMessages = jb.ErrorMessages
			if len(jb.Errors) > 0 {
				e.Errors = make(map[string]string, len(jb.Errors))
				for k, v := range jb.Errors {
					if s, ok := v.(string); ok {
						e.Errors[k] = s
					} else {
						b, _ := json.Marshal(v)
						e.Errors[k] = string(b)
					}
				}
			}
			e.Message = jb.Message
		} else {
			e.Body = snippet(body)
		}
	case strings.Contains(trimmed, "oauth_problem="):
		if v, err := url.ParseQuery(trimmed); err == nil {
			if p := v.Get("oauth_problem"); p != "" {
				e.OAuthProblem = p
			}
			e.OAuthSignatureBaseString = v.Get("oauth_signature_base_string")
		} else {
			e.Body = snippet(body)
		}
	default:
		e.Body = snippet(body)
	}
	if e.OAuthSignatureBaseString != "" && resp.Request != nil {
		e.SentSignatureBaseString = baseStringOfSigned(resp.Request)
	}
	e.classify(resp)
	return e
}

func (e *Error) classify(resp *http.Response) {
	status := resp.StatusCode
	lowerBody := strings.ToLower(e.Body + " " + e.Message + " " + strings.Join(e.ErrorMessages, " "))
	switch {
	case e.OAuthProblem != "":
		e.Kind = KindOAuth
	case strings.Contains(strings.ToUpper(e.DeniedReason), "CAPTCHA"):
		e.Kind = KindCaptcha
	case strings.Contains(lowerBody, "basic authentication has been disabled") || strings.Contains(lowerBody, "basic auth has been disabled"):
		e.Kind = KindBasicAuthDisabled
	case status >= 300 && status < 400:
		loc := resp.Header.Get("Location")
		if u, err := resp.Request.URL.Parse(loc); err == nil && loc != "" {
			e.Location = sanitizeURL(u)
		}
		// Decide by the target alone: net/http and most servers put a small
		// HTML page in every redirect.
		if looksLikeLogin(loc) {
			e.Kind = KindSSO
		} else {
			e.Kind = KindRedirect
		}
	case status == http.StatusRequestEntityTooLarge,
		status == http.StatusNotFound && strings.Contains(lowerBody, "exceeds its maximum permitted size"):
		e.Kind = KindTooLarge
	case e.Kind == KindSSO && (status == http.StatusUnauthorized || status == http.StatusForbidden || status < 300):
		// An HTML login page.
	case status == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
	case status == http.StatusForbidden:
		e.Kind = KindForbidden
	case status == http.StatusNotFound:
		e.Kind = KindNotFound
	case status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
	case status >= 500:
		e.Kind = KindServer
	case status == http.StatusBadRequest:
		e.Kind = KindValidation
	default:
		e.Kind = KindOther
	}
}

func looksLikeLogin(loc string) bool {
	l := strings.ToLower(loc)
	for _, s := range []string{"login", "saml", "sso", "oauth2/authorize", "openid", "auth"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(s string) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// wwwAuthParam finds a parameter in an OAuth WWW-Authenticate challenge:
// `OAuth realm="https://jira", oauth_problem="token_rejected"`.
func wwwAuthParam(values []string, name string) string {
	for _, v := range values {
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "oauth") {
			continue
		}
		for _, part := range strings.Split(v[strings.Index(strings.ToLower(v), "oauth")+5:], ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || strings.TrimSpace(k) != name {
				continue
			}
			val = strings.Trim(strings.TrimSpace(val), `"`)
			if dec, err := url.QueryUnescape(val); err == nil {
				val = dec
			}
			return val
		}
	}
	return ""
}

// snippet keeps the start of a body for an error message, on one line.
func snippet(b []byte) string {
	const max = 300
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
