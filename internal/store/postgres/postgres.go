// Package postgres opens asanajira's store on PostgreSQL (pgx through
// database/sql), the option for several replicas, and applies its migrations.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// PostgreSQL error codes for constraint failures.
const (
	codeUnique     = "23505"
	codeForeignKey = "23503"
)

// migrationLock is the advisory lock id held while migrating, so replicas
// starting together migrate one after the other.
const migrationLock = 0x61736a6d // "asjm"

// Dialect is PostgreSQL's part of the shared SQL implementation.
var Dialect = store.Dialect{
	Name:                  "postgres",
	IsUniqueViolation:     func(err error) bool { return hasCode(err, codeUnique) },
	IsForeignKeyViolation: func(err error) bool { return hasCode(err, codeForeignKey) },
	ForUpdate:             " FOR UPDATE",
	ByteOrder:             ` COLLATE "C"`,
}

func hasCode(err error, code string) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == code
}

// OpenDB opens a pool on the database at url and checks that it answers.
// Errors never repeat the URL, which may hold a password.
func OpenDB(ctx context.Context, url string) (*sql.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: the database URL is not valid: %w", redact(err))
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close() // the ping error explains why
		return nil, fmt.Errorf("postgres: cannot reach the database: %w", redact(err))
	}
	// Keep connections for concurrent requests instead of the two idle
	// ones database/sql keeps by default; stay well below max_connections
	// (100 by default) so several replicas fit.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// redact drops the error chain's text that pgx may build from the
// connection string; what remains says what went wrong.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse the URL (expected postgres://user:password@host:port/dbname?sslmode=...)")
	}
	return err
}

// Migrate applies the embedded migrations under the migration lock.
func Migrate(ctx context.Context, db *sql.DB) ([]int, error) {
	return MigrateWith(ctx, db, store.MigrateOptions{})
}

// MigrateWith applies the embedded migrations under the migration lock, with
// options (the version recorded).
func MigrateWith(ctx context.Context, db *sql.DB, opts store.MigrateOptions) ([]int, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	var applied []int
	err = MigrationLocked(ctx, db, func(conn *sql.Conn) error {
		applied, err = store.MigrateWith(ctx, conn, sub, opts)
		return err
	})
	return applied, err
}

// MigrationLocked runs fn while holding the migration lock, a session
// advisory lock on the database, so that replicas starting together
// migrate one after the other. Every schema change at start-up takes it:
// asanajira's migrations and river's (which run on connections of their
// own: holding the lock is what counts). fn gets the connection that holds
// the lock.
func MigrationLocked(ctx context.Context, db *sql.DB, fn func(conn *sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	err = fn(conn)
	// Unlock on a fresh context: the caller's may be cancelled, and a held
	// advisory lock would block the next replica until this connection dies.
	if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); uerr != nil {
		// Never hand a connection that may still hold the lock back to
		// the pool: ErrBadConn makes database/sql close it, which ends the
		// session and its lock.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		if err == nil {
			err = fmt.Errorf("postgres: migrate: unlock: %w", uerr)
		}
	}
	return err
}

// Open opens the store on the database at url and migrates it. now may be
// nil.
func Open(ctx context.Context, url string, sealer store.Sealer, now func() time.Time) (*store.SQL, error) {
	db, err := OpenDB(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := Migrate(ctx, db); err != nil {
		_ = db.Close() // the migration error explains why
		return nil, err
	}
	return store.NewSQL(db, Dialect, sealer, now), nil
}
