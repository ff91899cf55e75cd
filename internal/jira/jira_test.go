package jira

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// contextPath is where the test mux mounts Jira, like a real server at
// https://host/jira: a request that drops it hits the failing catch-all.
const contextPath = "/jira"

// setup starts a server with a mux under contextPath and a Client aimed
// at it, with instant retries.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux, string) {
	t.Helper()
	mux := http.NewServeMux()
	root := http.NewServeMux()
	root.Handle(contextPath+"/", http.StripPrefix(contextPath, mux))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the context path: %s %s", r.Method, r.URL)
		http.Error(w, "outside context path", http.StatusBadRequest)
	})
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	opts = append([]Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: time.Minute})}, opts...)
	c, err := New(srv.URL+contextPath, srv.Client(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return c, mux, srv.URL
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveFixture answers with a testdata file after checking the method.
func serveFixture(t *testing.T, method, name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, method)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write(fixture(t, name))
	}
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
}

func testQuery(t *testing.T, r *http.Request, key, want string) {
	t.Helper()
	if got := r.URL.Query().Get(key); got != want {
		t.Errorf("query %s = %q, want %q", key, got, want)
	}
}

func decodeJSONBody(t *testing.T, r *http.Request) map[string]any {
	t.Helper()
	var m map[string]any
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("request body %q is not JSON: %v", b, err)
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func TestParseBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"https://jira.example.com", "https://jira.example.com/", false},
		{"https://jira.example.com/jira", "https://jira.example.com/jira/", false},
		{"https://jira.example.com/jira///", "https://jira.example.com/jira/", false},
		{" http://10.0.0.5:8080/jira/?x=1#frag ", "http://10.0.0.5:8080/jira/", false},
		{"jira.example.com", "", true},
		{"ftp://jira.example.com", "", true},
		{"https://admin:secret@jira.example.com", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			u, err := ParseBaseURL(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseBaseURL(%q) = %v, want error", tt.in, u)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil || u.String() != tt.want {
				t.Fatalf("ParseBaseURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
			}
		})
	}
}

func TestNewRequestRejectsAbsolutePaths(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t)
	for _, p := range []string{"/rest/api/2/myself", "rest/api/2/../../x"} {
		if _, err := c.NewRequest(t.Context(), http.MethodGet, p, nil); err == nil {
			t.Errorf("NewRequest(%q) succeeded, want error", p)
		}
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	c, _, srvURL := setup(t)
	if got, want := c.URL("browse/OPS-1"), srvURL+"/jira/browse/OPS-1"; got != want {
		t.Errorf("URL = %s, want %s", got, want)
	}
}
