package packaging

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// checkUnit reads a systemd unit and checks what the packages promise: the
// dedicated user, the settings file, the state folder and the hardening.
func checkUnit(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		got[k] = append(got[k], v)
	}
	want := map[string]string{
		"User": "asanajira", "Group": "asanajira",
		"EnvironmentFile":  "/etc/asanajira/asanajira.env",
		"ExecStart":        "/usr/bin/asanajira serve",
		"StateDirectory":   "asanajira",
		"WorkingDirectory": "/var/lib/asanajira",
		"NoNewPrivileges":  "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
		"PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
		"RestrictSUIDSGID": "yes", "MemoryDenyWriteExecute": "yes", "UMask": "0077",
		"WantedBy": "multi-user.target",
	}
	for k, v := range want {
		if !slices.Contains(got[k], v) {
			t.Errorf("%s: %s=%q missing (has %q)", filepath.Base(path), k, v, got[k])
		}
	}
}

func TestUnitFile(t *testing.T) {
	t.Parallel()
	checkUnit(t, "systemd/asanajira.service")
}

// TestVersionScript checks packaging/version.sh, which make build and make
// release-snapshot stamp with, in throwaway repositories.
func TestVersionScript(t *testing.T) {
	t.Parallel()
	git := tool(t, "git", "Debian package git")
	script, err := filepath.Abs("version.sh")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t.invalid"}
	repo := func(t *testing.T) string {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "packaging"), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "packaging", "version.sh"), b, 0o755); err != nil {
			t.Fatal(err)
		}
		changelog := "# Changelog\n\n## [Unreleased]\n\n- more\n\n## [1.4.2] - 2026-12-01\n\n## [1.4.1] - 2026-11-01\n"
		if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte(changelog), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, dir, env, git, "init", "-q")
		run(t, dir, env, git, "add", "-A")
		run(t, dir, env, git, "commit", "-q", "--no-gpg-sign", "-m", "x")
		return dir
	}
	version := func(t *testing.T, dir string) string {
		return strings.TrimSpace(run(t, dir, nil, "sh", "packaging/version.sh"))
	}

	t.Run("untagged: the changelog's latest release plus the commit", func(t *testing.T) {
		t.Parallel()
		dir := repo(t)
		short := strings.TrimSpace(run(t, dir, nil, git, "rev-parse", "--short=7", "HEAD"))
		if got, want := version(t, dir), "1.4.2+"+short; got != want {
			t.Errorf("version %q, want %q", got, want)
		}
		if err := os.WriteFile(filepath.Join(dir, "packaging", "version.sh"), append(readFile(t, script), "# changed\n"...), 0o755); err != nil {
			t.Fatal(err)
		}
		if got := version(t, dir); !strings.HasSuffix(got, ".dirty") {
			t.Errorf("version of a modified tree %q, want a .dirty suffix", got)
		}
	})
	t.Run("tagged: the tag", func(t *testing.T) {
		t.Parallel()
		dir := repo(t)
		run(t, dir, env, git, "tag", "v1.5.0")
		if got := version(t, dir); got != "1.5.0" {
			t.Errorf("version %q, want 1.5.0", got)
		}
	})
	t.Run("the repository's own changelog names a release", func(t *testing.T) {
		t.Parallel()
		got := strings.TrimSpace(run(t, repoRoot(t), nil, "sh", "packaging/version.sh"))
		if !regexp.MustCompile(`^\d+\.\d+\.\d+(\+[0-9a-f]{7}(\.dirty)?)?$`).MatchString(got) {
			t.Errorf("version.sh here says %q", got)
		}
	})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBareBuildSaysDev: only a build that nobody stamped says "dev".
func TestBareBuildSaysDev(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "asanajira")
	run(t, repoRoot(t), nil, "go", "build", "-o", bin, "./cmd/asanajira")
	if got := run(t, "", nil, bin, "version"); !strings.HasPrefix(got, "asanajira dev (commit ") {
		t.Errorf("a bare go build says %q, want asanajira dev …", got)
	}
	// The settings the packages and compose.yaml set are real flags' twins.
	help := run(t, "", nil, bin, "serve", "--help")
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`\[(ASANAJIRA_[A-Z_]+)\]`).FindAllStringSubmatch(help, -1) {
		known[m[1]] = true
	}
	if len(known) < 10 {
		t.Fatalf("serve --help names only %d environment variables", len(known))
	}
	for _, f := range []string{"asanajira.env", "../compose.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names := regexp.MustCompile(`ASANAJIRA_[A-Z_]+`).FindAllString(string(b), -1)
		if len(names) == 0 {
			t.Errorf("%s sets no ASANAJIRA_* variable", f)
		}
		for _, n := range names {
			if !known[n] && n != "ASANAJIRA_IMAGE" {
				t.Errorf("%s sets %s, which serve does not read", f, n)
			}
		}
	}
	// The compose health check runs a real subcommand.
	run(t, "", nil, bin, "healthcheck", "--help")
}
