package asana

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Faults are the failure knobs, shared with the Jira emulator's
// /_emulator/faults JSON. They never apply to /_emulator paths.
type Faults struct {
	// LatencyMS delays every matching request.
	LatencyMS int `json:"latency_ms"`
	// ErrorRate (0..1) fails that share of matching requests with ErrorStatus.
	ErrorRate float64 `json:"error_rate"`
	// ErrorStatus is 500, 502 or 503 (default 503).
	ErrorStatus int `json:"error_status"`
	// Throttle answers every matching request 429 with Retry-After.
	Throttle bool `json:"throttle"`
	// RetryAfterSeconds is the Retry-After of throttled and 503 answers (default 5).
	RetryAfterSeconds int `json:"retry_after_seconds"`
	// Reset, when true in a PUT, clears every fault.
	Reset bool `json:"reset"`
	// SSOHTML answers like a single sign-on proxy in front of the server:
	// 200 with an HTML login page instead of JSON.
	SSOHTML bool `json:"sso_html"`
	// ClockSkewSeconds shifts the emulator's clock (timestamps, token
	// expiry, expires_at of App Components requests).
	ClockSkewSeconds int `json:"clock_skew_seconds"`
	// PathPrefix limits the faults to request paths with this prefix.
	PathPrefix string `json:"path_prefix"`
}

func (f Faults) normalized() (Faults, error) {
	if f.Reset {
		return Faults{}, nil
	}
	if f.ErrorRate < 0 || f.ErrorRate > 1 {
		return f, fmt.Errorf("error_rate must be between 0 and 1")
	}
	if f.LatencyMS < 0 || f.RetryAfterSeconds < 0 {
		return f, fmt.Errorf("latency_ms and retry_after_seconds must not be negative")
	}
	switch f.ErrorStatus {
	case 0:
		f.ErrorStatus = http.StatusServiceUnavailable
	case 500, 502, 503:
	default:
		return f, fmt.Errorf("error_status must be 500, 502 or 503")
	}
	if f.RetryAfterSeconds == 0 {
		f.RetryAfterSeconds = 5
	}
	return f, nil
}

// SetFaults replaces the active faults (Reset clears them).
func (s *Server) SetFaults(f Faults) error {
	f, err := f.normalized()
	if err != nil {
		return fmt.Errorf("asana emulator: faults: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.faults = f
	return nil
}

// Faults returns the active faults.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.faults
}

func (s *Server) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "faults: " + err.Error()})
		return
	}
	if err := s.SetFaults(f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) handleDeleteFaults(w http.ResponseWriter, _ *http.Request) {
	_ = s.SetFaults(Faults{Reset: true})
	writeJSON(w, http.StatusOK, s.Faults())
}

const ssoPage = `<!DOCTYPE html><html><head><title>Sign in - Acme SSO</title></head>
<body><h1>Sign in to continue</h1><form method="post" action="/sso/login">
<input name="username"><input name="password" type="password"><button>Sign in</button></form></body></html>`

// applyFaults injects the active faults; it reports whether it answered.
func (s *Server) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.st.faults
	s.mu.Unlock()
	if f.PathPrefix != "" && !strings.HasPrefix(r.URL.Path, f.PathPrefix) {
		return false
	}
	if f.LatencyMS > 0 {
		t := time.NewTimer(time.Duration(f.LatencyMS) * time.Millisecond)
		select {
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-t.C:
		}
	}
	switch {
	case f.SSOHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(ssoPage))
		return true
	case f.Throttle:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfterSeconds))
		writeAPIError(w, http.StatusTooManyRequests, "You have made too many requests recently. Please, be chill.")
		return true
	case f.ErrorRate > 0 && rand.Float64() < f.ErrorRate:
		if f.ErrorStatus == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfterSeconds))
		}
		writeAPIError(w, f.ErrorStatus, "Server Error")
		return true
	}
	return false
}
