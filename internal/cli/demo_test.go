package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/httpx"
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
			"--metrics-listen", "127.0.0.1:0", "--admins", "alice"},
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
	for _, want := range []string{"connected the Jira emulator", "routed the Acme workspace", "two-way sync is on for Launch ↔ DEMO"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr)
		}
	}
	for _, want := range []string{m.AsanaURL, m.JiraURL, m.BridgeURL, "alice/alice", "Customize → Apps → + Add app (Jira Server)", "Jira Server ▾ → Create new issue",
		"(admin console: " + m.BridgeURL + "/admin/, sign in as admin or alice)"} {
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
	if !strings.HasPrefix(stderr, "asanajira demo: cannot listen") || strings.Contains(stderr, "demo: demo:") {
		t.Errorf("the message repeats its prefix: %s", stderr)
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

// Without --verbose the demo's log leaves out the access log line of each
// request that succeeded, and keeps failed requests and everything else.
func TestDemoQuietAccessLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want bool
	}{
		{"success", func(l *slog.Logger) { l.Info(httpx.AccessLogMessage, "path", "/asana/widget", "status", 200) }, false},
		{"redirect", func(l *slog.Logger) { l.Info(httpx.AccessLogMessage, "path", "/connect/auth", "status", 303) }, false},
		{"not found", func(l *slog.Logger) { l.Info(httpx.AccessLogMessage, "path", "/nope", "status", 404) }, true},
		{"server error", func(l *slog.Logger) { l.Info(httpx.AccessLogMessage, "path", "/asana/form", "status", 500) }, true},
		{"other line", func(l *slog.Logger) { l.Info("wrote demo.json", "path", "/tmp/x") }, true},
		{"with attrs", func(l *slog.Logger) {
			l.With("component", "bridge").Info(httpx.AccessLogMessage, "status", 200)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			tc.log(slog.New(quietAccessLog{slog.NewTextHandler(&b, nil)}))
			if got := b.Len() > 0; got != tc.want {
				t.Errorf("logged %v, want %v: %q", got, tc.want, b.String())
			}
		})
	}
}

// A flag the command does not have is reported once, with a one-line
// pointer to --help instead of the whole usage.
func TestMisspeltFlagIsReportedOnce(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, nil, "demo", "--no-brwoser")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if stdout != "" {
		t.Errorf("stdout shows the usage:\n%s", stdout)
	}
	want := "asanajira demo: flag provided but not defined: -no-brwoser\nRun 'asanajira demo --help' for usage.\n"
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	// --help still prints the usage, on stdout.
	code, stdout, _ = run(t, nil, "demo", "--help")
	if code != 0 || !strings.Contains(stdout, "--verbose") || !strings.Contains(stdout, "Customize → Apps → + Add app (Jira Server)") {
		t.Errorf("demo --help: exit %d\n%s", code, stdout)
	}
}

// --admins lets more Asana users into the demo's admin console; a name
// that is no demo user, gid or email is a usage error, from the flag or its
// environment twin.
func TestDemoAdminsFlag(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, nil, "demo", "--admins", "alice,carol")
	if code != 2 || !strings.Contains(stderr, `invalid value "alice,carol" for flag -admins: "carol" is neither a demo user (admin, alice, bob), an Asana user gid nor an email`) {
		t.Errorf("--admins carol: exit %d\n%s", code, stderr)
	}
	code, _, stderr = run(t, map[string]string{"ASANAJIRA_ADMINS": "dave"}, "demo")
	if code != 2 || !strings.Contains(stderr, `"dave" is neither a demo user`) {
		t.Errorf("ASANAJIRA_ADMINS=dave: exit %d\n%s", code, stderr)
	}
	code, stdout, _ := run(t, nil, "demo", "--help")
	if code != 0 || !strings.Contains(stdout, "--admins list  [ASANAJIRA_ADMINS]") || !strings.Contains(stdout, "--admins\nalice lets alice in too") {
		t.Errorf("demo --help: exit %d\n%s", code, stdout)
	}
}
