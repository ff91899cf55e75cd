package sqlite

import (
	"path/filepath"
	"testing"
)

// A connection prepares each statement text once and keeps it; scripts and
// statements other than DML are not kept.
func TestStatementsAreKept(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := OpenWriter(ctx, filepath.Join(t.TempDir(), "kept.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, q := range []string{`CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE TABLE u (id INTEGER)`, `PRAGMA user_version = 7`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (id) VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE id <= $1`, i).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("count %d, %v", n, err)
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var kept []string
	if err := conn.Raw(func(c any) error {
		for text := range c.(*keepingConn).kept {
			kept = append(kept, text)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 {
		t.Errorf("kept statements %q, want the INSERT and the SELECT", kept)
	}
}

func TestKeepable(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]bool{
		"SELECT 1":                             true,
		"  insert into t values (1);  ":        true,
		"WITH x AS (SELECT 1) SELECT * FROM x": true,
		"CREATE TABLE t (id int)":              false,
		"SELECT 1; SELECT 2":                   false,
		"PRAGMA query_only":                    false,
		"BEGIN":                                false,
		"-- name: JobInsertFastMany :many\nINSERT INTO /* TEMPLATE: schema */river_job (id) SELECT 1": true,
		"/* a */ -- b\n  SELECT 1":                       true,
		"-- name: JobSchemaGet\nCREATE TABLE t (id int)": false,
		"-- only a comment":                              false,
		"/* unterminated SELECT 1":                       false,
		"UPDATE t SET a = CASE WHEN b\n  -- once; not twice\n  THEN 1 END WHERE id = 1": true,
		"UPDATE t SET a = 1 /* one; */ WHERE id = 1;  -- done; really\n":                true,
		"SELECT ';' AS semi, \"x;y\" FROM t":                                            true,
		"SELECT 1 -- a; b\n; SELECT 2":                                                  false,
		"SELECT 'it''s'; SELECT 2":                                                      false,
		"SELECT 'unterminated; SELECT 2":                                                false,
	} {
		if got := keepable(q); got != want {
			t.Errorf("keepable(%q) = %v, want %v", q, got, want)
		}
	}
}
