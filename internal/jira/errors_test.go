package jira

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		kind     ErrorKind
		is       error
		contains []string
	}{
		{
			name: "oauth problem in body with base string",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(401)
				_, _ = w.Write([]byte("oauth_problem=signature_invalid&oauth_signature=abc&oauth_signature_base_string=GET%26https%253A%252F%252Fjira%26x"))
			},
			kind: KindOAuth, is: ErrUnauthorized, contains: []string{"oauth_problem=signature_invalid", "base URL configured in asanajira"},
		},
		{
			name: "oauth problem in WWW-Authenticate",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `OAuth realm="https%3A%2F%2Fjira", oauth_problem="token_rejected"`)
				w.WriteHeader(401)
			},
			kind: KindOAuth, is: ErrUnauthorized, contains: []string{"token_rejected", "reconnect the Jira account"},
		},
		{
			name: "timestamp refused",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(401)
				_, _ = w.Write([]byte("oauth_problem=timestamp_refused"))
			},
			kind: KindOAuth, is: ErrUnauthorized, contains: []string{"NTP"},
		},
		{
			name: "captcha",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Seraph-LoginReason", "AUTHENTICATION_DENIED")
				w.Header().Set("X-Authentication-Denied-Reason", "CAPTCHA_CHALLENGE; login-url=https://jira/login.jsp")
				w.WriteHeader(403)
			},
			kind: KindCaptcha, is: ErrUnauthorized, contains: []string{"CAPTCHA", "log in to Jira once in a browser"},
		},
		{
			name: "basic auth disabled",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 403, `{"message":"Basic Authentication has been disabled on this instance."}`)
			},
			kind: KindBasicAuthDisabled, is: ErrUnauthorized, contains: []string{"personal access token"},
		},
		{
			name: "sso html on 200",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write([]byte("<!DOCTYPE html><html><body>Sign in with Okta</body></html>"))
			},
			kind: KindSSO, is: ErrUnauthorized, contains: []string{"HTML login page"},
		},
		{
			name: "redirect to saml",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://idp.example.com/saml/login?SAMLRequest=xyz", http.StatusFound)
			},
			kind: KindSSO, is: ErrUnauthorized,
		},
		{
			name: "redirect to https",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://jira.example.com/jira/rest/api/2/myself", http.StatusMovedPermanently)
			},
			kind: KindRedirect, contains: []string{"https://jira.example.com/jira/rest/api/2/myself", "base URL"},
		},
		{
			name: "plain 401",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
				w.WriteHeader(401)
			},
			kind: KindUnauthorized, is: ErrUnauthorized, contains: []string{"reconnect"},
		},
		{
			name: "not found",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 404, `{"errorMessages":["Issue Does Not Exist"],"errors":{}}`)
			},
			kind: KindNotFound, is: ErrNotFound, contains: []string{"Issue Does Not Exist", "may not see it"},
		},
		{
			name: "forbidden",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 403, `{"errorMessages":["You do not have permission"]}`)
			},
			kind: KindForbidden, is: ErrForbidden,
		},
		{
			name: "validation",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 400, `{"errorMessages":[],"errors":{"customfield_10011":"Epic Name is required.","summary":"You must specify a summary of the issue."}}`)
			},
			kind: KindValidation, contains: []string{"customfield_10011: Epic Name is required.; summary: You must"},
		},
		{
			name: "rate limited",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				writeJSON(w, 429, `{"message":"Rate limit exceeded"}`)
			},
			kind: KindRateLimited, is: ErrRateLimited, contains: []string{"retry after 1h0m0s"},
		},
		{
			name: "server error",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 500, `{"errorMessages":["NullPointerException"]}`)
			},
			kind: KindServer,
		},
		{
			name: "proxy 502 html is a server error, not SSO",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				_, _ = w.Write([]byte("<html>Bad Gateway</html>"))
			},
			kind: KindServer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			mux.HandleFunc("/rest/api/2/myself", tt.handler)
			_, err := c.Myself(t.Context())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Kind != tt.kind {
				t.Errorf("kind = %v, want %v (%v)", e.Kind, tt.kind, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			for _, s := range []error{ErrNotFound, ErrUnauthorized, ErrForbidden, ErrRateLimited} {
				if !errors.Is(s, tt.is) && errors.Is(err, s) { // sentinels other than the expected one
					t.Errorf("error also matches %v", s)
				}
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if !strings.Contains(err.Error(), "/jira/rest/api/2/myself") {
				t.Errorf("error does not name the request: %v", err)
			}
		})
	}
}

func TestErrorSanitizesURL(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/rest/api/2/issue/X-1", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	req, _ := c.NewRequest(t.Context(), "GET", "rest/api/2/issue/X-1?token=abc&os_password=hunter2&fields=summary", nil)
	_, err := c.Do(req, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "abc") || !strings.Contains(err.Error(), "fields=summary") {
		t.Errorf("err = %v", err)
	}
}

func TestOAuthBaseStringEcho(t *testing.T) {
	t.Parallel()
	c, mux, srvURL := setup(t)
	mux.HandleFunc("/rest/api/2/myself", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		_, _ = w.Write([]byte("oauth_problem=signature_invalid&oauth_signature_base_string=GET%26http%253A%252F%252Finternal%253A8080%252Fjira%252Frest%252Fapi%252F2%252Fmyself%26oauth_consumer_key%253Dk"))
	})
	signer := &OAuth1Signer{ConsumerKey: "k", PrivateKey: testKey(t)}
	c.hc.Transport = &OAuth1Transport{Signer: signer, Token: "tok", Base: c.hc.Transport}
	_, err := c.Myself(t.Context())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.OAuthSignatureBaseString, "GET&http%3A%2F%2Finternal%3A8080%2Fjira") {
		t.Errorf("Jira's base string = %q", e.OAuthSignatureBaseString)
	}
	wantPrefix := "GET&" + strings.ReplaceAll(strings.ReplaceAll(srvURL, ":", "%3A"), "/", "%2F") + "%2Fjira%2Frest%2Fapi%2F2%2Fmyself&oauth_consumer_key%3Dk"
	if !strings.HasPrefix(e.SentSignatureBaseString, wantPrefix) {
		t.Errorf("sent base string = %q, want prefix %q", e.SentSignatureBaseString, wantPrefix)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		path      string
		failures  []int // statuses before success
		wantCalls int
		wantErr   error
	}{
		{"GET retried on 503", "GET", "rest/api/2/myself", []int{503, 502}, 3, nil},
		{"GET gives up after MaxAttempts", "GET", "rest/api/2/myself", []int{500, 500, 500}, 3, nil},
		{"POST issue not retried on 500", "POST", "rest/api/2/issue", []int{500}, 1, nil},
		{"POST issue not retried on 503", "POST", "rest/api/2/issue", []int{503}, 1, nil},
		{"POST issue retried on 429", "POST", "rest/api/2/issue", []int{429}, 2, nil},
		{"search POST retried on 500", "POST", "rest/api/2/search", []int{500}, 2, nil},
		{"404 not retried", "GET", "rest/api/2/myself", []int{404}, 1, ErrNotFound},
		{"429 with long Retry-After returned", "GET", "rest/api/2/myself", []int{-429}, 1, ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var calls atomic.Int32
			var slept []time.Duration
			c.sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			mux.HandleFunc("/"+tt.path, func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if n <= len(tt.failures) {
					st := tt.failures[n-1]
					switch st {
					case -429:
						w.Header().Set("Retry-After", "7200")
						st = 429
					case 429:
						w.Header().Set("Retry-After", "2")
					}
					writeJSON(w, st, `{"errorMessages":["x"]}`)
					return
				}
				writeJSON(w, 200, `{"key":"A-1","name":"alice","total":0}`)
			})
			var body any
			if tt.method == "POST" {
				body = map[string]string{"a": "b"}
			}
			req, _ := c.NewRequest(t.Context(), tt.method, tt.path, body)
			if tt.path == "rest/api/2/search" {
				req = idempotent(req)
			}
			_, err := c.Do(req, new(map[string]any))
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d (err %v)", got, tt.wantCalls, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.name == "POST issue retried on 429" && (len(slept) != 1 || slept[0] != 2*time.Second) {
				t.Errorf("slept %v, want Retry-After 2s", slept)
			}
			var e *Error
			if tt.name == "429 with long Retry-After returned" && (!errors.As(err, &e) || e.RetryAfter != 2*time.Hour) {
				t.Errorf("RetryAfter not reported: %v", err)
			}
		})
	}
}

func TestRetryNetworkError(t *testing.T) {
	t.Parallel()
	// A listener that accepts and immediately closes: every GET fails at
	// the network level.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c, err := New("http://"+ln.Addr().String()+"/jira", hc, WithRetryPolicy(RetryPolicy{MaxAttempts: 3}))
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(ctx context.Context, d time.Duration) error { return nil }
	_, err = c.Myself(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindNetwork || !e.Temporary() {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "check that asanajira can reach Jira") {
		t.Errorf("err = %v", err)
	}
	if got := accepted.Load(); got != 3 {
		t.Errorf("connections = %d, want 3", got)
	}
	// A POST creating an issue is not retried after a network error.
	accepted.Store(0)
	_, _ = c.CreateIssue(t.Context(), IssueInput{Fields: map[string]any{"summary": "x"}})
	if got := accepted.Load(); got != 1 {
		t.Errorf("create connections = %d, want 1", got)
	}
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/rest/api/2/myself", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Myself(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
}

func TestBackoffCapped(t *testing.T) {
	t.Parallel()
	c := &Client{retry: RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}}
	for attempt := 1; attempt < 70; attempt++ {
		d := c.backoff(attempt)
		if d < 0 || d > time.Second {
			t.Fatalf("backoff(%d) = %v", attempt, d)
		}
	}
}
