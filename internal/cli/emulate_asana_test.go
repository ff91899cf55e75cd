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

// syncBuffer is a bytes.Buffer safe for the command's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testEnv(stdout, stderr io.Writer, vars map[string]string) Env {
	return Env{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr, Getenv: func(k string) string { return vars[k] }}
}

func TestEmulateAsanaHelp(t *testing.T) {
	t.Parallel()
	var out, errb syncBuffer
	code := Main(t.Context(), []string{"emulate", "asana", "--help"}, testEnv(&out, &errb, nil))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"--listen", "ASANAJIRA_LISTEN", "--client-id", "--client-secret", "--widget-metadata-url",
		"--form-metadata-url", "--resource-attach-url", "--resource-typeahead-url", "--authentication-url",
		"--match-url-pattern", "--rule-action-run-url", "--token-lifetime", "--rate-limit", "pat-alice", "asanajira-demo", "demo-secret"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestEmulateAsanaServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"emulate", "asana", "--listen", "127.0.0.1:0"},
			testEnv(&out, &errb, map[string]string{"ASANAJIRA_CLIENT_SECRET": "from-env"}))
	}()
	var base string
	for base == "" {
		select {
		case code := <-done:
			t.Fatalf("exited early with %d: %s", code, errb.String())
		case <-time.After(5 * time.Millisecond):
		}
		if line, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "Asana emulator listening on "); ok {
			base = line
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/api/1.0/users/me", nil)
	req.Header.Set("Authorization", "Bearer pat-alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Alice Anders") {
		t.Errorf("users/me: %d %s", resp.StatusCode, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after cancel: %s", code, errb.String())
	}
}

func TestEmulateAsanaBusyPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errb syncBuffer
	code := Main(t.Context(), []string{"emulate", "asana", "--listen", ln.Addr().String()}, testEnv(&out, &errb, nil))
	if code != 1 || !strings.Contains(errb.String(), "another process") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

func TestEmulateAsanaBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--match-url-pattern", "("}, {"--widget-metadata-url", "not a url"}, {"extra"}} {
		var out, errb syncBuffer
		if code := Main(t.Context(), append([]string{"emulate", "asana"}, args...), testEnv(&out, &errb, nil)); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}
