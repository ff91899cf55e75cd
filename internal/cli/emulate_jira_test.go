package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// emuJiraBuffer is a bytes.Buffer safe to read while the command writes to it.
type emuJiraBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *emuJiraBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *emuJiraBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func emuJiraEnv(out, errw io.Writer, vars map[string]string) Env {
	return Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: errw, Getenv: func(k string) string { return vars[k] }}
}

func TestEmulateJiraHelp(t *testing.T) {
	t.Parallel()
	var out, errw emuJiraBuffer
	if code := Main(t.Context(), []string{"emulate", "jira", "--help"}, emuJiraEnv(&out, &errw, nil)); code != 0 {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	for _, want := range []string{"--listen", "ASANAJIRA_LISTEN", "--jira-version", "ASANAJIRA_JIRA_VERSION", "--context-path",
		"--base-url", "--disable-basic-auth", "--rate-limit", "--attachment-limit", "admin/admin", "alice/alice", "bob/bob",
		"7.13.5, 8.5.0, 8.13.0, 8.20.1, 9.12.0, 10.3.0", "127.0.0.1:2990", "/_emulator/faults"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestEmulateJiraErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown version", []string{"--jira-version", "9.0.0"}, 2, "choose one of 7.13.5, 8.5.0"},
		{"busy port", []string{"--listen", busy.Addr().String()}, 1, "is another process using the port"},
		{"bad base URL", []string{"--listen", "127.0.0.1:0", "--base-url", "ftp://x"}, 2, "public base URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errw emuJiraBuffer
			if code := Main(t.Context(), append([]string{"emulate", "jira"}, tc.args...), emuJiraEnv(&out, &errw, nil)); code != tc.code || !strings.Contains(errw.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d containing %q", code, errw.String(), tc.code, tc.want)
			}
		})
	}
}

func TestEmulateJiraServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var out, errw emuJiraBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"emulate", "jira"}, emuJiraEnv(&out, &errw, map[string]string{
			"ASANAJIRA_LISTEN": "127.0.0.1:0", "ASANAJIRA_JIRA_VERSION": "8.20.1"}))
	}()
	// The command prints its URL once it listens.
	var url string
	for url == "" {
		select {
		case code := <-done:
			t.Fatalf("exited early with %d: %s", code, errw.String())
		default:
		}
		if line := out.String(); strings.Contains(line, "listening on ") {
			url = strings.TrimSpace(line[strings.Index(line, "listening on ")+len("listening on "):])
		}
		emuJiraPause()
	}
	if !strings.HasPrefix(out.String(), "Jira 8.20.1 emulator listening on http://127.0.0.1:") || !strings.HasSuffix(url, "/jira") {
		t.Fatalf("stdout %q", out.String())
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"/rest/api/2/serverInfo", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"version":"8.20.1"`) || !strings.Contains(string(body), `"baseUrl":"`+url+`"`) {
		t.Errorf("serverInfo: %d %s", res.StatusCode, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after cancel: %s", code, errw.String())
	}
}

func emuJiraPause() { <-time.After(time.Millisecond) }
