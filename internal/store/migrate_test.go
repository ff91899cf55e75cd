package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/google/go-cmp/cmp"
)

// Toy migrations in SQL both databases accept.
func toyMigrations(n int) fstest.MapFS {
	all := fstest.MapFS{
		"001_a.sql": {Data: []byte(`CREATE TABLE toy_a (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)},
		"002_b.sql": {Data: []byte(`CREATE TABLE toy_b (id INTEGER PRIMARY KEY)`)},
		"003_c.sql": {Data: []byte(`ALTER TABLE toy_a ADD COLUMN w TEXT NOT NULL DEFAULT ''`)},
	}
	for _, name := range []string{"003_c.sql", "002_b.sql", "001_a.sql"}[:3-n] {
		delete(all, name)
	}
	return all
}

// databases opens an empty database of each kind.
func databases(t *testing.T) map[string]func(t *testing.T) *sql.DB {
	return map[string]func(t *testing.T) *sql.DB{
		"sqlite": func(t *testing.T) *sql.DB {
			db, err := sqlite.OpenDB(t.Context(), filepath.Join(t.TempDir(), "asanajira.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		},
		"postgres": func(t *testing.T) *sql.DB {
			db, err := postgres.OpenDB(t.Context(), pgtest.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		},
	}
}

// eachDatabase runs test in parallel on an empty SQLite and PostgreSQL database.
func eachDatabase(t *testing.T, test func(t *testing.T, db *sql.DB)) {
	for name, open := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, open(t))
		})
	}
}

type beforeCall struct {
	Current int
	Pending []int
}

func recordBefore(calls *[]beforeCall) func(context.Context, int, []int) error {
	return func(_ context.Context, current int, pending []int) error {
		*calls = append(*calls, beforeCall{current, pending})
		return nil
	}
}

func schemaRows(t *testing.T, db *sql.DB) map[int]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version, app_version FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]string{}
	for rows.Next() {
		var (
			v  int
			by string
		)
		if err := rows.Scan(&v, &by); err != nil {
			t.Fatal(err)
		}
		got[v] = by
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMigrateRecordsVersionsAndCallsBeforeApplyOnlyWhenPending(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, db *sql.DB) {
		var calls []beforeCall
		applied, err := store.MigrateWith(t.Context(), db, toyMigrations(2), store.MigrateOptions{AppVersion: "0.2.0", BeforeApply: recordBefore(&calls)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int{1, 2}, applied); diff != "" {
			t.Errorf("first run applied (-want +got):\n%s", diff)
		}
		applied, err = store.MigrateWith(t.Context(), db, toyMigrations(3), store.MigrateOptions{AppVersion: "0.3.0", BeforeApply: recordBefore(&calls)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int{3}, applied); diff != "" {
			t.Errorf("upgrade applied (-want +got):\n%s", diff)
		}
		if _, err := store.MigrateWith(t.Context(), db, toyMigrations(3), store.MigrateOptions{AppVersion: "0.3.1", BeforeApply: recordBefore(&calls)}); err != nil {
			t.Fatal(err)
		}
		want := []beforeCall{{Current: 0, Pending: []int{1, 2}}, {Current: 2, Pending: []int{3}}}
		if diff := cmp.Diff(want, calls); diff != "" {
			t.Errorf("BeforeApply calls (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[int]string{1: "0.2.0", 2: "0.2.0", 3: "0.3.0"}, schemaRows(t, db)); diff != "" {
			t.Errorf("schema_migrations (-want +got):\n%s", diff)
		}
	})
}

func TestMigrateRefusesANewerSchema(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, db *sql.DB) {
		if _, err := store.MigrateWith(t.Context(), db, toyMigrations(3), store.MigrateOptions{AppVersion: "0.4.0"}); err != nil {
			t.Fatal(err)
		}
		called := false
		_, err := store.MigrateWith(t.Context(), db, toyMigrations(2), store.MigrateOptions{AppVersion: "0.3.0",
			BeforeApply: func(context.Context, int, []int) error { called = true; return nil }})
		var tooNew *store.SchemaTooNewError
		if !errors.As(err, &tooNew) || !errors.Is(err, store.ErrSchemaTooNew) {
			t.Fatalf("err = %v, want a *SchemaTooNewError", err)
		}
		if diff := cmp.Diff(&store.SchemaTooNewError{Database: 3, MigratedBy: "0.4.0", Known: 2, AppVersion: "0.3.0"}, tooNew); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
		for _, want := range []string{"schema is at version 3", "asanajira 0.4.0", "this asanajira 0.3.0", "up to 2", "restore the backup"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q lacks %q", err, want)
			}
		}
		if called {
			t.Error("BeforeApply ran on a refused database")
		}
	})
}

func TestMigrateUpgradesTheTableOfRelease020(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, db *sql.DB) {
		// schema_migrations as asanajira 0.2.0 created and filled it.
		for _, q := range []string{
			`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
			`CREATE TABLE toy_a (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`,
			`INSERT INTO schema_migrations (version, name) VALUES (1, '001_a.sql')`,
		} {
			if _, err := db.ExecContext(t.Context(), q); err != nil {
				t.Fatal(err)
			}
		}
		var calls []beforeCall
		applied, err := store.MigrateWith(t.Context(), db, toyMigrations(3), store.MigrateOptions{AppVersion: "0.3.0", BeforeApply: recordBefore(&calls)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int{2, 3}, applied); diff != "" {
			t.Errorf("applied (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]beforeCall{{Current: 1, Pending: []int{2, 3}}}, calls); diff != "" {
			t.Errorf("BeforeApply calls (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[int]string{1: "", 2: "0.3.0", 3: "0.3.0"}, schemaRows(t, db)); diff != "" {
			t.Errorf("schema_migrations (-want +got):\n%s", diff)
		}
		// A 0.2.0 replica still running records a migration its way.
		if _, err := db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES (4, '004_old_style.sql')`); err != nil {
			t.Fatalf("0.2.0-style insert: %v", err)
		}
	})
}

func TestMigrateStopsWhenBeforeApplyFails(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, db *sql.DB) {
		if _, err := store.MigrateWith(t.Context(), db, toyMigrations(1), store.MigrateOptions{}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("disk full")
		_, err := store.MigrateWith(t.Context(), db, toyMigrations(3), store.MigrateOptions{
			BeforeApply: func(context.Context, int, []int) error { return boom }})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
		if diff := cmp.Diff(map[int]string{1: ""}, schemaRows(t, db)); diff != "" {
			t.Errorf("schema_migrations changed (-want +got):\n%s", diff)
		}
	})
}
