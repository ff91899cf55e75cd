package asana

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Without OnUnknownRoute, an unknown route is an error-level log line
// naming the method and path, and answered 404: the demo and anything else
// that leaves the option unset still hears of client drift.
func TestUnknownRouteIsLoudByDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		wantBody           string
	}{
		{"REST resource Asana lacks", "GET", "/api/1.0/nothing/here", `"message":"No matching route for request"`},
		{"wrong method on a REST resource", "PATCH", "/api/1.0/users/me", `"message":"No matching route for request"`},
		{"outside the API", "GET", "/nowhere", "404 Not Found: the asanajira Asana emulator has no route for GET /nowhere"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			s, err := New(Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			req := httptest.NewRequestWithContext(t.Context(), tc.method, tc.path, nil)
			req.Header.Set("Authorization", "Bearer pat-alice")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", rec.Code)
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("body %q does not contain %q", rec.Body, tc.wantBody)
			}
			var errs []map[string]any
			for line := range strings.Lines(logs.String()) {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if rec["level"] == "ERROR" {
					errs = append(errs, map[string]any{"method": rec["method"], "path": rec["path"]})
				}
			}
			want := []map[string]any{{"method": tc.method, "path": tc.path}}
			if diff := cmp.Diff(want, errs); diff != "" {
				t.Errorf("error log lines (-want +got):\n%s\nlogs:\n%s", diff, logs.String())
			}
		})
	}
}

// With no logger at all, the default report goes to standard error rather
// than nowhere.
func TestUnknownRouteWithoutLoggerGoesToFallback(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	logUnknownRoute(nil, &out)("PUT", "/api/1.0/nothing")
	line := out.String()
	for _, want := range []string{"level=ERROR", "method=PUT", "path=/api/1.0/nothing"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
}

// OnUnknownRoute replaces the default report.
func TestUnknownRouteOptionReplacesDefault(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var got []string
	s, err := New(Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), OnUnknownRoute: func(m, p string) { got = append(got, m+" "+p) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), "GET", "/nowhere", nil))
	if diff := cmp.Diff([]string{"GET /nowhere"}, got); diff != "" {
		t.Errorf("OnUnknownRoute (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("error logged although OnUnknownRoute is set:\n%s", logs.String())
	}
}
