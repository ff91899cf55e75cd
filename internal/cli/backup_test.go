package cli

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
)

// TestBackupAndRestoreSQLite is the restore path docs/operations.md gives:
// backup while the data is there, lose the database, put the copy in its
// place, and every sealed token opens with the key file.
func TestBackupAndRestoreSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "asanajira.db")
	if code, _, stderr := run(t, nil, "migrate", "--database-url", db); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	keyFile := filepath.Join(dir, "data", "asanajira.key")
	kr, err := secrets.LoadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), db, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutAsanaUser(t.Context(), store.AsanaUser{GID: "42", Name: "Alice", AccessToken: "asana-token-42"}); err != nil {
		t.Fatal(err)
	}

	// Backed up while the store is open, as with serve running.
	out := filepath.Join(dir, "asanajira-backup.db")
	code, stdout, stderr := run(t, nil, "backup", "--database-url", db, "--out", out)
	_ = st.Close()
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"Wrote a consistent copy of the SQLite database to " + out, "Back up the sealing key with it: the key file " + keyFile} {
		if !strings.Contains(stdout, want) {
			t.Errorf("backup output lacks %q:\n%s", want, stdout)
		}
	}
	if code, _, stderr := run(t, nil, "backup", "--database-url", db, "--out", out); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("backup over an existing file: exit %d, %s; want 1 and a refusal", code, stderr)
	}

	// Disaster: the database is gone. Restore the copy and start again.
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	copyFile(t, out, db)
	if code, _, stderr := run(t, nil, "migrate", "--database-url", db); code != 0 {
		t.Fatalf("migrate after restore: %s", stderr)
	}
	restored, err := sqlite.Open(t.Context(), db, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	u, err := restored.GetAsanaUser(t.Context(), "42")
	if err != nil || u.AccessToken.Reveal() != "asana-token-42" || u.Name != "Alice" {
		t.Fatalf("restored user %+v (token %q), %v", u, u.AccessToken.Reveal(), err)
	}

	if code, _, stderr := run(t, nil, "backup", "--database-url", filepath.Join(dir, "nothing.db"), "--out", filepath.Join(dir, "x.db")); code != 1 || !strings.Contains(stderr, "no SQLite database to back up") {
		t.Errorf("backup of a missing database: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, nil, "backup", "--database-url", db); code != 2 || !strings.Contains(stderr, "--out FILE is required") {
		t.Errorf("backup without --out: exit %d, %s", code, stderr)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// needTool finds a command-line tool a test runs; without it the test is
// skipped on a developer's machine and fails under CI.
func needTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed under CI (Debian package %s; .ci/run installs it)", name, debianPackage)
	}
	t.Skipf("%s is not installed (Debian package %s)", name, debianPackage)
	return ""
}

// TestBackupPostgresPrintsWorkingCommands runs the printed pg_dump and
// pg_restore commands: dump, drop everything, restore, read the sealed
// token back.
func TestBackupPostgresPrintsWorkingCommands(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	needTool(t, "pg_dump", "postgresql-client")
	needTool(t, "pg_restore", "postgresql-client")
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := secrets.ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(t.Context(), dbURL, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutAsanaUser(t.Context(), store.AsanaUser{GID: "7", AccessToken: "pg-token-7"}); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()

	// The server's URL as an admin would write it, with a password.
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	withPassword := *u
	withPassword.User = url.UserPassword(u.User.Username(), "s3cret-pw")
	out := filepath.Join(t.TempDir(), "asanajira.dump")
	code, stdout, stderr := run(t, nil, "backup", "--database-url", withPassword.String(), "--secret-key", key, "--out", out)
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stdout, "s3cret-pw") {
		t.Fatalf("the printed commands show the password:\n%s", stdout)
	}
	for _, want := range []string{"pg_dump --format=custom", "--schema=", "pg_restore --no-owner", "Back up the sealing key with it: the key given with --secret-key"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	dump, restore := commandLine(t, stdout, "pg_dump "), commandLine(t, stdout, "pg_restore ")
	sh(t, dump)

	schema := u.Query().Get("search_path")
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), fmt.Sprintf(`DROP SCHEMA %s CASCADE`, schema)); err != nil {
		t.Fatal(err)
	}
	sh(t, restore)

	restored, err := postgres.Open(t.Context(), dbURL, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	got, err := restored.GetAsanaUser(t.Context(), "7")
	if err != nil || got.AccessToken.Reveal() != "pg-token-7" {
		t.Fatalf("restored user: token %q, %v", got.AccessToken.Reveal(), err)
	}
}

func commandLine(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no %q line in:\n%s", prefix, out)
	return ""
}

func sh(t *testing.T, line string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "sh", "-c", line)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
}

func TestMigrateAndServeRefuseANewerSchema(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "asanajira.db")
	if code, _, stderr := run(t, nil, "migrate", "--database-url", db); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	raw, err := sqlite.OpenDB(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, app_version) VALUES (9999, '9999_future.sql', '9.9.9')`); err != nil {
		t.Fatal(err)
	}
	_ = raw.Close()
	for _, args := range [][]string{
		{"migrate", "--database-url", db},
		{"serve", "--database-url", db, "--listen", "127.0.0.1:0"},
	} {
		code, _, stderr := run(t, nil, args...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", args[0], code, stderr)
		}
		for _, want := range []string{"schema is at version 9999", "migrated by asanajira 9.9.9", "this asanajira dev knows schema versions up to", "run asanajira 9.9.9 or newer"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: message lacks %q:\n%s", args[0], want, stderr)
			}
		}
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(http.StatusOK)
		case "/sick":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")

	tests := map[string]struct {
		env    map[string]string
		args   []string
		code   int
		output string
	}{
		"listen from the environment, wildcard host": {env: map[string]string{"ASANAJIRA_LISTEN": ":" + port}, code: 0, output: "http://127.0.0.1:" + port + "/healthz: 200 OK"},
		"--listen":                       {args: []string{"--listen", "0.0.0.0:" + port}, code: 0, output: "200 OK"},
		"--url":                          {args: []string{"--url", srv.URL + "/healthz"}, code: 0, output: "200 OK"},
		"server answers 503":             {args: []string{"--url", srv.URL + "/sick"}, code: 1, output: "503 Service Unavailable"},
		"wrong path answers 404":         {args: []string{"--url", srv.URL + "/nope"}, code: 1, output: "404 Not Found"},
		"nothing listens":                {args: []string{"--url", "http://127.0.0.1:1/healthz"}, code: 1, output: "connection refused"},
		"--listen that is not host:port": {args: []string{"--listen", "8080"}, code: 2, output: "not host:port"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, tc.env, append([]string{"healthcheck"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.output) {
				t.Errorf("exit %d, output %q%q; want exit %d and %q", code, stdout, stderr, tc.code, tc.output)
			}
		})
	}
}
