package appcomponents

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/httpx"
)

// request is a verified App Components request: GET query parameters or
// the decoded data object of a POST.
type request struct {
	User           string        `json:"user"`
	Workspace      string        `json:"workspace"`
	Task           string        `json:"task"`
	Attachment     string        `json:"attachment"`
	Query          string        `json:"query"`
	ResourceURL    string        `json:"resource_url"`
	Project        string        `json:"project"`
	ActionType     string        `json:"action_type"`
	Action         string        `json:"action"`
	RuleName       string        `json:"rule_name"`
	TargetObject   string        `json:"target_object"`
	IdempotencyKey string        `json:"idempotency_key"`
	ChangedField   string        `json:"changed_field"`
	Values         bridge.Values `json:"values"`
	ExpiresAt      any           `json:"expires_at"`
	Expires        any           `json:"expires"`
	// params are the GET query parameters, ours included.
	params url.Values
	// signature is the verified signature; expires the parsed expiry.
	signature string
	expires   time.Time
	// signed is the record of the signature a handler under onceWithin
	// writes with its own (nil elsewhere).
	signed *bridge.SignedCreate
}

func (q *request) identity() bridge.Identity {
	return bridge.Identity{User: q.User, Workspace: q.Workspace}
}

// SignatureHeader carries Asana's HMAC-SHA256 of the request.
const SignatureHeader = "X-Asana-Request-Signature"

// MaxExpiresAhead bounds how far in the future a request's expires_at may
// lie. Asana signs each App Components request to expire about a minute
// after it is made (the window is not documented; requests seen carry one
// minute, as the emulator does), so a signed request is worth replaying
// only for that minute. Ten minutes leaves room for clock skew between
// Asana and this host; without a bound, a captured request whose expiry
// lay years ahead could be replayed for years.
const MaxExpiresAhead = 10 * time.Minute

// Sign returns Asana's signature of message (the raw query string of a GET,
// the data string of a POST): lowercase hex HMAC-SHA256 keyed with the
// app's client secret.
func Sign(secret, message string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}

// validSignature reports whether sig, lowercase hex, is Sign(secret,
// message). It compares the MACs' bytes rather than building Sign's hex
// string: every signed request pays for this check.
func validSignature(secret, message, sig string) bool {
	var got, want [sha256.Size]byte
	if len(sig) != hex.EncodedLen(len(got)) {
		return false
	}
	if _, err := hex.Decode(got[:], []byte(sig)); err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(message))
	return hmac.Equal(m.Sum(want[:0]), got[:])
}

// authenticate checks the signature and expiry and decodes the request.
// The message is taken exactly as sent: re-encoding a query string or
// re-serialising JSON would change the bytes Asana signed.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*request, error) {
	var msg string
	req := &request{}
	if r.Method == http.MethodGet {
		msg = r.URL.RawQuery
		params, err := url.ParseQuery(msg)
		if err != nil {
			return nil, httpx.Wrap(http.StatusBadRequest, "malformed query string", err)
		}
		req.params = params
	} else {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, httpx.Wrap(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit), err)
			}
			return nil, httpx.Wrap(http.StatusBadRequest, "could not read the request body", err)
		}
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil || len(env.Data) == 0 {
			return nil, httpx.Errorf(http.StatusBadRequest, `the body must be {"data": "<JSON string>"}`)
		}
		if bytes.HasPrefix(env.Data, []byte(`"`)) {
			if err := json.Unmarshal(env.Data, &msg); err != nil {
				return nil, httpx.Wrap(http.StatusBadRequest, "the data field is not a JSON string", err)
			}
		} else {
			// Defensive: an object instead of a string is signed as sent.
			msg = string(env.Data)
		}
	}
	// A missing or wrong signature is a 400, as in Asana's example app: a
	// 401 would make Asana open the authentication popup, and a wrong client
	// secret would send every user round that loop. 401 is kept for users
	// who must authorize.
	sig := strings.ToLower(strings.TrimSpace(r.Header.Get(SignatureHeader)))
	if sig == "" {
		return nil, httpx.Errorf(http.StatusBadRequest, "missing request signature")
	}
	if !validSignature(h.d.ClientSecret, msg, sig) {
		// Lengths and a prefix of the query help diagnose a proxy that
		// re-encoded the request; the secret and signature stay out.
		h.d.Log.LogAttrs(r.Context(), slog.LevelDebug, "app components signature mismatch",
			slog.Int("message_bytes", len(msg)), slog.String("path", r.URL.Path))
		return nil, httpx.Errorf(http.StatusBadRequest, "invalid request signature")
	}
	if r.Method == http.MethodGet {
		p := req.params
		req.User, req.Workspace, req.Task, req.Attachment = p.Get("user"), p.Get("workspace"), p.Get("task"), p.Get("attachment")
		req.Query, req.ResourceURL, req.Project = firstOf(p, "query", "value", "fragment"), p.Get("resource_url"), p.Get("project")
		req.ActionType, req.Action = p.Get("action_type"), p.Get("action")
		req.ExpiresAt, req.Expires = p.Get("expires_at"), p.Get("expires")
	} else {
		dec := json.NewDecoder(strings.NewReader(msg))
		dec.UseNumber()
		if err := dec.Decode(req); err != nil {
			return nil, httpx.Wrap(http.StatusBadRequest, "the data field is not a JSON object", err)
		}
		// One object and nothing after it: what follows would be signed but
		// never read, so a request carrying it is not what Asana sends.
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, httpx.Errorf(http.StatusBadRequest, "the data field holds more than one JSON object")
		}
		for k, v := range req.Values {
			if n, ok := v.(json.Number); ok {
				req.Values[k] = n.String()
			}
		}
	}
	exp, err := expiry(req.ExpiresAt, req.Expires)
	if err != nil {
		return nil, httpx.Wrap(http.StatusBadRequest, "missing or malformed expires_at", err)
	}
	now := h.d.Now()
	if !now.Before(exp) {
		return nil, httpx.Errorf(http.StatusRequestTimeout, "Request expired.")
	}
	if exp.After(now.Add(MaxExpiresAhead)) {
		return nil, httpx.Errorf(http.StatusBadRequest,
			"expires_at lies more than %s ahead; Asana's requests expire within minutes (check this host's clock)", MaxExpiresAhead)
	}
	req.signature, req.expires = sig, exp
	if req.User == "" || req.Workspace == "" {
		return nil, httpx.Errorf(http.StatusBadRequest, "the request names no user or workspace")
	}
	return req, nil
}

func firstOf(p url.Values, names ...string) string {
	for _, n := range names {
		if v := p.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// expiry parses expires_at (RFC 3339, or epoch milliseconds as older
// requests sent) or the legacy expires parameter.
func expiry(values ...any) (time.Time, error) {
	for _, v := range values {
		var s string
		switch t := v.(type) {
		case string:
			s = strings.TrimSpace(t)
		case json.Number:
			s = t.String()
		case float64:
			s = strconv.FormatFloat(t, 'f', 0, 64)
		}
		if s == "" {
			continue
		}
		if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return ts, nil
		}
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
			return time.UnixMilli(ms), nil
		}
		return time.Time{}, fmt.Errorf("expires_at %q is neither RFC 3339 nor epoch milliseconds", s)
	}
	return time.Time{}, errors.New("expires_at is missing")
}
