package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// doctorEmulator runs the Jira emulator with an application link for
// consumerKey and returns its base URL and the private key file.
func doctorEmulator(t *testing.T, opts fakejira.Options, consumerKey string) (url, keyFile string) {
	t.Helper()
	opts.OnUnknownRoute = func(method, path string) { t.Errorf("emulator: no route for %s %s", method, path) }
	fj, err := fakejira.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fj)
	t.Cleanup(func() { srv.Close(); fj.Close() })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fj.RegisterConsumer(consumerKey, "asanajira", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(t.TempDir(), "jira.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + fj.ContextPath(), keyFile
}

func TestDoctorCommand(t *testing.T) {
	t.Parallel()
	healthy, keyFile := doctorEmulator(t, fakejira.Options{}, "asanajira-cli")
	proxied, proxiedKey := doctorEmulator(t, fakejira.Options{PublicBaseURL: "https://jira.example.com/jira"}, "asanajira-cli")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/jira"
	_ = ln.Close()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		env      map[string]string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noStdout []string
	}{
		"healthy": {
			args: []string{"--jira-url", healthy, "--consumer-key", "asanajira-cli", "--private-key", keyFile, "--admin-user", "admin", "--admin-password-file", pwFile},
			code: 0,
			stdout: []string{"Jira " + healthy + ", version 9.12.0", "PASS  Jira URL", "PASS  OAuth request-token servlet", "Jira issued a request token to consumer asanajira-cli",
				"PASS  Application links REST", "17 checks: 15 passed, 0 warnings, 0 failed, 2 skipped."},
		},
		"env twins": {
			env:    map[string]string{"ASANAJIRA_JIRA_URL": healthy, "ASANAJIRA_ADMIN_USER": "admin", "ASANAJIRA_ADMIN_PASSWORD": "admin"},
			args:   nil,
			code:   0,
			stdout: []string{"logged in as admin"},
		},
		"json": {
			args:   []string{"--jira-url", healthy, "--json"},
			code:   0,
			stdout: []string{`"jira_url": "` + healthy + `"`, `"ok": true`, `"id": "server_info"`},
		},
		"broken base URL": {
			args:   []string{"--jira-url", proxied, "--consumer-key", "asanajira-cli", "--private-key", proxiedKey},
			code:   1,
			stdout: []string{"FAIL  Base URL", "FAIL  OAuth request-token servlet", "^ first difference", "--connect-to"},
			stderr: []string{"asanajira doctor: 2 checks failed"},
		},
		"broken JSON": {
			args:   []string{"--jira-url", proxied, "--consumer-key", "asanajira-cli", "--private-key", proxiedKey, "--json"},
			code:   1,
			stdout: []string{`"ok": false`, `"first_difference": 9`, `"jira_url": "https://jira.example.com/jira/plugins/servlet/oauth/request-token"`},
			stderr: []string{"2 checks failed"},
		},
		"unreachable": {
			args:   []string{"--jira-url", closed, "--timeout", "5s"},
			code:   1,
			stdout: []string{"FAIL  TCP connection", "refused", "SKIP  serverInfo endpoint"},
			stderr: []string{"asanajira doctor: 1 check failed"},
		},
		"help": {
			args: []string{"--help"},
			code: 0,
			stdout: []string{"Usage: asanajira doctor --jira-url URL", "--jira-url", "--connect-to", "--ca-bundle", "--consumer-key", "--private-key", "--access-token",
				"--access-token-file", "--admin-user", "--admin-password", "--admin-password-file", "--admin-token", "--admin-token-file", "--project", "--public",
				"--timeout", "--json", "[ASANAJIRA_ADMIN_PASSWORD]", "Exit status"},
		},
		"no URL":           {args: nil, code: 2, stderr: []string{"--jira-url is required", "asanajira doctor --help"}},
		"key without id":   {args: []string{"--jira-url", healthy, "--private-key", keyFile}, code: 2, stderr: []string{"--consumer-key and --private-key go together"}},
		"token and user":   {args: []string{"--jira-url", healthy, "--admin-token", "t", "--admin-user", "admin"}, code: 2, stderr: []string{"not both"}},
		"user no pw":       {args: []string{"--jira-url", healthy, "--admin-user", "admin"}, code: 2, stderr: []string{"--admin-user and --admin-password go together"}},
		"pw twice":         {args: []string{"--jira-url", healthy, "--admin-user", "admin", "--admin-password", "x", "--admin-password-file", pwFile}, code: 2, stderr: []string{"not both"}},
		"bad connect-to":   {args: []string{"--jira-url", healthy, "--connect-to", "10.0.0.5"}, code: 2, stderr: []string{"must be HOST:PORT"}},
		"bad timeout":      {args: []string{"--jira-url", healthy, "--timeout", "soon"}, code: 2, stderr: []string{"invalid value"}},
		"stray argument":   {args: []string{"--jira-url", healthy, "extra"}, code: 2, stderr: []string{`unexpected argument "extra"`}},
		"missing key file": {args: []string{"--jira-url", healthy, "--consumer-key", "k", "--private-key", filepath.Join(dir, "nope.pem")}, code: 1, stderr: []string{"read --private-key"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, tc.env, append([]string{"doctor"}, tc.args...)...)
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
			if strings.Contains(stdout+stderr, "admin\n") && name == "healthy" {
				t.Errorf("the password file's content leaked into the output")
			}
		})
	}
}

// TestDoctorJSONShape decodes the --json output completely.
func TestDoctorJSONShape(t *testing.T) {
	t.Parallel()
	url, _ := doctorEmulator(t, fakejira.Options{Version: "8.20.1"}, "k")
	code, stdout, stderr := run(t, nil, "doctor", "--jira-url", url, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		JiraURL string `json:"jira_url"`
		Version string `json:"version"`
		OK      bool   `json:"ok"`
		Checks  []struct {
			ID       string `json:"id"`
			Title    string `json:"title"`
			Status   string `json:"status"`
			Evidence string `json:"evidence"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if rep.JiraURL != url || rep.Version != "8.20.1" || !rep.OK || len(rep.Checks) != 17 {
		t.Errorf("report = %+v", rep)
	}
	for _, c := range rep.Checks {
		if c.ID == "" || c.Title == "" || c.Status == "" || c.Evidence == "" {
			t.Errorf("incomplete check %+v", c)
		}
	}
}
