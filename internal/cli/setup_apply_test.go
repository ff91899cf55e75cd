package cli

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/demo"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/google/go-cmp/cmp"
)

// readmeSetupFile is the setup.yaml README's "Configure from code" shows.
func readmeSetupFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "### The setup file: `asanajira apply`")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README has no setup.yaml under \"The setup file: `asanajira apply`\"")
	}
	return block
}

// README shows the demo's own setup file, for the default ports.
func TestREADMEShowsTheDemoSetupFile(t *testing.T) {
	t.Parallel()
	d := &demo.Demo{JiraURL: "http://127.0.0.1:2990/jira"}
	if diff := cmp.Diff(d.SetupFile(), readmeSetupFile(t)); diff != "" {
		t.Errorf("README's setup.yaml is not the demo's (-demo +README):\n%s", diff)
	}
}

// TestApplyREADMESetupFileGolden applies the README's setup.yaml to the
// emulators with asanajira apply: the dry run's plan, the apply, a second
// apply that changes nothing, an edited file's plan with a removal left
// for --prune, and --prune, each compared with a golden transcript.
func TestApplyREADMESetupFileGolden(t *testing.T) {
	t.Parallel()
	j, jiraURL := startJira(t, "9.12.0")
	fa, err := fakeasana.New(fakeasana.Options{OnUnknownRoute: func(m, p string) { t.Errorf("asana emulator: unknown route %s %s", m, p) }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fa)
	t.Cleanup(hs.Close)
	t.Cleanup(fa.Close)
	if err := fa.SetPublicBaseURL(hs.URL); err != nil {
		t.Fatal(err)
	}
	env := setupTestEnv(t)
	delete(env, "ASANAJIRA_ADMIN_PASSWORD")
	env["ASANAJIRA_ASANA_URL"] = hs.URL
	env["ASANA_TOKEN"], env["JIRA_ADMIN_PASSWORD"] = "pat-admin", "admin"

	dir := t.TempDir()
	file := filepath.Join(dir, "setup.yaml")
	readme := strings.ReplaceAll(readmeSetupFile(t), "http://127.0.0.1:2990/jira", jiraURL)
	edited := strings.Replace(readme, "jira_project: DEMO", "jira_project: OPS", 1)
	edited = strings.Replace(edited, "    routes:\n      - project: Launch\n        server: Jira emulator\n        jira_project: OPS\n", "", 1)
	if edited == readme || strings.Contains(edited, "routes:") {
		t.Fatal("the edit of the README's file did not take")
	}
	steps := []struct {
		text string
		args []string
	}{
		{readme, []string{"apply", "-f", file, "--dry-run"}},
		{readme, []string{"apply", "-f", file}},
		{readme, []string{"apply", "-f", file}},
		{readme, []string{"apply", "-f", file, "--dry-run", "--prune"}},
		{edited, []string{"apply", "-f", file, "--dry-run"}},
		{edited, []string{"apply", "-f", file}},
		{edited, []string{"apply", "-f", file, "--prune"}},
		{edited, []string{"apply", "-f", file, "--prune"}},
		{readme, []string{"apply", "-f", file, "--dry-run"}},
	}
	var b strings.Builder
	for _, s := range steps {
		if err := os.WriteFile(file, []byte(s.text), 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := run(t, env, s.args...)
		name := "setup.yaml"
		if s.text == edited {
			name = "setup.yaml (edited: no route)"
		}
		b.WriteString(strings.TrimSpace("$ asanajira apply -f "+name+" "+strings.Join(s.args[3:], " ")) + "\n" + stdout)
		if code != 0 {
			b.WriteString("[exit " + strconv.Itoa(code) + "] " + stderr)
		}
		b.WriteString("\n")
	}
	got := strings.ReplaceAll(mask(b.String()), fa.Seed().Workspace, "WORKSPACE_GID")
	got = strings.ReplaceAll(got, fa.Seed().Project, "PROJECT_GID")
	goldenFile(t, "apply_readme.golden.txt", got)
	if len(j.ApplicationLinks()) != 1 || len(j.Webhooks()) != 1 {
		t.Errorf("Jira has %d links and %d webhooks, want 1 and 1", len(j.ApplicationLinks()), len(j.Webhooks()))
	}

	// --json: the plan as one document.
	code, stdout, stderr := run(t, env, "apply", "-f", file, "--dry-run", "--json")
	var plan struct {
		Changes []struct {
			Op, What  string
			PruneOnly bool `json:"prune_only"`
			Applied   bool
		} `json:"changes"`
		Notes []string `json:"notes"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &plan) != nil || len(plan.Changes) != 1 || plan.Changes[0].Op != "+" || plan.Changes[0].Applied {
		t.Errorf("--json: exit %d, %s %s", code, stdout, stderr)
	}
}

// apply refuses inline secrets and says where; -f is required.
func TestApplyUsage(t *testing.T) {
	t.Parallel()
	env := setupTestEnv(t)
	file := filepath.Join(t.TempDir(), "setup.yaml")
	if err := os.WriteFile(file, []byte("jira_servers:\n  - name: J\n    url: https://jira.example.com\n    admin: {user: admin, password: hunter2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, env, "apply", "-f", file)
	if code != 1 || !strings.Contains(stderr, "jira_servers[0] (J) admin: password is a secret and is never written in the file") || strings.Contains(stderr, "hunter2") {
		t.Errorf("inline password: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, env, "apply"); code != 2 || !strings.Contains(stderr, "-f setup.yaml is required") {
		t.Errorf("no -f: exit %d, %s", code, stderr)
	}
}
