// Package sqlite opens asanajira's store on an SQLite file (modernc.org/sqlite,
// pure Go), in WAL mode with a busy timeout, and applies its migrations.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	sqlite "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// SQLite extended result codes for constraint failures.
const (
	constraintForeignKey = 787
	constraintPrimaryKey = 1555
	constraintUnique     = 2067
)

// Dialect is SQLite's part of the shared SQL implementation.
var Dialect = store.Dialect{
	Name: "sqlite",
	IsUniqueViolation: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code() == constraintUnique || e.Code() == constraintPrimaryKey)
	},
	IsForeignKeyViolation: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == constraintForeignKey
	},
}

// DSN is the data source name asanajira opens path with: WAL so readers do
// not block the writer, a busy timeout instead of immediate SQLITE_BUSY,
// foreign keys on, and transactions that take the write lock when they begin
// (a transaction that reads then writes would otherwise fail with
// SQLITE_BUSY under concurrency).
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// OpenDB opens the SQLite file at path, creating its folder if needed. It
// checks that the file can be opened and written.
func OpenDB(ctx context.Context, path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create folder for %s: %w", path, err)
		}
	}
	_, statErr := os.Stat(path)
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close() // the ping error explains why
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Opening an SQLite connection runs the pragmas and reads the schema:
	// keep connections open instead of the two idle ones database/sql
	// keeps by default, or concurrent requests reconnect all the time.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// A new database file holds sealed secrets and the audit log: only its
	// owner should read it.
	if os.IsNotExist(statErr) {
		if err := os.Chmod(path, 0o600); err != nil {
			_ = db.Close() // the chmod error explains why
			return nil, fmt.Errorf("sqlite: restrict %s to its owner: %w", path, err)
		}
	}
	return db, nil
}

// Migrate applies the embedded migrations to db.
func Migrate(ctx context.Context, db *sql.DB) ([]int, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return store.Migrate(ctx, db, sub)
}

// Open opens the store on the SQLite file at path and migrates it. now may
// be nil.
func Open(ctx context.Context, path string, sealer store.Sealer, now func() time.Time) (*store.SQL, error) {
	db, err := OpenDB(ctx, path)
	if err != nil {
		return nil, err
	}
	if _, err := Migrate(ctx, db); err != nil {
		_ = db.Close() // the migration error explains why
		return nil, err
	}
	return store.NewSQL(db, Dialect, sealer, now), nil
}
