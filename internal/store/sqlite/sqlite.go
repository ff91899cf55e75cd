// Package sqlite opens asanajira's store on an SQLite file (modernc.org/sqlite,
// pure Go), in WAL mode, and applies its migrations.
//
// SQLite lets one connection write at a time. Several writing connections
// meet in SQLite's busy handler, which sleeps and polls (1 ms, 2 ms, 5 ms,
// … up to 100 ms a try) while the lock is taken: a writer may sleep long
// after the lock came free, and who gets it next is chance. asanajira
// therefore writes through one connection, which the store and the job
// queue share (OpenWriter) and users' requests reach through a pool of
// their own, whose writes go first (gate.go): writers queue for it in Go
// and take it the moment it is free. Reads go to a pool of read-only connections
// (OpenReader) and, in WAL mode, never wait for the writer. Every
// connection keeps the statements it has prepared (stmtcache.go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
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

// DSN is the data source name asanajira writes to path with: WAL so readers
// do not block the writer, a busy timeout instead of immediate SQLITE_BUSY
// (another process, such as `asanajira backup`, may hold the lock),
// foreign keys on, and transactions that take the write lock when they
// begin (a transaction that reads then writes would otherwise fail with
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

// readDSN is the data source name of the read pool: read-only connections
// (a write there fails instead of taking the lock), whose transactions take
// no lock when they begin.
func readDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "query_only(1)")
	q.Set("_txlock", "deferred")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// OpenWriter opens the write connection to the SQLite file at path,
// creating the file and its folder if needed: a pool of exactly one
// connection, so writers queue for it in Go rather than in SQLite's busy
// handler. The store's writes and transactions and the job queue share it.
// Code holding a transaction on it must not use it outside that
// transaction meanwhile (it would wait for itself). Its commits leave
// checkpoints to a checkpointer beside it, which stops when it closes
// (checkpoint.go), whose warnings go to log (nil: none).
func OpenWriter(ctx context.Context, path string, log *slog.Logger) (*sql.DB, error) {
	return openWriter(ctx, path, checkpointEvery, log)
}

// openWriter is OpenWriter with a checkpoint every interval
// (checkpoint.go).
func openWriter(ctx context.Context, path string, every time.Duration, log *slog.Logger) (*sql.DB, error) {
	db, err := openDB(ctx, path, newGate(every, log), false)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// readers is how many read-only connections OpenReader keeps: reads are
// CPU work in this pure-Go SQLite, so a few per core are enough.
func readers() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// OpenReader opens the pool of read-only connections to the SQLite file at
// path, which OpenWriter has opened (it sets WAL mode, which read-only
// connections cannot).
func OpenReader(ctx context.Context, path string) (*sql.DB, error) {
	db := sql.OpenDB(newConnector(readDSN(path)))
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close() // the ping error explains why
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	db.SetMaxOpenConns(readers())
	db.SetMaxIdleConns(readers())
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// OpenDB opens a pool of writing connections to the SQLite file at path,
// creating its folder if needed, and checks that the file can be opened and
// written. asanajira's server writes through OpenWriter instead; OpenDB is
// for tools (backup) and tests.
func OpenDB(ctx context.Context, path string) (*sql.DB, error) {
	return openDB(ctx, path, nil, false)
}

// openDB is OpenDB with its connections taking g (gate.go) to write, as
// the foreground pool when fg.
func openDB(ctx context.Context, path string, g *gate, fg bool) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create folder for %s: %w", path, err)
		}
	}
	_, statErr := os.Stat(path)
	c := newConnector(DSN(path))
	c.gate, c.fg = g, fg
	db := sql.OpenDB(c)
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
	return MigrateWith(ctx, db, store.MigrateOptions{})
}

// MigrateWith applies the embedded migrations to db with options (the
// version recorded, a backup before the first change).
func MigrateWith(ctx context.Context, db *sql.DB, opts store.MigrateOptions) ([]int, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return store.MigrateWith(ctx, db, sub, opts)
}

// Backup writes a consistent copy of the open database db to dest with
// VACUUM INTO, while other connections keep reading and writing. dest must
// not exist; it is created readable by its owner only, like the database.
func Backup(ctx context.Context, db *sql.DB, dest string) error {
	// Create the file first so that its mode is ours, not the umask's:
	// VACUUM INTO writes into an existing empty file.
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		_ = os.Remove(dest) // a partial copy must not pass for a backup
		return fmt.Errorf("sqlite: backup to %s: %w", dest, err)
	}
	return nil
}

// BackupPath names the copy of the database at path taken before migrating
// it from schema version schema at time t: asanajira.db.schema1-20261129T204500Z.bak.
func BackupPath(path string, schema int, t time.Time) string {
	return fmt.Sprintf("%s.schema%d-%s.bak", path, schema, t.UTC().Format("20060102T150405Z"))
}

// BackupBeforeMigrating is a store.MigrateOptions.BeforeApply hook: when a
// database that already holds a schema is about to be migrated, it writes a
// backup beside path (named by BackupPath) and reports it to done. An empty
// database has nothing to lose and gets no backup.
func BackupBeforeMigrating(db *sql.DB, path string, now func() time.Time, done func(backup string, from int, pending []int)) func(ctx context.Context, current int, pending []int) error {
	return func(ctx context.Context, current int, pending []int) error {
		if current == 0 {
			return nil
		}
		dest := BackupPath(path, current, now())
		if err := Backup(ctx, db, dest); err != nil {
			return fmt.Errorf("sqlite: back up before migrating (nothing was migrated): %w", err)
		}
		done(dest, current, pending)
		return nil
	}
}

// Open opens the store on the SQLite file at path and migrates it: writes
// through one connection, reads from a read-only pool. now may be nil.
func Open(ctx context.Context, path string, sealer store.Sealer, now func() time.Time) (*store.SQL, error) {
	db, err := OpenWriter(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	if _, err := Migrate(ctx, db); err != nil {
		_ = db.Close() // the migration error explains why
		return nil, err
	}
	return NewStore(ctx, db, path, sealer, now)
}

// NewStore returns the store over the migrated database at path, writing
// through db (from OpenWriter) and reading from a new read-only pool; the
// writes of users' requests (store.Foreground) go through a second pool
// over db's SQLite connection, whose writes go before db's waiting ones
// (gate.go).
func NewStore(ctx context.Context, db *sql.DB, path string, sealer store.Sealer, now func() time.Time) (*store.SQL, error) {
	fg := db
	if d, ok := db.Driver().(*gatedDriver); ok {
		var err error
		if fg, err = openDB(ctx, path, d.gate, true); err != nil {
			_ = db.Close() // the foreground pool's error explains why
			return nil, err
		}
		fg.SetMaxOpenConns(1)
		fg.SetMaxIdleConns(1)
		fg.SetConnMaxIdleTime(0)
	}
	read, err := OpenReader(ctx, path)
	if err != nil {
		_ = db.Close() // the reader's error explains why
		if fg != db {
			_ = fg.Close()
		}
		return nil, err
	}
	return store.NewSQLWithWriters(db, fg, read, Dialect, sealer, now), nil
}
