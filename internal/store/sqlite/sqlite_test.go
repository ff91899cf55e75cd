package sqlite_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

func newStore(t *testing.T, sealer store.Sealer, now func() time.Time) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "asanajira.db"), sealer, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newStore)
}

func TestConformanceThroughConfigCache(t *testing.T) {
	t.Parallel()
	storetest.RunConfigCache(t, newStore)
}

func TestNoPlaintextInFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "asanajira.db")
	now := time.Now()
	s, err := sqlite.Open(t.Context(), path, storetest.NewSealer(t), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	plain := storetest.WriteSecrets(t, s, now)
	// Read the files while the store is open (the WAL holds the latest
	// writes) and again after closing (checkpointed into the main file).
	check := func(when string) {
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range plain {
				if bytes.Contains(b, []byte(p)) {
					t.Errorf("%s: %s holds %q in the clear", when, filepath.Base(f), p)
				}
			}
		}
	}
	check("open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed")
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "asanajira.db")
	db, err := sqlite.OpenDB(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new database file mode: %v %v, want 0600", fi.Mode(), err)
	}
	first, err := sqlite.Migrate(t.Context(), db)
	if err != nil || len(first) == 0 {
		t.Fatalf("first migrate applied %v, err %v", first, err)
	}
	second, err := sqlite.Migrate(t.Context(), db)
	if err != nil || len(second) != 0 {
		t.Fatalf("second migrate applied %v, err %v; want nothing", second, err)
	}
}

func TestOpenUnwritablePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.OpenDB(t.Context(), filepath.Join(blocker, "sub", "asanajira.db"))
	if err == nil || !strings.Contains(err.Error(), "create folder") {
		t.Fatalf("err = %v, want a create folder error", err)
	}
}

// TestMigration002 runs migration 002 over rows written by the earlier
// schema.
func TestMigration002(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sqlite.OpenDB(ctx, filepath.Join(t.TempDir(), "asanajira.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.Migration002(t, db, func() error {
		_, err := store.Migrate(ctx, db, firstMigration(t))
		return err
	}, func() (store.Store, error) {
		_, err := sqlite.Migrate(ctx, db)
		return store.NewSQL(db, sqlite.Dialect, storetest.NewSealer(t), nil), err
	})
}

// firstMigration is the schema as version 001 left it.
func firstMigration(t *testing.T) fs.FS {
	t.Helper()
	b, err := os.ReadFile("migrations/001_initial.sql")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{"001_initial.sql": {Data: b}}
}
