package jira

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Faults are injected failures. The same JSON shape is served by both of
// asanajira's emulators at <context path>/_emulator/faults. Faults never apply
// to /_emulator paths.
type Faults struct {
	// LatencyMS delays every response.
	LatencyMS int `json:"latency_ms"`
	// ErrorRate is the share (0..1) of requests answered with ErrorStatus.
	ErrorRate float64 `json:"error_rate"`
	// ErrorStatus is 500, 502 or 503 (default 503). 500 answers Jira's JSON
	// error body; 502 and 503 answer an HTML page, as a proxy in front of a
	// stopped Jira node does.
	ErrorStatus int `json:"error_status"`
	// Throttle answers 429 with Retry-After to every request.
	Throttle bool `json:"throttle"`
	// RetryAfterSeconds is the Retry-After of throttled answers (default 5).
	RetryAfterSeconds int `json:"retry_after_seconds"`
	// Reset closes the connection without an answer.
	Reset bool `json:"reset"`
	// SSOHTML answers 200 with an identity-provider login page (HTML)
	// instead of JSON, as Jira behind a SAML/OIDC SSO plugin does for a
	// request it does not consider authenticated.
	SSOHTML bool `json:"sso_html"`
	// ClockSkewSeconds shifts the emulator's clock: serverTime, the Date
	// header and the OAuth 1.0a timestamp check all see the shifted time.
	ClockSkewSeconds int `json:"clock_skew_seconds"`
	// PathPrefix limits the other faults to request paths that start with
	// it (the full path, context path included); empty means all paths.
	PathPrefix string `json:"path_prefix"`
	// DropWebhooks silently sends no webhook delivery, as when Jira cannot
	// reach the receiver (Jira Server/DC does not retry). PathPrefix does
	// not limit it.
	DropWebhooks bool `json:"drop_webhooks"`
}

func (f Faults) validate() error {
	if f.ErrorRate < 0 || f.ErrorRate > 1 || math.IsNaN(f.ErrorRate) {
		return fmt.Errorf("error_rate must be between 0 and 1, got %v", f.ErrorRate)
	}
	switch f.ErrorStatus {
	case 0, 500, 502, 503:
	default:
		return fmt.Errorf("error_status must be 500, 502 or 503, got %d", f.ErrorStatus)
	}
	if f.LatencyMS < 0 || f.RetryAfterSeconds < 0 {
		return fmt.Errorf("latency_ms and retry_after_seconds must not be negative")
	}
	return nil
}

// SetFaults replaces the injected faults; the zero Faults clears them.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("jira emulator: faults: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return nil
}

// CurrentFaults returns the injected faults.
func (s *Server) CurrentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// applyFaults answers r with a fault when one applies and reports whether it did.
func (s *Server) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.faults
	base := s.baseURL(r)
	s.mu.Unlock()
	w.Header().Set("Date", s.clockNow().UTC().Format(http.TimeFormat))
	if f.PathPrefix != "" && !strings.HasPrefix(r.URL.Path, f.PathPrefix) {
		return false
	}
	if f.LatencyMS > 0 {
		t := time.NewTimer(time.Duration(f.LatencyMS) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case f.Reset:
		// ErrAbortHandler makes net/http drop the connection without an answer.
		panic(http.ErrAbortHandler)
	case f.Throttle:
		ra := f.RetryAfterSeconds
		if ra == 0 {
			ra = 5
		}
		w.Header().Set("Retry-After", itoa(ra))
		s.writeErrors(w, http.StatusTooManyRequests, []string{"Rate limit exceeded."}, nil)
		return true
	case f.ErrorRate > 0 && rand.Float64() < f.ErrorRate:
		st := f.ErrorStatus
		if st == 0 {
			st = http.StatusServiceUnavailable
		}
		if st == http.StatusInternalServerError {
			s.writeErrors(w, st, []string{"Internal server error"}, nil)
			return true
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(st)
		fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><center><h1>%d %s</h1></center><hr><center>nginx</center></body></html>\n",
			st, http.StatusText(st), st, http.StatusText(st))
		return true
	case f.SSOHTML:
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, ssoPage, htmlEscape(base+r.URL.Path))
		return true
	}
	return false
}

// clockNow reads the clock under the lock (faults may skew it).
func (s *Server) clockNow() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

const ssoPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign In</title>
<meta name="robots" content="noindex,nofollow"></head>
<body class="auth okta-container">
<div id="okta-sign-in" class="auth-container main-container">
<h2 class="okta-form-title">Sign In</h2>
<form method="post" action="https://login.example-idp.okta.com/sso/saml" id="form19">
<input type="hidden" name="RelayState" value="%s">
<label for="okta-signin-username">Username</label><input id="okta-signin-username" name="username" type="text">
<label for="okta-signin-password">Password</label><input id="okta-signin-password" name="password" type="password">
<input type="submit" value="Sign In" id="okta-signin-submit">
</form></div></body></html>
`

// ---- rate limiting (Data Center 8.6+) ----

type bucket struct {
	tokens float64
	last   time.Time
}

// rateLimitExempt lists the paths Jira never throttles.
func (s *Server) rateLimitExempt(p string) bool {
	p = strings.TrimPrefix(p, s.cp)
	return !strings.HasPrefix(p, "/rest/") ||
		strings.HasPrefix(p, "/rest/auth/1/session") ||
		strings.HasSuffix(p, "/serverInfo") ||
		strings.Contains(p, "/remotelink") ||
		strings.HasPrefix(p, "/rest/applinks") ||
		strings.HasPrefix(p, "/rest/oauth2/")
}

// rateLimit applies the per-user token bucket and reports whether the
// request may proceed. Only authenticated REST calls count.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, u *user) bool {
	rl := s.opts.RateLimit
	if rl == nil || u == nil || !s.prof.hasRateLimit() || s.rateLimitExempt(r.URL.Path) {
		return true
	}
	interval := rl.IntervalSeconds
	if interval <= 0 {
		interval = 1
	}
	s.mu.Lock()
	now := s.now()
	b, ok := s.buckets[u.name]
	if !ok {
		b = &bucket{tokens: float64(rl.Capacity), last: now}
		s.buckets[u.name] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(float64(rl.Capacity), b.tokens+el*float64(rl.FillRate)/float64(interval))
		b.last = now
	}
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	remaining := int(b.tokens)
	retry := 0
	if !allowed && rl.FillRate > 0 {
		retry = int(math.Ceil((1 - b.tokens) * float64(interval) / float64(rl.FillRate)))
	}
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", itoa(rl.Capacity))
	h.Set("X-RateLimit-Remaining", itoa(remaining))
	h.Set("X-RateLimit-Interval-Seconds", itoa(interval))
	h.Set("X-RateLimit-FillRate", itoa(rl.FillRate))
	h.Set("Retry-After", itoa(retry))
	if !allowed {
		s.writeErrors(w, http.StatusTooManyRequests, []string{"Rate limit exceeded."}, nil)
	}
	return allowed
}

// ---- emulator control endpoints ----

func (s *Server) emulatorRoutes() {
	s.mux.HandleFunc("GET "+s.cp+"/_emulator/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.CurrentFaults())
	})
	s.mux.HandleFunc("PUT "+s.cp+"/_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := decodeStrict(r, &f); err != nil {
			s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
			return
		}
		if err := s.SetFaults(f); err != nil {
			s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
			return
		}
		writeJSON(w, http.StatusOK, s.CurrentFaults())
	})
	s.mux.HandleFunc("DELETE "+s.cp+"/_emulator/faults", func(w http.ResponseWriter, _ *http.Request) {
		_ = s.SetFaults(Faults{})
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("POST "+s.cp+"/_emulator/oauth/approve", s.emulatorApprove)
	s.mux.HandleFunc("POST "+s.cp+"/_emulator/oauth2/clients", s.emulatorOAuth2Client)
}
