package httpx

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newServer(t *testing.T, logs *bytes.Buffer) (http.Handler, *Metrics) {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(logs, nil))
	mux := http.NewServeMux()
	mux.Handle("POST /echo", Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		var v map[string]any
		if err := DecodeJSON(w, r, 64, &v); err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, v)
		return nil
	}))
	mux.Handle("POST /raw", Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		_, err := io.ReadAll(r.Body)
		return err
	}))
	mux.Handle("GET /teapot", Handle(log, func(http.ResponseWriter, *http.Request) error {
		return Wrap(http.StatusTeapot, "no coffee here", errors.New("cause with token=s3cret"))
	}))
	mux.Handle("GET /boom", Handle(log, func(http.ResponseWriter, *http.Request) error {
		return errors.New("database exploded")
	}))
	mux.Handle("GET /panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") }))
	m := NewMetrics(prometheus.NewRegistry())
	return Middleware(log, m, 128, mux), m
}

func TestMiddlewareAndErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		method, path, body string
		status             int
		wantBody           string
		noBody             string
	}{
		"ok":              {"POST", "/echo", `{"a":1}`, 200, `{"a":1}`, ""},
		"malformed json":  {"POST", "/echo", `{"a":`, 400, "request body is not valid JSON", ""},
		"json too large":  {"POST", "/echo", `{"a":"` + strings.Repeat("x", 100) + `"}`, 413, "larger than 64 bytes", ""},
		"default limit":   {"POST", "/raw", strings.Repeat("x", 500), 413, "larger than 128 bytes", ""},
		"typed error":     {"GET", "/teapot", "", 418, "no coffee here", "s3cret"},
		"internal error":  {"GET", "/boom", "", 500, "internal error", "exploded"},
		"panic recovered": {"GET", "/panic", "", 500, "internal error", "kaboom"},
		"unknown route":   {"GET", "/nope", "", 404, "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			h, _ := newServer(t, &logs)
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(t.Context(), tc.method, tc.path+"?code=secret-oauth-code", strings.NewReader(tc.body))
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Fatalf("body %q lacks %q", rec.Body, tc.wantBody)
			}
			if tc.noBody != "" && strings.Contains(rec.Body.String(), tc.noBody) {
				t.Fatalf("body leaks %q: %s", tc.noBody, rec.Body)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id")
			}
			if strings.Contains(logs.String(), "secret-oauth-code") {
				t.Fatalf("the query string reached the log:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), `"msg":"http request"`) {
				t.Fatalf("no access log line:\n%s", logs.String())
			}
		})
	}
}

func TestRequestIDPassesThroughWhenPlain(t *testing.T) {
	t.Parallel()
	for in, keep := range map[string]bool{"abc-123.X_y": true, "bad id\n": false, strings.Repeat("a", 65): false} {
		var logs bytes.Buffer
		h, _ := newServer(t, &logs)
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(t.Context(), "GET", "/nope", nil)
		req.Header.Set("X-Request-Id", in)
		h.ServeHTTP(rec, req)
		if got := rec.Header().Get("X-Request-Id"); (got == in) != keep || got == "" {
			t.Errorf("X-Request-Id %q came back as %q (keep=%v)", in, got, keep)
		}
	}
}

func TestMetricsByRouteAndStatus(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h, m := newServer(t, &logs)
	for _, p := range []string{"/teapot", "/teapot", "/nope"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), "GET", p, nil))
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET /teapot", "GET", "418")); got != 2 {
		t.Errorf("teapot requests = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("unmatched", "GET", "404")); got != 1 {
		t.Errorf("unmatched requests = %v, want 1", got)
	}
}
