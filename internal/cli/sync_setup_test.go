package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSyncCommandsGolden sets up a connection's two-way sync and field
// mapping from the command line, as an admin would, on one database
// against the Jira emulator, and compares what the commands print (and
// their exit codes) with a golden transcript: the defaults before anything
// is saved, a change and the same change again, a project's own mapping,
// refusals, and removals.
func TestSyncCommandsGolden(t *testing.T) {
	t.Parallel()
	_, base := startJira(t, "9.12.0")
	env := setupTestEnv(t)
	const project = "1201000000000101"
	conn := []string{"--workspace", "Acme", "--server", "Main Jira"}
	with := func(args ...string) []string { return append(args, conn...) }
	for _, args := range [][]string{
		{"jira", "add", base, "--name", "Main Jira", "--admin-user", "admin"},
		{"workspace", "add", "1201000000000001", "--name", "Acme"},
		{"route", "set", "--workspace", "Acme", "--server", "Main Jira", "--default"},
		{"route", "set", "--workspace", "Acme", "--server", "Main Jira", "--project", project},
	} {
		if code, _, stderr := run(t, env, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	steps := [][]string{
		with("sync", "show"),
		with("sync", "set", "--enabled", "--completion=false", "--done-transition", "Close issue"),
		with("sync", "set", "--enabled"),
		with("sync", "fields", "--field", "notes=both", "--field", "due=jira_to_asana", "--domain-alias", "acme.example=example.com",
			"--status-section", "In Progress=Doing", "--user", "ada@acme.example=admin"),
		with("sync", "fields", "--field", "notes=both"),
		with("sync", "show"),
		with("sync", "fields", "--project", project, "--field", "due=off", "--status-section", "Done=Shipped"),
		with("sync", "show", "--project", project),
		with("sync", "fields", "--field", "status=both"),
		with("sync", "fields", "--field", "colour=both"),
		with("sync", "fields", "--project", "1201000000000999", "--field", "due=off"),
		with("sync", "fields", "--project", project, "--remove"),
		with("sync", "fields", "--project", project, "--remove"),
		with("sync", "fields", "--remove"),
		with("sync", "set", "--enabled=false"),
		with("sync", "show"),
		{"sync", "show", "--workspace", "Acme", "--server", "Other Jira"},
	}
	var b strings.Builder
	for _, args := range steps {
		code, stdout, stderr := run(t, env, args...)
		b.WriteString("$ asanajira " + shellJoin(args) + "\n" + stdout)
		if code != 0 {
			b.WriteString("[exit " + strconv.Itoa(code) + "] " + stderr)
		} else if stderr != "" {
			t.Errorf("%v wrote to stderr: %s", args, stderr)
		}
		b.WriteString("\n")
	}
	goldenFile(t, "sync_commands.golden.txt", mask(b.String()))

	// --json shows what the admin API shows; the settings name the
	// operating-system user who saved them.
	code, stdout, stderr := run(t, env, with("sync", "show", "--json")...)
	if code != 0 {
		t.Fatalf("sync show --json: exit %d: %s", code, stderr)
	}
	var shown struct {
		Sync struct {
			Enabled   bool   `json:"enabled"`
			UpdatedBy string `json:"updated_by"`
		} `json:"sync"`
		Fields struct {
			Saved      bool              `json:"saved"`
			Directions map[string]string `json:"directions"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(stdout), &shown); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if shown.Sync.Enabled || !strings.Contains(shown.Sync.UpdatedBy, "ops") || shown.Fields.Saved {
		t.Errorf("sync show --json: %s", stdout)
	}
	if diff := cmp.Diff("both", shown.Fields.Directions["name"]); diff != "" {
		t.Errorf("default direction of name: %s", diff)
	}
}
