package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
)

// run calls Main as the binary would, with env as the environment.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(t.Context(), args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }})
	return code, out.String(), errb.String()
}

func TestMainExitCodesAndMessages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := map[string]struct {
		env      map[string]string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noStderr []string
	}{
		"no command":       {args: nil, code: 2, stdout: []string{"Usage: asanajira <command>", "serve", "demo", "doctor", "emulate", "keys", "migrate", "version"}},
		"help":             {args: []string{"--help"}, code: 0, stdout: []string{"Commands:"}},
		"unknown command":  {args: []string{"frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`}},
		"demo bad version": {args: []string{"demo", "--jira-version", "6.4"}, code: 2, stderr: []string{`unknown --jira-version "6.4"`, "9.12.0"}},
		"demo bad intake": {args: []string{"demo", "--asana-intake", "carrier-pigeon", "--asana-poll-interval", "10ms"}, code: 2,
			stderr: []string{`--asana-intake (ASANAJIRA_ASANA_INTAKE) "carrier-pigeon"`, "--asana-poll-interval", "at least 1s"}},
		"doctor needs a url": {args: []string{"doctor"}, code: 2, stderr: []string{"--jira-url is required"}},
		"emulate needs name": {args: []string{"emulate"}, code: 2, stderr: []string{"jira or asana"}},
		"emulate unknown":    {args: []string{"emulate", "bitbucket"}, code: 2, stderr: []string{`unknown emulator "bitbucket"`}},
		"serve bad flag":     {args: []string{"serve", "--no-such-flag"}, code: 2, stderr: []string{"flag provided but not defined", "asanajira serve --help"}},
		"serve bad listen": {args: []string{"serve", "--listen", "8080", "--database-url", filepath.Join(dir, "a.db")}, code: 1,
			stderr: []string{"invalid configuration", "--listen (ASANAJIRA_LISTEN)"}, noStderr: []string{"goroutine", "panic"}},
		"serve bad env twin": {env: map[string]string{"ASANAJIRA_LOG_LEVEL": "loud"}, args: []string{"serve"}, code: 1,
			stderr: []string{"--log-level (ASANAJIRA_LOG_LEVEL)"}},
		"serve bad duration env": {env: map[string]string{"ASANAJIRA_SHUTDOWN_TIMEOUT": "soon"}, args: []string{"serve"}, code: 2,
			stderr: []string{"ASANAJIRA_SHUTDOWN_TIMEOUT"}},
		"serve short key": {args: []string{"serve", "--listen", "127.0.0.1:0", "--database-url", filepath.Join(dir, "b.db"), "--secret-key", "c2hvcnQ="},
			code: 1, stderr: []string{"must be 32 bytes", "secrets new-key"}, noStderr: []string{"goroutine", "c2hvcnQ="}},
		"serve unreadable key file": {args: []string{"serve", "--listen", "127.0.0.1:0", "--database-url", filepath.Join(dir, "c.db"), "--secret-key-file", filepath.Join(dir, "missing.key")},
			code: 1, stderr: []string{"--secret-key-file (ASANAJIRA_SECRET_KEY_FILE)", "no such file"}},
		"serve bad database url": {args: []string{"serve", "--database-url", "mysql://db/x"}, code: 1,
			stderr: []string{"--database-url (ASANAJIRA_DATABASE_URL)", `"mysql"`}},
		"serve bad metrics listen": {args: []string{"serve", "--metrics-listen", "9464"}, code: 1,
			stderr: []string{"--metrics-listen (ASANAJIRA_METRICS_LISTEN)", "host:port"}},
		"serve metrics listen from env": {env: map[string]string{"ASANAJIRA_METRICS_LISTEN": "127.0.0.1:9464"}, args: []string{"serve", "--print-config"}, code: 0,
			stdout: []string{`"name": "metrics-listen",`, `"value": "127.0.0.1:9464"`}},
		"serve help names metrics listen": {args: []string{"serve", "--help"}, code: 0,
			stdout: []string{"-metrics-listen", "ASANAJIRA_METRICS_LISTEN", "never served on --listen"}},
		"serve postgres without key": {args: []string{"serve", "--database-url", "postgres://u:pw@127.0.0.1:1/db"}, code: 1,
			stderr: []string{"required with PostgreSQL"}, noStderr: []string{"pw@"}},
		"version":                 {args: []string{"version"}, code: 0, stdout: []string{"asanajira ", "go1."}},
		"keys unknown":            {args: []string{"keys", "list"}, code: 2, stderr: []string{"asanajira keys generate"}},
		"keys small":              {args: []string{"keys", "generate", "--bits", "1024"}, code: 2, stderr: []string{"at least 2048"}},
		"secrets":                 {args: []string{"secrets", "new-key"}, code: 0, stdout: []string{"="}},
		"sync needs a subcommand": {args: []string{"sync"}, code: 2, stderr: []string{"resync"}},
		"sync resync help": {args: []string{"sync", "resync", "--help"}, code: 0,
			stdout: []string{"--link", "--project", "--concurrency", "--restart", "ASANAJIRA_CONCURRENCY", "resumes"}},
		"sync resync needs one target": {args: []string{"sync", "resync", "--link", "1", "--project", "2"}, code: 2,
			stderr: []string{"exactly one of --link or --project"}},
		"sync resync missing link": {args: []string{"sync", "resync", "--link", "7", "--database-url", filepath.Join(dir, "resync.db"), "--log-level", "error"}, code: 1,
			stdout: []string{"1/1 link 7: failed: no link 7"}, stderr: []string{"could not be resynced"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, w := range tc.noStderr {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr shows %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestHelpListsEveryFlagWithItsEnvTwin(t *testing.T) {
	t.Parallel()
	code, stdout, _ := run(t, nil, "serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help exit %d", code)
	}
	for _, flag := range []string{"listen", "public-url", "database-url", "database-url-file", "secret-key", "secret-key-file",
		"asana-client-id", "asana-client-secret", "asana-client-secret-file", "asana-url", "app-origin", "admins",
		"log-level", "log-format", "shutdown-timeout", "print-config", "public", "asana-download-hosts", "reconcile-interval",
		"asana-intake", "asana-poll-interval"} {
		if !strings.Contains(stdout, "--"+flag+" ") && !strings.Contains(stdout, "--"+flag+"  ") {
			t.Errorf("serve --help lacks --%s", flag)
		}
		if !strings.Contains(stdout, EnvName(flag)) {
			t.Errorf("serve --help lacks %s", EnvName(flag))
		}
	}
}

func TestPrintConfigIsRedacted(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, map[string]string{"ASANAJIRA_ASANA_CLIENT_SECRET": "topsecret", "ASANAJIRA_ASANA_CLIENT_ID": "123"},
		"serve", "--print-config", "--database-url", "postgres://app:pw123@db/x", "--secret-key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var settings []struct{ Name, Value string }
	if err := json.Unmarshal([]byte(stdout), &settings); err != nil {
		t.Fatalf("--print-config is not JSON: %v\n%s", err, stdout)
	}
	for _, secret := range []string{"topsecret", "pw123", "MDEyMzQ1"} {
		if strings.Contains(stdout, secret) {
			t.Errorf("--print-config shows %q", secret)
		}
	}
	if !strings.Contains(stdout, `"asana-client-id"`) || !strings.Contains(stdout, `"123"`) {
		t.Errorf("--print-config lacks the env-set client id:\n%s", stdout)
	}
}

// Without --database-url, --print-config shows the SQLite file serve opens.
func TestPrintConfigShowsTheEffectiveDatabase(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, nil, "serve", "--print-config")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var settings []struct{ Name, Value string }
	if err := json.Unmarshal([]byte(stdout), &settings); err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if s.Name == "database-url" && s.Value != "./asanajira.db" {
			t.Errorf("database-url = %q, want ./asanajira.db", s.Value)
		}
	}
}

func TestKeysGenerateWritesPrivateKeyFile(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "applink.pem")
	code, stdout, stderr := run(t, nil, "keys", "generate", "--consumer-key", "asanajira-test", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Consumer key: asanajira-test") || !strings.Contains(stdout, "BEGIN PUBLIC KEY") || strings.Contains(stdout, "PRIVATE KEY-----\nMII") {
		t.Fatalf("unexpected output:\n%s", stdout)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, want 0600", fi.Mode().Perm())
	}
	if code, _, stderr := run(t, nil, "keys", "generate", "--out", out); code != 1 || !strings.Contains(stderr, "must not exist yet") {
		t.Fatalf("overwriting a key file: exit %d, %s", code, stderr)
	}
}

// TestServeBinaryStopsOnSIGTERM builds the real binary, starts it with no
// configuration in an empty folder, and stops it with SIGTERM.
func TestServeBinaryStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "asanajira")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/asanajira/asanajira/cmd/asanajira")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "serve")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "ASANAJIRA_LISTEN=127.0.0.1:0", "ASANAJIRA_METRICS_LISTEN=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]any, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				t.Errorf("log line is not JSON: %s", sc.Text())
				continue
			}
			lines <- m
		}
	}()
	var listen, metrics string
	timeout := time.After(60 * time.Second)
	for listen == "" || metrics == "" {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatal("serve exited before serving")
			}
			switch m["msg"] {
			case "asanajira is serving":
				listen, _ = m["listen"].(string)
			case "serving metrics":
				metrics, _ = m["listen"].(string)
			}
		case <-timeout:
			t.Fatal("serve did not start")
		}
	}
	for _, url := range []struct {
		url  string
		want int
	}{
		{"http://" + listen + "/healthz", http.StatusOK},
		{"http://" + listen + "/readyz", http.StatusOK},
		{"http://" + listen + "/metrics", http.StatusNotFound},
		{"http://" + metrics + "/metrics", http.StatusOK},
	} {
		resp, err := http.Get(url.url) //nolint:noctx // short test request
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != url.want {
			t.Fatalf("GET %s = %d, want %d", url.url, resp.StatusCode, url.want)
		}
	}
	for _, f := range []string{"asanajira.db", "asanajira.key"} {
		if _, err := os.Stat(filepath.Join(work, f)); err != nil {
			t.Fatalf("serve did not create %s: %v", f, err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := false
	for m := range lines {
		if m["msg"] == "asanajira stopped" {
			stopped = true
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM, want 0", err)
	}
	if !stopped {
		t.Fatal(`no "asanajira stopped" log line after SIGTERM`)
	}
}

func TestSecretsRotate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "asanajira.db")
	_, oldKey, _ := run(t, nil, "secrets", "new-key")
	_, newKey, _ := run(t, nil, "secrets", "new-key")
	oldKey, newKey = strings.TrimSpace(oldKey), strings.TrimSpace(newKey)

	// Migrate under the old key, then rotate to the new one.
	if code, _, stderr := run(t, nil, "migrate", "--database-url", db, "--secret-key", oldKey); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	writeToken := func(key string) {
		kr, err := secrets.ParseKeys(key)
		if err != nil {
			t.Fatal(err)
		}
		st, err := sqlite.Open(t.Context(), db, kr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.PutAsanaUser(t.Context(), store.AsanaUser{GID: "1", AccessToken: "asana-token"}); err != nil {
			t.Fatal(err)
		}
	}
	writeToken(oldKey)
	code, stdout, stderr := run(t, nil, "secrets", "rotate", "--database-url", db, "--secret-key", newKey+","+oldKey)
	if code != 0 || !strings.Contains(stdout, "re-sealed 1 stored secrets under key") {
		t.Fatalf("rotate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// The new key alone now opens the token.
	kr, err := secrets.ParseKeys(newKey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), db, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.GetAsanaUser(t.Context(), "1")
	_ = st.Close()
	if err != nil || u.AccessToken.Reveal() != "asana-token" {
		t.Fatalf("token after rotation with the old key gone: %q, %v", u.AccessToken.Reveal(), err)
	}
	if code, _, stderr := run(t, nil, "secrets", "rotate", "--database-url", db, "--secret-key", "bm9wZQ=="); code != 1 || !strings.Contains(stderr, "must be 32 bytes") {
		t.Fatalf("rotate with a bad key: exit %d, %s", code, stderr)
	}
}
