package jira

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// python3 is Debian's interpreter when present: a pyenv python3 earlier on
// PATH usually lacks the python3-jira package.
func python3() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// TestPythonJiraClient drives the emulator with python3-jira (Debian's
// python3-jira package), per profile: OAuth 1.0a everywhere, PATs from 8.14.
func TestPythonJiraClient(t *testing.T) {
	t.Parallel()
	py := python3()
	if err := exec.CommandContext(t.Context(), py, "-c", "import jira, requests_oauthlib, cryptography").Run(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("python3-jira is not installed (apt-get install python3-jira python3-oauthlib): %v", err)
		}
		t.Fatalf("python3-jira is required in CI: %v", err)
	}
	script, err := filepath.Abs("testdata/pyjira_check.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Versions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{Version: v})
			args := []string{script, base(s, ts), "oauth"}
			if s.prof.hasPAT() {
				args = append(args, "pat")
			}
			out, err := exec.CommandContext(t.Context(), py, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("pyjira_check.py: %v\n%s", err, out)
			}
			t.Logf("%s", out)
		})
	}
}
