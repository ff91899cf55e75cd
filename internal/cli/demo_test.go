package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoStartsWiredAndStops runs `asanajira demo` on free ports: the three
// services answer, demo.json describes them, the Jira emulator is connected
// and Ctrl-C stops everything with exit code 0.
func TestDemoStartsWiredAndStops(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"demo", "--data", dir, "--no-browser", "--listen", "127.0.0.1:0",
			"--jira-listen", "127.0.0.1:0", "--asana-listen", "127.0.0.1:0", "--jira-version", "8.20.1",
			"--metrics-listen", "127.0.0.1:0"},
			Env{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr, Getenv: func(string) string { return "" }})
	}()

	var m struct {
		JiraURL     string `json:"jira_url"`
		AsanaURL    string `json:"asana_url"`
		BridgeURL   string `json:"bridge_url"`
		JiraVersion string `json:"jira_version"`
		App         struct {
			AuthenticationURL string `json:"authentication_url"`
			WidgetMetadataURL string `json:"widget_metadata_url"`
		} `json:"app"`
		Users []struct {
			Login string `json:"login"`
		} `json:"users"`
		Seed struct {
			Workspace string `json:"workspace"`
		} `json:"seed"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "demo.json")); err == nil && json.Unmarshal(b, &m) == nil && m.BridgeURL != "" {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("demo exited with %d before writing demo.json\n%s", code, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no demo.json\n%s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m.JiraVersion != "8.20.1" || len(m.Users) != 3 || m.Seed.Workspace == "" ||
		m.App.AuthenticationURL != m.BridgeURL+"/connect/auth" || m.App.WidgetMetadataURL != m.BridgeURL+"/asana/widget" {
		t.Fatalf("demo.json: %+v", m)
	}
	for _, u := range []string{m.BridgeURL + "/readyz", m.JiraURL + "/rest/api/2/serverInfo", m.AsanaURL + "/_emulator/seed"} {
		resp, err := http.Get(u) //nolint:noctx // short probe
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", u, resp.StatusCode)
		}
	}
	for _, want := range []string{"connected the Jira emulator", "routed the Acme workspace"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr)
		}
	}
	for _, want := range []string{m.AsanaURL, m.JiraURL, m.BridgeURL, "alice/alice", "Add app → Jira Server"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout)
		}
	}
	// The banner says where the metrics are; the bridge's own port does
	// not serve them.
	metrics := regexp.MustCompile(`Metrics \(Prometheus\)\s+(http://\S+/metrics)`).FindStringSubmatch(stdout.String())
	if metrics == nil {
		t.Fatalf("banner names no metrics URL:\n%s", stdout)
	}
	for u, want := range map[string]int{metrics[1]: http.StatusOK, m.BridgeURL + "/metrics": http.StatusNotFound} {
		resp, err := http.Get(u) //nolint:noctx // short probe
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", u, resp.StatusCode, want)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("demo exit code %d after Ctrl-C\n%s", code, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop")
	}
}

func TestDemoBusyPort(t *testing.T) {
	t.Parallel()
	ln, err := listenTCP(t.Context(), "listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := run(t, nil, "demo", "--data", t.TempDir(), "--no-browser", "--listen", "127.0.0.1:0",
		"--jira-listen", ln.Addr().String(), "--asana-listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "cannot listen on "+ln.Addr().String()) || !strings.Contains(stderr, "--jira-listen") {
		t.Fatalf("busy port: exit %d, %s", code, stderr)
	}
}

// Without --metrics-listen the banner says how to see the metrics.
func TestDemoBannerWithoutMetrics(t *testing.T) {
	t.Parallel()
	if got := metricsBanner(nil); !strings.Contains(got, "--metrics-listen 127.0.0.1:9464") {
		t.Errorf("banner without metrics: %q", got)
	}
}

func TestServeBusyMetricsPort(t *testing.T) {
	t.Parallel()
	ln, err := listenTCP(t.Context(), "metrics-listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := run(t, nil, "serve", "--listen", "127.0.0.1:0", "--database-url", filepath.Join(t.TempDir(), "a.db"),
		"--metrics-listen", ln.Addr().String())
	if code != 1 || !strings.Contains(stderr, "cannot listen on "+ln.Addr().String()) || !strings.Contains(stderr, "--metrics-listen") {
		t.Fatalf("busy metrics port: exit %d, %s", code, stderr)
	}
}
