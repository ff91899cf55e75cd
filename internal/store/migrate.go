package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrator is where migrations run: a *sql.DB, or a *sql.Conn that holds a
// lock against concurrent migrations.
type Migrator interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// Migrate applies, in order, every NNN_name.sql file of migrations that the
// database has not recorded in schema_migrations yet, each in its own
// transaction. It returns the versions it applied.
func Migrate(ctx context.Context, db Migrator, migrations fs.FS) ([]int, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name    TEXT NOT NULL
	)`); err != nil {
		return nil, fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	files, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	type migration struct {
		version int
		name    string
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

	var applied []int
	for _, m := range todo {
		done, err := applyMigration(ctx, db, migrations, m.version, m.name)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// applyMigration applies one migration unless it is recorded already. The
// check and the apply share a transaction so two processes starting at once
// do not both apply it.
func applyMigration(ctx context.Context, db Migrator, migrations fs.FS, version int, name string) (done bool, err error) {
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return false, fmt.Errorf("store: migrate: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: migrate %s: begin: %w", name, err)
	}
	defer func() {
		if err != nil || !done {
			_ = tx.Rollback() // nothing was written, or the error is the one to report
		}
	}()
	var n int
	if err = tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
		return false, fmt.Errorf("store: migrate %s: %w", name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err = tx.ExecContext(ctx, string(body)); err != nil {
		return false, fmt.Errorf("store: migrate %s: %w", name, err)
	}
	if _, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, version, name); err != nil {
		return false, fmt.Errorf("store: migrate %s: record: %w", name, err)
	}
	if err = tx.Commit(); err != nil {
		return false, fmt.Errorf("store: migrate %s: commit: %w", name, err)
	}
	return true, nil
}
