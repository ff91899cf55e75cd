package upgrade

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/store/sqlite"
)

// TestSQLiteUpgradeFromPreviousReleaseBacksUpFirst: a database made by the
// previous release is copied beside itself before this tree migrates it;
// the copy is the previous release's database, whole, and a second start
// with nothing to migrate copies nothing.
func TestSQLiteUpgradeFromPreviousReleaseBacksUpFirst(t *testing.T) {
	t.Parallel()
	oldBin, newBin := binaries(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "asanajira.db")
	asanajira := func(bin string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, append(args, "--database-url", db, "--log-format", "json")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// The previous release creates the database and its key, and writes to
	// it (secrets rotate records an audit entry).
	asanajira(oldBin, "migrate")
	asanajira(oldBin, "secrets", "rotate")
	before := versions(t, db)
	if len(before) != 1 || !before[1] {
		t.Fatalf("the previous release's database records schema versions %v, want [1]", before)
	}

	out := asanajira(newBin, "migrate")
	var backup string
	for _, line := range strings.Split(out, "\n") {
		var m struct{ Msg, Backup string }
		if json.Unmarshal([]byte(line), &m) == nil && strings.HasPrefix(m.Msg, "backed up the database before migrating") {
			backup = m.Backup
		}
	}
	if backup == "" {
		t.Fatalf("migrate did not log a backup:\n%s", out)
	}
	if filepath.Dir(backup) != dir || !strings.HasPrefix(filepath.Base(backup), "asanajira.db.schema1-") {
		t.Errorf("backup %s, want asanajira.db.schema1-<time>.bak beside the database", backup)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v %v, want mode 0600", fi, err)
	}
	if got := versions(t, backup); len(got) != 1 || !got[1] {
		t.Errorf("the backup records schema versions %v, want the previous release's [1]", got)
	}
	if n := auditCount(t, backup, "secrets.rotate"); n != 1 {
		t.Errorf("the backup holds %d secrets.rotate audit entries, want 1", n)
	}
	after := versions(t, db)
	if len(after) <= 1 {
		t.Errorf("the migrated database records %v", after)
	}
	if n := auditCount(t, db, "secrets.rotate"); n != 1 {
		t.Errorf("the migrated database holds %d secrets.rotate audit entries, want 1", n)
	}

	// Nothing left to migrate: no new copy.
	if out := asanajira(newBin, "migrate"); strings.Contains(out, "backed up the database") {
		t.Errorf("a migrate with nothing to do made a backup:\n%s", out)
	}
	copies, err := filepath.Glob(filepath.Join(dir, "asanajira.db.schema*.bak"))
	if err != nil || len(copies) != 1 {
		t.Errorf("backups %v (%v), want exactly one", copies, err)
	}
}

func versions(t *testing.T, path string) map[int]bool {
	t.Helper()
	db, err := sqlite.OpenDB(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT version FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got[v] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func auditCount(t *testing.T, path, action string) int {
	t.Helper()
	db, err := sqlite.OpenDB(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM audit_log WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
