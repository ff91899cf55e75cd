package asana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
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
	// PathPrefix limits the request faults above to request paths with
	// this prefix.
	PathPrefix string `json:"path_prefix"`
	// FreeWorkspace makes the workspace a free one: creating custom fields
	// and their options, and adding them to projects, answer 402 Payment
	// Required, as Asana does without a paid plan.
	FreeWorkspace bool `json:"free_workspace"`

	// Delivery faults act on events, not on requests: on webhook deliveries
	// and on what GET /events lists (DeliveryScope narrows them to one).
	// Real Asana delivers webhooks at most once, about a minute late on
	// average and unordered; these knobs make that happen in tests.

	// DelayMS holds every event back this long before a webhook delivers
	// it or /events lists it.
	DelayMS int `json:"delay_ms"`
	// DelayJitterMS adds a random 0..DelayJitterMS to each event's delay,
	// so webhook deliveries also arrive out of order.
	DelayJitterMS int `json:"delay_jitter_ms"`
	// DropRate (0..1) loses that share of events: a webhook never delivers
	// them and /events never lists them.
	DropRate float64 `json:"drop_rate"`
	// DuplicateRate (0..1) delivers (or lists) that share of events twice.
	DuplicateRate float64 `json:"duplicate_rate"`
	// Reorder shuffles the events of each webhook delivery and of each
	// /events page.
	Reorder bool `json:"reorder"`
	// DeliveryScope is where the delivery faults apply: "all" (or empty),
	// "webhooks" or "events".
	DeliveryScope string `json:"delivery_scope"`
	// ExpireSyncTokens expires every events sync token at once, as Asana
	// may at any time: each GET /events answers 412 with a fresh token
	// while it is on.
	ExpireSyncTokens bool `json:"expire_sync_tokens"`
	// SyncTokenTTLMS shortens the life of sync tokens from 24 hours to
	// this many milliseconds.
	SyncTokenTTLMS int `json:"sync_token_ttl_ms"`
	// Seed makes the random choices (error_rate, drop_rate,
	// duplicate_rate, delay_jitter_ms, reorder) repeatable: the same seed
	// and the same sequence of changes give the same faults. Zero picks a
	// random seed.
	Seed uint64 `json:"seed"`
}

// Where delivery faults apply.
const (
	scopeWebhooks = "webhooks"
	scopeEvents   = "events"
)

func (f Faults) appliesTo(scope string) bool {
	return f.DeliveryScope == "" || f.DeliveryScope == "all" || f.DeliveryScope == scope
}

func (f Faults) normalized() (Faults, error) {
	if f.Reset {
		return Faults{}, nil
	}
	for name, rate := range map[string]float64{"error_rate": f.ErrorRate, "drop_rate": f.DropRate, "duplicate_rate": f.DuplicateRate} {
		if rate < 0 || rate > 1 {
			return f, fmt.Errorf("%s must be between 0 and 1", name)
		}
	}
	if f.LatencyMS < 0 || f.RetryAfterSeconds < 0 || f.DelayMS < 0 || f.DelayJitterMS < 0 || f.SyncTokenTTLMS < 0 {
		return f, fmt.Errorf("latency_ms, retry_after_seconds, delay_ms, delay_jitter_ms and sync_token_ttl_ms must not be negative")
	}
	switch f.DeliveryScope {
	case "", "all", scopeWebhooks, scopeEvents:
	default:
		return f, fmt.Errorf("delivery_scope must be all, webhooks or events")
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
	s.st.rng = newRNG(f.Seed)
	return nil
}

// newRNG returns the source of the faults' random choices: repeatable for
// a non-zero seed.
func newRNG(seed uint64) *rand.Rand {
	if seed == 0 {
		return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// deliveryDelayLocked is one event's delay under the delivery faults.
func (s *Server) deliveryDelayLocked() time.Duration {
	f := s.st.faults
	d := time.Duration(f.DelayMS) * time.Millisecond
	if f.DelayJitterMS > 0 {
		d += time.Duration(s.st.rng.IntN(f.DelayJitterMS+1)) * time.Millisecond
	}
	return d
}

// faultKeys are the JSON keys of Faults, for the unknown-key message.
var faultKeys = func() []string {
	var keys []string
	t := reflect.TypeFor[Faults]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	slices.Sort(keys)
	return keys
}()

// decodeFaults reads a faults body, refusing keys it does not know rather
// than ignoring them (a typo would otherwise look like a fault that never
// fires).
func decodeFaults(raw []byte) (Faults, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return Faults{}, fmt.Errorf("faults: the body must be a JSON object: %w", err)
	}
	var unknown []string
	for k := range keys {
		if !slices.Contains(faultKeys, k) {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return Faults{}, fmt.Errorf("faults: unknown key %s; known keys: %s", strings.Join(unknown, ", "), strings.Join(faultKeys, ", "))
	}
	var f Faults
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Faults{}, fmt.Errorf("faults: %w", err)
	}
	return f, nil
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
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<16))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "faults: " + err.Error()})
		return
	}
	f, err := decodeFaults(raw)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
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
	match := f.PathPrefix == "" || strings.HasPrefix(r.URL.Path, f.PathPrefix)
	fail := match && f.ErrorRate > 0 && s.st.rng.Float64() < f.ErrorRate
	s.mu.Unlock()
	if !match {
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
	case fail:
		if f.ErrorStatus == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfterSeconds))
		}
		writeAPIError(w, f.ErrorStatus, "Server Error")
		return true
	}
	return false
}
