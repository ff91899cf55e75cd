package asana

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Sentinels matched by errors.Is against an *Error.
var (
	// ErrNotFound: 404 (unknown or invisible object).
	ErrNotFound = errors.New("asana: not found")
	// ErrUnauthorized: 401, the token is invalid, expired, revoked, or the
	// app is disabled in the workspace; the user must reconnect Asana.
	ErrUnauthorized = errors.New("asana: unauthorized")
	// ErrForbidden: 403, no access (a locked custom field, too).
	ErrForbidden = errors.New("asana: forbidden")
	// ErrRateLimited: 429; wait for Error.RetryAfter.
	ErrRateLimited = errors.New("asana: rate limited")
	// ErrPaymentRequired: 402, a premium-only feature (custom fields on a
	// free workspace).
	ErrPaymentRequired = errors.New("asana: premium feature")
	// ErrSyncTokenInvalid: 412 from the events API; SyncError carries the
	// fresh token.
	ErrSyncTokenInvalid = errors.New("asana: events sync token invalid or expired")
)

// Error is a failed call to Asana: a non-2xx answer or a network failure.
type Error struct {
	Method     string
	URL        string // secrets redacted
	StatusCode int
	// Messages are the errors[].message of Asana's error body.
	Messages []string
	// Help is errors[].help; Phrase (500s only) is what Asana support asks for.
	Help       string
	Phrase     string
	RetryAfter time.Duration
	// Sync is the fresh sync token of a 412 from the events API.
	Sync string
	Err  error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "asana: %s %s: ", e.Method, e.URL)
	if e.StatusCode == 0 {
		fmt.Fprintf(&b, "%v", e.Err)
	} else {
		fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if len(e.Messages) > 0 {
		b.WriteString(": " + strings.Join(e.Messages, "; "))
	}
	if e.Phrase != "" {
		b.WriteString(" (error phrase for Asana support: " + e.Phrase + ")")
	}
	if h := e.Hint(); h != "" {
		b.WriteString(" (" + h + ")")
	}
	return b.String()
}

// Hint says what the user or admin should do.
func (e *Error) Hint() string {
	switch {
	case e.StatusCode == 0:
		return "check that asanajira can reach Asana (DNS, firewall, proxy)"
	case e.StatusCode == http.StatusUnauthorized:
		return "the Asana token is invalid, expired or revoked, or the app is blocked in this workspace: reconnect Asana"
	case e.StatusCode == http.StatusPaymentRequired:
		return "this needs a paid Asana plan (custom fields, rules)"
	case e.StatusCode == http.StatusForbidden:
		return "the Asana user has no access to this object, or the custom field is locked; ask the project owner"
	case e.StatusCode == http.StatusNotFound:
		return "it does not exist or the Asana user cannot see it"
	case e.StatusCode == http.StatusPreconditionFailed:
		return "the events sync token expired; start again from the fresh token and reconcile"
	case e.StatusCode == http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			return "Asana's rate limit was reached; retry after " + e.RetryAfter.String()
		}
		return "Asana's rate limit was reached; retry later"
	case e.StatusCode >= 500:
		return "Asana failed; retry later"
	}
	return ""
}

// Is matches the package sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrPaymentRequired:
		return e.StatusCode == http.StatusPaymentRequired
	case ErrSyncTokenInvalid:
		return e.StatusCode == http.StatusPreconditionFailed
	}
	return false
}

// Unwrap returns the network error, if any.
func (e *Error) Unwrap() error { return e.Err }

// CheckResponse turns a non-2xx answer into an *Error, reading at most 1 MiB
// of the body. It does not close the body.
func CheckResponse(resp *http.Response) *Error {
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	if resp.Request != nil {
		e.Method = resp.Request.Method
		e.URL = sanitizeURL(resp.Request.URL)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var eb struct {
		Errors []struct {
			Message string `json:"message"`
			Help    string `json:"help"`
			Phrase  string `json:"phrase"`
		} `json:"errors"`
		Sync string `json:"sync"`
	}
	if json.Unmarshal(body, &eb) == nil {
		for _, x := range eb.Errors {
			if x.Message != "" {
				e.Messages = append(e.Messages, x.Message)
			}
			if x.Help != "" && e.Help == "" {
				e.Help = x.Help
			}
			if x.Phrase != "" {
				e.Phrase = x.Phrase
			}
		}
		e.Sync = eb.Sync
	} else if s := strings.TrimSpace(string(body)); s != "" {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		e.Messages = []string{s}
	}
	return e
}
