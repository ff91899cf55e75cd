package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestBackupIsAConsistentPrivateCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "asanajira.db")
	sealer := storetest.NewSealer(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(t.Context(), path, sealer, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AppendAudit(t.Context(), store.AuditEntry{Actor: "alice", Action: "test.before"}); err != nil {
		t.Fatal(err)
	}

	dest := filepath.Join(dir, "copy.db")
	if err := sqlite.Backup(t.Context(), st.DB(), dest); err != nil {
		t.Fatal(err)
	}
	// Written after the copy: must not be in it.
	if err := st.AppendAudit(t.Context(), store.AuditEntry{Actor: "bob", Action: "test.after"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	restored, err := sqlite.Open(t.Context(), dest, sealer, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	entries, err := restored.ListAudit(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if diff := cmp.Diff([]string{"test.before"}, actions); diff != "" {
		t.Errorf("audit entries in the copy (-want +got):\n%s", diff)
	}

	if err := sqlite.Backup(t.Context(), st.DB(), dest); err == nil {
		t.Error("a second backup over an existing file succeeded; it must refuse")
	}
}

func TestBackupBeforeMigrating(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 29, 20, 45, 0, 0, time.UTC)
	tests := map[string]struct {
		current    int
		wantBackup bool
	}{
		"empty database: nothing to keep": {current: 0},
		"existing schema":                 {current: 1, wantBackup: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "asanajira.db")
			db, err := sqlite.OpenDB(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var reported []string
			hook := sqlite.BackupBeforeMigrating(db, path, func() time.Time { return at }, func(backup string, from int, pending []int) {
				reported = append(reported, backup)
				if from != tc.current || !cmp.Equal(pending, []int{2}) {
					t.Errorf("reported from %d pending %v", from, pending)
				}
			})
			if err := hook(context.Background(), tc.current, []int{2}); err != nil {
				t.Fatal(err)
			}
			want := path + ".schema1-20261129T204500Z.bak"
			if !tc.wantBackup {
				if len(reported) != 0 {
					t.Errorf("backups %v, want none", reported)
				}
				return
			}
			if diff := cmp.Diff([]string{want}, reported); diff != "" {
				t.Errorf("backup (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(want); err != nil {
				t.Error(err)
			}
			// A second attempt in the same second must not overwrite it.
			if err := hook(context.Background(), tc.current, []int{2}); err == nil || !strings.Contains(err.Error(), "nothing was migrated") {
				t.Errorf("second hook err = %v", err)
			}
		})
	}
}
