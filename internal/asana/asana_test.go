package asana

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// setup mounts a mux under /api/1.0 with a failing catch-all.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	root := http.NewServeMux()
	root.Handle("/api/1.0/", http.StripPrefix("/api/1.0", mux))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside /api/1.0: %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	opts = append([]Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: time.Minute})}, opts...)
	c, err := New(srv.URL+"/api/1.0", srv.Client(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return c, mux
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status   int
		body     string
		is       error
		contains string
	}{
		{401, `{"errors":[{"message":"Not Authorized"}]}`, ErrUnauthorized, "reconnect Asana"},
		{402, `{"errors":[{"message":"Custom fields are a premium feature"}]}`, ErrPaymentRequired, "paid Asana plan"},
		{403, `{"errors":[{"message":"locked"}]}`, ErrForbidden, "locked"},
		{404, `{"errors":[{"message":"task: Unknown object: 1"}]}`, ErrNotFound, "Unknown object"},
		{500, `{"errors":[{"message":"Server Error","phrase":"6 sad squid snuggle softly"}]}`, nil, "6 sad squid snuggle softly"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			mux.HandleFunc("GET /tasks/1", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, tt.status, tt.body) })
			_, err := c.GetTask(t.Context(), "1", nil)
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != tt.status {
				t.Fatalf("err = %v", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("err %q lacks %q", err, tt.contains)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	var slept []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	mux.HandleFunc("POST /tasks/1/stories", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"errors":[{"message":"You've made too many requests"}]}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"data":{"text":"hi"}}` {
			t.Errorf("body on retry = %s", b)
		}
		writeJSON(w, 201, `{"data":{"gid":"9","text":"hi","resource_subtype":"comment_added"}}`)
	})
	start := time.Now()
	s, err := c.AddComment(t.Context(), "1", "hi", "")
	if err != nil || s.GID != "9" {
		t.Fatalf("AddComment = %+v, %v", s, err)
	}
	if calls.Load() != 2 || len(slept) != 1 || slept[0] != time.Second {
		t.Errorf("calls %d, slept %v", calls.Load(), slept)
	}
	// The limiter paused the token for Retry-After.
	if _, err := c.limiter.acquire(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Errorf("limiter did not pause for Retry-After")
	}
}

func TestWritesNotRetriedOn5xx(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("POST /tasks/1/stories", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 503, `{"errors":[{"message":"down"}]}`)
	})
	mux.HandleFunc("GET /tasks/1", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			writeJSON(w, 502, `{"errors":[{"message":"bad gateway"}]}`)
			return
		}
		writeJSON(w, 200, `{"data":{"gid":"1","name":"T"}}`)
	})
	if _, err := c.AddComment(t.Context(), "1", "x", ""); err == nil || calls.Load() != 1 {
		t.Errorf("write: err %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	if tk, err := c.GetTask(t.Context(), "1", nil); err != nil || tk.Name != "T" || calls.Load() != 3 {
		t.Errorf("read: %+v, %v after %d calls", tk, err, calls.Load())
	}
}

func TestLimiterConcurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		limit  int
	}{
		{"reads", "GET", 50},
		{"writes", "PUT", 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var inFlight, peak atomic.Int32
			release := make(chan struct{})
			c, mux := setup(t, WithLimiter(NewLimiter(LimiterOptions{PerMinute: 100000, Burst: 1000})))
			mux.HandleFunc("/tasks/1", func(w http.ResponseWriter, r *http.Request) {
				n := inFlight.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				inFlight.Add(-1)
				writeJSON(w, 200, `{"data":{"gid":"1"}}`)
			})
			var wg sync.WaitGroup
			for range tt.limit * 2 {
				wg.Go(func() {
					if tt.method == "GET" {
						_, _ = c.GetTask(t.Context(), "1", nil)
					} else {
						_, _ = c.UpdateTask(t.Context(), "1", map[string]any{"completed": true})
					}
				})
			}
			deadline := time.Now().Add(5 * time.Second)
			for peak.Load() < int32(tt.limit) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			close(release)
			wg.Wait()
			if got := peak.Load(); got != int32(tt.limit) {
				t.Errorf("peak concurrency = %d, want %d", got, tt.limit)
			}
		})
	}
}

func TestLimiterBucket(t *testing.T) {
	t.Parallel()
	l := NewLimiter(LimiterOptions{PerMinute: 60, Burst: 2})
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	l.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	for range 2 {
		if err := l.take(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	if err := l.take(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third take = %v, want to wait for the bucket", err)
	}
	mu.Lock()
	now = now.Add(time.Second) // one token per second refills
	mu.Unlock()
	if err := l.take(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestVerifySignature is a known-answer test: HMAC-SHA256 of the raw body.
func TestVerifySignature(t *testing.T) {
	t.Parallel()
	const secret = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
	body := []byte(`{"events":[{"action":"changed","resource":{"gid":"1201000000001001","resource_type":"task"}}]}`)
	const sig = "bd2ee6b7d3b0ef5d5c9b0f1b85b5d5e7f5c7e0c7b1e4d0b6f5b6c4e9d0a3f2e1"
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	good := hex.EncodeToString(mac.Sum(nil))
	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
		want   bool
	}{
		{"valid", secret, body, good, true},
		{"valid upper case", secret, body, strings.ToUpper(good), true},
		{"wrong secret", "other", body, good, false},
		{"re-encoded body", secret, []byte(strings.ReplaceAll(string(body), ":", ": ")), good, false},
		{"wrong signature", secret, body, sig, false},
		{"not hex", secret, body, "zz", false},
		{"empty header", secret, body, "", false},
		{"empty secret", "", body, good, false},
		{"empty heartbeat body", secret, []byte{}, hmacHex(secret, nil), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := VerifySignature(tt.secret, tt.body, tt.header); got != tt.want {
				t.Errorf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
	// Pinned value, computed independently (openssl dgst -sha256 -hmac).
	if want := "540ae461361afb402d950bfac796c75b44297908f4d7271d8415d6451e6ff294"; good != want {
		t.Errorf("HMAC = %s, want %s", good, want)
	}
}

func hmacHex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func BenchmarkVerifySignature(b *testing.B) {
	secret := "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
	body := []byte(`{"events":[` + strings.Repeat(`{"action":"changed","resource":{"gid":"1201000000001001","resource_type":"task"},"user":{"gid":"1201000000000012","resource_type":"user"}},`, 9) + `{"action":"added","resource":{"gid":"1","resource_type":"story"}}]}`)
	header := hmacHex(secret, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !VerifySignature(secret, body, header) {
			b.Fatal("signature rejected")
		}
	}
}

func TestSanitizeURL(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 400, `{"errors":[{"message":"bad"}]}`) })
	req, _ := c.NewRequest(t.Context(), "GET", "events?resource=1&access_token=secret123", nil)
	_, err := c.Do(req, nil)
	if err == nil || strings.Contains(err.Error(), "secret123") {
		t.Errorf("err = %v", err)
	}
}

// A TLS certificate this host refuses (here: an unknown CA) fails the call
// at once; retrying would meet the same certificate.
func TestRefusedCertificateNotRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 200, `{"data":{"gid":"1","name":"T"}}`)
	}))
	t.Cleanup(srv.Close)
	var slept atomic.Int32
	c, err := New(srv.URL+"/api/1.0", &http.Client{}, WithRetryPolicy(RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(ctx context.Context, d time.Duration) error { slept.Add(1); return ctx.Err() }
	_, err = c.GetTask(t.Context(), "1", nil)
	if err == nil || !certificateRefused(err) {
		t.Fatalf("GetTask over an untrusted certificate = %v, want a refused certificate", err)
	}
	if n := slept.Load(); n != 0 {
		t.Errorf("the client backed off %d times before giving up on a refused certificate", n)
	}
}
