package asana

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzVerifySignature checks the X-Hook-Signature check with arbitrary
// secrets, bodies and headers (seeds: testdata/fuzz/FuzzVerifySignature).
// The signature Asana computes is accepted, also in upper case or with
// surrounding white space; no other header is, and no other body under
// that signature; an empty secret accepts nothing.
func FuzzVerifySignature(f *testing.F) {
	f.Add("secret", []byte(`{"events":[]}`), "")
	f.Add("secret", []byte(`{"events":[{"action":"changed"}]}`), "2f0b")
	f.Add("", []byte("{}"), "")
	f.Add("s", []byte{}, " zz ")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		sum := m.Sum(nil)
		good := hex.EncodeToString(sum)

		for _, h := range []string{good, strings.ToUpper(good), " " + good + "\n"} {
			if got := VerifySignature(secret, body, h); got != (secret != "") {
				t.Fatalf("VerifySignature(%q, body, %q) = %v with the right signature", secret, h, got)
			}
		}
		if VerifySignature(secret, body, header) {
			want, err := hex.DecodeString(strings.TrimSpace(header))
			if err != nil || !bytes.Equal(want, sum) || secret == "" {
				t.Fatalf("accepted header %q for a body whose signature is %s", header, good)
			}
		}
		// The same signature over any other body is refused.
		other := append(bytes.Clone(body), 'x')
		if VerifySignature(secret, other, good) {
			t.Fatalf("a signature of %q accepted for %q", body, other)
		}
		if len(body) > 0 {
			flipped := bytes.Clone(body)
			flipped[len(flipped)/2] ^= 0x01
			if VerifySignature(secret, flipped, good) {
				t.Fatalf("a signature of %q accepted for %q", body, flipped)
			}
		}
	})
}

// FuzzCreateWebhookHandshake gives CreateWebhook arbitrary answers to the
// POST /webhooks that Asana sends after its X-Hook-Secret handshake with
// the target: any status, X-Hook-Secret header and body (seeds:
// testdata/fuzz/FuzzCreateWebhookHandshake). Only a 2xx answer creates a
// webhook; its secret is the one of the body, else the header's; anything
// else is a typed *Error carrying the status.
func FuzzCreateWebhookHandshake(f *testing.F) {
	f.Add(201, "hook-secret", []byte(`{"data":{"gid":"12","resource":{"gid":"1","resource_type":"project"},"target":"https://bridge.example.com/asana/webhook","active":true}}`))
	f.Add(201, "", []byte(`{"data":{"gid":"12","x_hook_secret":"in-body"}}`))
	f.Add(201, "header", []byte(`{"data":{"gid":"12","x_hook_secret":"in-body"}}`))
	f.Add(200, "x", []byte(""))
	f.Add(201, "x", []byte(`{"data":[]}`))
	f.Add(400, "", []byte(`{"errors":[{"message":"The remote server did not respond with the handshake secret."}]}`))
	f.Add(429, "", []byte(`{"errors":[{"message":"rate"}]}`))
	f.Add(503, "", []byte("<html>down</html>"))
	f.Fuzz(func(t *testing.T, status int, secretHeader string, body []byte) {
		status = 200 + abs(status-200)%400 // 200..599, as given when in range
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			h := http.Header{"Content-Type": {"application/json"}}
			if secretHeader != "" {
				h.Set("X-Hook-Secret", secretHeader)
			}
			return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		})}
		c, err := New("https://app.asana.example/api/1.0", hc, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		w, err := c.CreateWebhook(t.Context(), "1", "https://bridge.example.com/asana/webhook", nil)
		if status < 200 || status > 299 {
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != status {
				t.Fatalf("status %d: %v, want an *Error with that status", status, err)
			}
			return
		}
		if err != nil {
			if w != nil {
				t.Fatalf("a webhook and an error: %v", err)
			}
			return
		}
		var env struct {
			Data struct {
				Secret string `json:"x_hook_secret"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &env)
		want := env.Data.Secret
		if want == "" {
			want = secretHeader
		}
		if w.Secret != want {
			t.Fatalf("secret %q, want %q", w.Secret, want)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func abs(n int) int {
	if n < 0 {
		return -(n + 1) // no overflow at math.MinInt
	}
	return n
}
