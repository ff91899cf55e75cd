package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Migrator is where migrations run: a *sql.DB, or a *sql.Conn that holds a
// lock against concurrent migrations.
type Migrator interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// MigrateOptions tune Migrate.
type MigrateOptions struct {
	// AppVersion is the asanajira version applying migrations: recorded
	// beside each one it applies, and named when a database is refused.
	AppVersion string
	// BeforeApply, when set, runs once before the first pending migration
	// is applied, with the schema version the database is at (0 for an
	// empty database) and the versions about to be applied. An error stops
	// the migration before anything changes. SQLite uses it for its backup.
	BeforeApply func(ctx context.Context, current int, pending []int) error
}

// SchemaTooNewError is returned when the database records a schema version
// this binary does not know: a newer asanajira migrated it, and running an
// older one on it could lose or corrupt what the newer one wrote.
type SchemaTooNewError struct {
	Database   int    // highest schema version the database records
	MigratedBy string // the asanajira version that applied it; "" when not recorded
	Known      int    // highest schema version this binary knows
	AppVersion string // this binary's version
}

func (e *SchemaTooNewError) Error() string {
	by, run := "a newer asanajira", "a newer asanajira"
	if e.MigratedBy != "" {
		by, run = "asanajira "+e.MigratedBy, "asanajira "+e.MigratedBy+" or newer"
	}
	this := "this asanajira"
	if e.AppVersion != "" {
		this = "this asanajira " + e.AppVersion
	}
	return fmt.Sprintf("store: the database schema is at version %d, migrated by %s; %s knows schema versions up to %d: "+
		"run %s on this database, or restore the backup taken before the upgrade", e.Database, by, this, e.Known, run)
}

// ErrSchemaTooNew matches a *SchemaTooNewError with errors.Is.
var ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")

// Is makes errors.Is(err, ErrSchemaTooNew) true.
func (e *SchemaTooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

// Migrate applies, in order, every NNN_name.sql file of migrations that the
// database has not recorded in schema_migrations yet, each in its own
// transaction. It returns the versions it applied.
func Migrate(ctx context.Context, db Migrator, migrations fs.FS) ([]int, error) {
	return MigrateWith(ctx, db, migrations, MigrateOptions{})
}

// MigrateWith is Migrate with options. It refuses, with a
// *SchemaTooNewError and before changing anything, a database that records a
// schema version missing from migrations.
func MigrateWith(ctx context.Context, db Migrator, migrations fs.FS, opts MigrateOptions) ([]int, error) {
	if err := ensureMigrationsTable(ctx, db); err != nil {
		return nil, err
	}
	todo, err := readMigrations(migrations)
	if err != nil {
		return nil, err
	}
	recorded, err := recordedVersions(ctx, db)
	if err != nil {
		return nil, err
	}
	known := 0
	if len(todo) > 0 {
		known = todo[len(todo)-1].version
	}
	current := 0
	for v, by := range recorded {
		if !slices.ContainsFunc(todo, func(m migration) bool { return m.version == v }) {
			tooNew := &SchemaTooNewError{Database: v, MigratedBy: by, Known: known, AppVersion: opts.AppVersion}
			for w, wby := range recorded { // name the highest version and who applied it
				if w > tooNew.Database {
					tooNew.Database, tooNew.MigratedBy = w, wby
				}
			}
			return nil, tooNew
		}
		current = max(current, v)
	}
	var pending []int
	for _, m := range todo {
		if _, ok := recorded[m.version]; !ok {
			pending = append(pending, m.version)
		}
	}
	if len(pending) > 0 && opts.BeforeApply != nil {
		if err := opts.BeforeApply(ctx, current, pending); err != nil {
			return nil, err
		}
	}

	var applied []int
	for _, m := range todo {
		if _, ok := recorded[m.version]; ok {
			continue
		}
		done, err := applyMigration(ctx, db, migrations, m, opts.AppVersion)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

type migration struct {
	version int
	name    string
}

// readMigrations lists the NNN_name.sql files in version order.
func readMigrations(migrations fs.FS) ([]migration, error) {
	files, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	var todo []migration
	for _, f := range files {
		num, _, ok := strings.Cut(path.Base(f), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migrate: %s: name must start with a version number and _", f)
		}
		todo = append(todo, migration{v, f})
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].version < todo[j].version })
	return todo, nil
}

// ensureMigrationsTable creates schema_migrations, or adds the app_version
// column to one made by asanajira 0.2.0, which did not record it. Binaries
// of that version keep inserting (version, name) rows; the column's default
// covers them.
func ensureMigrationsTable(ctx context.Context, db Migrator) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version     INTEGER PRIMARY KEY,
		name        TEXT NOT NULL,
		app_version TEXT NOT NULL DEFAULT ''
	)`); err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	if hasAppVersion(ctx, db) {
		return nil
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE schema_migrations ADD COLUMN app_version TEXT NOT NULL DEFAULT ''`); err != nil {
		// Another process may have added it meanwhile (SQLite migrations
		// take no lock): only a column still missing is an error.
		if hasAppVersion(ctx, db) {
			return nil
		}
		return fmt.Errorf("store: migrate: add schema_migrations.app_version: %w", err)
	}
	return nil
}

// hasAppVersion tells whether schema_migrations has the app_version column.
func hasAppVersion(ctx context.Context, db Migrator) bool {
	rows, err := db.QueryContext(ctx, `SELECT app_version FROM schema_migrations WHERE 1 = 0`)
	if err != nil {
		return false
	}
	defer rows.Close()
	return true
}

// recordedVersions maps each applied schema version to the asanajira version
// that applied it ("" when unknown).
func recordedVersions(ctx context.Context, db Migrator) (map[int]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT version, app_version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	defer rows.Close()
	recorded := map[int]string{}
	for rows.Next() {
		var (
			v  int
			by string
		)
		if err := rows.Scan(&v, &by); err != nil {
			return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
		}
		recorded[v] = by
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	return recorded, nil
}

// applyMigration applies one migration unless it is recorded already. The
// check and the apply share a transaction so two processes starting at once
// do not both apply it.
func applyMigration(ctx context.Context, db Migrator, migrations fs.FS, m migration, appVersion string) (done bool, err error) {
	body, err := fs.ReadFile(migrations, m.name)
	if err != nil {
		return false, fmt.Errorf("store: migrate: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: migrate %s: begin: %w", m.name, err)
	}
	defer func() {
		if err != nil || !done {
			_ = tx.Rollback() // nothing was written, or the error is the one to report
		}
	}()
	var n int
	if err = tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("store: migrate %s: %w", m.name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err = tx.ExecContext(ctx, string(body)); err != nil {
		return false, fmt.Errorf("store: migrate %s: %w", m.name, err)
	}
	if _, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, app_version) VALUES ($1, $2, $3)`,
		m.version, m.name, appVersion); err != nil {
		return false, fmt.Errorf("store: migrate %s: record: %w", m.name, err)
	}
	if err = tx.Commit(); err != nil {
		return false, fmt.Errorf("store: migrate %s: commit: %w", m.name, err)
	}
	return true, nil
}
