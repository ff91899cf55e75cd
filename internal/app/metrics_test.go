package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/config"
)

// Metrics are never on the main listener; MetricsHandler, which serve puts
// on --metrics-listen, serves them and nothing else.
func TestMetricsOnlyOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DatabaseURL = filepath.Join(t.TempDir(), "asanajira.db")
	cfg.Listen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a, err := app.New(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := app.Listen(ctx, cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- a.Run(ctx, ln) }()
	metrics := httptest.NewServer(a.MetricsHandler())
	defer metrics.Close()

	base := "http://" + ln.Addr().String()
	if code, _ := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz = %d", code)
	}
	if code, body := get(t, base+"/metrics"); code != http.StatusNotFound || strings.Contains(body, "asanajira_") {
		t.Errorf("/metrics on the main listener = %d, want 404", code)
	}
	if code, body := get(t, metrics.URL+"/metrics"); code != http.StatusOK ||
		!strings.Contains(body, `asanajira_http_requests_total{code="200",method="GET",route="GET /readyz"} 1`) {
		t.Errorf("/metrics on the metrics listener = %d:\n%s", code, body)
	}
	for _, path := range []string{"/healthz", "/admin/", "/asana/widget"} {
		if code, _ := get(t, metrics.URL+path); code != http.StatusNotFound {
			t.Errorf("%s on the metrics listener = %d, want 404", path, code)
		}
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run returned %v", err)
	}
}
