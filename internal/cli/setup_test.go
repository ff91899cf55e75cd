package cli

import (
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/google/go-cmp/cmp"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// setupTestEnv is the environment of the setup commands in tests: a fresh
// SQLite database, the bridge's public URL, a user name and a Jira admin's
// password in the environment.
func setupTestEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"ASANAJIRA_DATABASE_URL":   filepath.Join(t.TempDir(), "asanajira.db"),
		"ASANAJIRA_PUBLIC_URL":     "https://asanajira.example.com",
		"USER":                     "ops",
		"ASANAJIRA_ADMIN_PASSWORD": "admin",
	}
}

func startJira(t *testing.T, version string) (*fakejira.Server, string) {
	t.Helper()
	j, err := fakejira.New(fakejira.Options{Version: version, OnUnknownRoute: func(m, p string) {
		t.Errorf("jira emulator: unknown route %s %s", m, p)
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(j)
	t.Cleanup(hs.Close)
	t.Cleanup(j.Close)
	base := hs.URL + j.ContextPath()
	if err := j.SetPublicBaseURL(base); err != nil {
		t.Fatal(err)
	}
	return j, base
}

// transcriptMasks hide what differs between runs.
var transcriptMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "JIRA_HOST"},
	{regexp.MustCompile(`js_[0-9a-f]{16}`), "SERVER_ID"},
	{regexp.MustCompile(`asanajira-[0-9a-f]{16}`), "CONSUMER_KEY"},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "LINK_ID"},
	{regexp.MustCompile(`(?s)-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----\\?n?`), "PUBLIC_KEY"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?( UTC|Z)`), "TIME"},
	{regexp.MustCompile(`Jira's clock \(Date header\)[^\n]*`), "Jira's clock (Date header) …"},
	{regexp.MustCompile(`build \d+`), "build N"},
}

func mask(s string) string {
	for _, m := range transcriptMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// goldenFile compares got with testdata/name; -update rewrites it.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

// TestSetupCommandsGolden runs the setup commands one after the other on
// one database against the Jira emulator, as an admin would, and compares
// what they print (and their exit codes) with a golden transcript.
func TestSetupCommandsGolden(t *testing.T) {
	t.Parallel()
	j, base := startJira(t, "9.12.0")
	env := setupTestEnv(t)
	steps := [][]string{
		{"jira", "list"},
		{"jira", "add", base, "--name", "Main Jira"},
		{"jira", "add", base},
		{"jira", "verify", "main jira"},
		{"jira", "add", base, "--admin-user", "admin"},
		{"jira", "list"},
		{"jira", "show", "Main Jira"},
		{"jira", "verify", base, "--admin-user", "admin"},
		{"workspace", "add", "1201000000000001", "--name", "Acme"},
		{"workspace", "add", "1201000000000001", "--name", "Acme"},
		{"workspace", "add", "acme"},
		{"route", "set", "--workspace", "Acme", "--server", "Main Jira", "--default"},
		{"route", "set", "--workspace", "Acme", "--server", "Main Jira", "--project", "1201000000000101", "--jira-project", "demo"},
		{"route", "set", "--workspace", "Acme", "--server", "Main Jira", "--project", "1201000000000101", "--jira-project", "DEMO"},
		{"route", "list"},
		{"workspace", "list"},
		{"route", "remove", "--workspace", "Acme", "--project", "1201000000000101"},
		{"route", "remove", "--workspace", "Acme", "--project", "1201000000000101"},
		{"route", "remove", "--workspace", "1201000000000001", "--server", "Main Jira"},
		{"jira", "remove", "Main Jira", "--admin-user", "admin"},
		{"jira", "show", "Main Jira"},
	}
	var b strings.Builder
	for _, args := range steps {
		code, stdout, stderr := run(t, env, args...)
		b.WriteString("$ asanajira " + shellJoin(args) + "\n" + stdout)
		if code != 0 {
			b.WriteString("[exit " + strconv.Itoa(code) + "] " + stderr)
		} else if stderr != "" && !strings.Contains(stderr, "created a new key") {
			t.Errorf("%v wrote to stderr: %s", args, stderr)
		}
		b.WriteString("\n")
	}
	goldenFile(t, "setup_commands.golden.txt", mask(b.String()))
	if len(j.ApplicationLinks()) != 0 || len(j.Webhooks()) != 0 {
		t.Errorf("Jira keeps %d links and %d webhooks after jira remove", len(j.ApplicationLinks()), len(j.Webhooks()))
	}
}

// shellJoin writes args as a shell would need them.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if strings.ContainsAny(a, " '\"") {
			quoted[i] = "'" + a + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// With --json every command prints one JSON document, without secrets.
func TestSetupCommandsJSON(t *testing.T) {
	t.Parallel()
	_, base := startJira(t, "10.3.0")
	env := setupTestEnv(t)
	for _, args := range [][]string{
		{"jira", "add", base, "--admin-user", "admin", "--json"},
		{"jira", "list", "--json"},
		{"jira", "show", base, "--json"},
		{"jira", "verify", base, "--json"},
		{"workspace", "add", "1201000000000001", "--name", "Acme", "--json"},
		{"route", "set", "--workspace", "Acme", "--server", base, "--default", "--json"},
		{"route", "list", "--json"},
		{"jira", "remove", base, "--json"},
	} {
		code, stdout, stderr := run(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(stdout), &v); err != nil {
			t.Fatalf("%v: not one JSON document: %v\n%s", args, err, stdout)
		}
		for _, secret := range []string{"PRIVATE KEY", "secret=", `"admin"`} {
			if strings.Contains(stdout, secret) {
				t.Errorf("%v prints %q:\n%s", args, secret, stdout)
			}
		}
	}
}

// Usage mistakes exit 2 and say what is missing; credentials are never
// taken on the command line.
func TestSetupCommandsUsage(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		args []string
		text string
	}{
		"no subcommand":          {[]string{"jira"}, "name a jira subcommand"},
		"unknown subcommand":     {[]string{"route", "delete"}, `unknown route subcommand "delete"`},
		"add without URL":        {[]string{"jira", "add"}, "Jira's base URL is required"},
		"password on the line":   {[]string{"jira", "add", "https://jira.example.com", "--admin-password", "x"}, "flag provided but not defined"},
		"user without password":  {[]string{"jira", "remove", "x", "--admin-user", "admin"}, "--admin-user needs --admin-password-file"},
		"repair without admin":   {[]string{"jira", "verify", "x", "--repair-webhook"}, "needs a Jira administrator's credentials"},
		"route without server":   {[]string{"route", "set", "--workspace", "Acme"}, "--workspace and --server are required"},
		"remove needs one thing": {[]string{"route", "remove", "--workspace", "Acme"}, "either --project or --server"},
		"two positionals":        {[]string{"jira", "show", "a", "b"}, `unexpected argument "b"`},
		"sync without server":    {[]string{"sync", "set", "--workspace", "Acme", "--enabled"}, "--workspace and --server are required"},
		"remove with a field":    {[]string{"sync", "fields", "--workspace", "Acme", "--server", "x", "--remove", "--field", "due=off"}, "--remove takes no mapping flags"},
		"field without =":        {[]string{"sync", "fields", "--workspace", "Acme", "--server", "x", "--field", "due"}, `want NAME=VALUE, got "due"`},
		"unknown sync command":   {[]string{"sync", "enable"}, `unknown sync subcommand "enable"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := setupTestEnv(t)
			delete(env, "ASANAJIRA_ADMIN_PASSWORD")
			code, _, stderr := run(t, env, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.text) {
				t.Errorf("exit %d, stderr %q; want 2 with %q", code, stderr, tc.text)
			}
		})
	}
}
