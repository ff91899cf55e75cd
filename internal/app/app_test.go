package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestLifecycle starts the app on each database, checks the operational
// endpoints, then cancels it while a request is in flight: the request must
// finish and Run must return cleanly.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(t *testing.T) config.Config{
		"sqlite": func(t *testing.T) config.Config {
			c := config.Default()
			c.DatabaseURL = filepath.Join(t.TempDir(), "data", "asanajira.db")
			return c
		},
		"postgres": func(t *testing.T) config.Config {
			c := config.Default()
			c.DatabaseURL = pgtest.URL(t)
			c.SecretKey = key
			return c
		},
	}
	for name, mk := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := mk(t)
			cfg.Listen = "127.0.0.1:0"
			cfg.ShutdownTimeout = 20 * time.Second
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			a, err := app.New(ctx, cfg, quiet())
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()

			started, release := make(chan struct{}), make(chan struct{})
			a.Mount("GET /test/slow", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				close(started)
				<-release
				_, _ = io.WriteString(w, "finished")
			}))
			ln, err := app.Listen(ctx, cfg.Listen)
			if err != nil {
				t.Fatal(err)
			}
			base := "http://" + ln.Addr().String()
			metricsSrv := httptest.NewServer(a.MetricsHandler()) // as serve's --metrics-listen does
			defer metricsSrv.Close()
			runErr := make(chan error, 1)
			go func() { runErr <- a.Run(ctx, ln) }()

			for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"` + name + `"`} {
				code, body := get(t, base+path)
				if code != http.StatusOK || !strings.Contains(body, want) {
					t.Fatalf("GET %s = %d %s", path, code, body)
				}
			}
			// The periodic cleanup job runs on start; its count shows in
			// /metrics, on the metrics listener.
			deadline := time.Now().Add(30 * time.Second)
			for {
				_, metrics := get(t, metricsSrv.URL+"/metrics")
				if strings.Contains(metrics, `asanajira_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`) &&
					strings.Contains(metrics, `asanajira_jobs{kind="cleanup_expired",state="completed"} 1`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("metrics never showed the request and job counts:\n%s", metrics)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if code, _ := get(t, base+"/no/such/route"); code != http.StatusNotFound {
				t.Fatalf("unknown route = %d, want 404", code)
			}

			slow := make(chan string, 1)
			go func() {
				req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, base+"/test/slow", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					slow <- "error: " + err.Error()
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				slow <- string(b)
			}()
			<-started
			cancel() // as SIGTERM does
			time.Sleep(100 * time.Millisecond)
			close(release)
			if got := <-slow; got != "finished" {
				t.Fatalf("in-flight request during shutdown got %q, want it to finish", got)
			}
			if err := <-runErr; err != nil {
				t.Fatalf("Run returned %v", err)
			}
			if _, err := http.Get(base + "/healthz"); err == nil { //nolint:noctx // checking the port is closed
				t.Fatal("server still answers after shutdown")
			}
		})
	}
}

func TestBadKeyConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := map[string]struct {
		mutate func(c *config.Config)
		want   string
	}{
		"short key":        {func(c *config.Config) { c.SecretKey = "dG9vLXNob3J0" }, "--secret-key (ASANAJIRA_SECRET_KEY): secrets: key 1 decodes to 9 bytes; it must be 32 bytes"},
		"missing key file": {func(c *config.Config) { c.SecretKeyFile = filepath.Join(dir, "nope.key") }, "--secret-key-file (ASANAJIRA_SECRET_KEY_FILE)"},
		"database folder is a file": {func(c *config.Config) {
			c.DatabaseURL = "/dev/null/asanajira.db"
			c.SecretKeyFile = ""
			c.SecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		}, "sqlite: create folder for /dev/null/asanajira.db"},
		"postgres unreachable": {func(c *config.Config) {
			c.DatabaseURL = "postgres://u:pw@127.0.0.1:1/db?connect_timeout=2"
			c.SecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		}, "postgres: cannot reach the database"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			c.DatabaseURL = filepath.Join(t.TempDir(), "asanajira.db")
			tc.mutate(&c)
			_, err := app.New(t.Context(), c, quiet())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// The account connection flow is mounted when an Asana app is configured and
// explains itself when it is not.
func TestConnectMounted(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		clientID, secret string
		status           int
		want             string
	}{
		"no asana app": {"", "", http.StatusServiceUnavailable, "--asana-client-id"},
		"asana app":    {"1234", "s3cret", http.StatusSeeOther, "client_id=1234"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Default()
			cfg.DatabaseURL = filepath.Join(t.TempDir(), "asanajira.db")
			cfg.AsanaClientID, cfg.AsanaClientSecret = tc.clientID, tc.secret
			a, err := app.New(t.Context(), cfg, quiet())
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/connect/auth", nil))
			got := rec.Body.String() + rec.Header().Get("Location")
			if rec.Code != tc.status || !strings.Contains(got, tc.want) {
				t.Fatalf("GET /connect/auth = %d %q, want %d containing %q", rec.Code, got, tc.status, tc.want)
			}
		})
	}
}
