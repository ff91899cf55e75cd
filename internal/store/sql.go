package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sealer seals secrets before they are written and opens them after they are
// read. internal/secrets implements it.
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// Dialect is what differs between the databases the SQL implementation runs
// on. Every statement in this package uses $N placeholders, which both
// PostgreSQL and SQLite (by ordinal) understand.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// IsUniqueViolation reports whether err is the database's unique
	// constraint error.
	IsUniqueViolation func(error) bool
	// IsForeignKeyViolation reports whether err says a referenced row does
	// not exist; the store answers ErrNotFound for it.
	IsForeignKeyViolation func(error) bool
	// ForUpdate is appended to a SELECT that must lock the row until the
	// transaction ends (" FOR UPDATE" on PostgreSQL; SQLite transactions take
	// the write lock when they begin, so it is empty there).
	ForUpdate string
	// ByteOrder is appended to a text expression to compare it byte by
	// byte, as an index declared the same way orders it (` COLLATE "C"` on
	// PostgreSQL; SQLite compares bytes already).
	ByteOrder string
}

// SQL implements Store over database/sql.
type SQL struct {
	queries // the Queries, run on the pool
	db      *sql.DB
	fg      *sql.DB // writes of Foreground contexts; db unless NewSQLWithWriters
	read    *sql.DB // reads outside transactions; db unless NewSQLWithReader
	observe func(ctx context.Context, query string, args []any)
	dialect Dialect
	sealer  Sealer
	now     func() time.Time
}

// NewSQL returns a Store over db, which must already be migrated. now may be
// nil (time.Now).
func NewSQL(db *sql.DB, d Dialect, sealer Sealer, now func() time.Time) *SQL {
	return NewSQLWithReader(db, db, d, sealer, now)
}

// NewSQLWithReader returns a Store that writes (and runs transactions)
// through db and sends reads made outside a transaction (statements that
// begin with SELECT) to read: on SQLite, one write connection and a pool
// of read-only ones. Close closes both.
func NewSQLWithReader(db, read *sql.DB, d Dialect, sealer Sealer, now func() time.Time) *SQL {
	return NewSQLWithWriters(db, db, read, d, sealer, now)
}

// NewSQLWithWriters is NewSQLWithReader with a second write pool, fg, for
// the writes and transactions of Foreground contexts: on SQLite, a second
// write connection whose writes take the writer before those of db
// waiting for it. Close closes all three.
func NewSQLWithWriters(db, fg, read *sql.DB, d Dialect, sealer Sealer, now func() time.Time) *SQL {
	if now == nil {
		now = time.Now
	}
	s := &SQL{db: db, fg: fg, read: read, dialect: d, sealer: sealer, now: now}
	var q querier = db
	if read != db || fg != db {
		q = split{write: db, fg: fg, read: read}
	}
	s.queries = queries{s: s, q: q}
	return s
}

// split runs reads on one pool and everything else on another, the
// foreground one for Foreground contexts.
type split struct{ write, fg, read *sql.DB }

func (p split) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.writer(ctx).ExecContext(ctx, query, args...)
}

func (p split) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.pool(ctx, query).QueryContext(ctx, query, args...)
}

func (p split) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.pool(ctx, query).QueryRowContext(ctx, query, args...)
}

// pool is the read pool for a statement that begins with SELECT (after
// blanks), the write connection for any other (INSERT … RETURNING, DELETE …
// RETURNING, WITH, which may write).
func (p split) pool(ctx context.Context, query string) *sql.DB {
	q := strings.TrimLeft(query, " \t\r\n")
	if len(q) >= 6 && strings.EqualFold(q[:6], "SELECT") {
		return p.read
	}
	return p.writer(ctx)
}

func (p split) writer(ctx context.Context) *sql.DB {
	if p.fg != nil && IsForeground(ctx) {
		return p.fg
	}
	return p.write
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements Queries over a querier, so the same code serves the
// pool and a transaction.
type queries struct {
	s  *SQL
	q  querier
	tx bool // q runs inside a transaction
}

type sqlTx struct {
	queries
	tx *sql.Tx
}

func (t *sqlTx) SQL() *sql.Tx { return t.tx }

// ObserveQueries makes the store report every statement it runs from now
// on, with its context and arguments, to fn: the query-plan test runs the request paths
// and checks the plan of each statement they ran. Call it before the store
// is in use.
func (s *SQL) ObserveQueries(fn func(ctx context.Context, query string, args []any)) {
	s.observe = fn
	s.q = observed{querier: s.q, fn: fn}
}

// observed reports each statement before running it.
type observed struct {
	querier
	fn func(ctx context.Context, query string, args []any)
}

func (o observed) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	o.fn(ctx, query, args)
	return o.querier.ExecContext(ctx, query, args...)
}

func (o observed) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	o.fn(ctx, query, args)
	return o.querier.QueryContext(ctx, query, args...)
}

func (o observed) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	o.fn(ctx, query, args)
	return o.querier.QueryRowContext(ctx, query, args...)
}

// DB returns the connection pool the store writes through, which the job
// queue shares (on SQLite, the one write connection).
func (s *SQL) DB() *sql.DB { return s.db }

// ReadDB returns the pool reads go to (DB unless NewSQLWithReader).
func (s *SQL) ReadDB() *sql.DB { return s.read }

// Dialect names the database.
func (s *SQL) Dialect() string { return s.dialect.Name }

// Ping checks that the database answers a query.
func (s *SQL) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.dialect.Name, err)
	}
	return nil
}

// Close closes the pools.
func (s *SQL) Close() error {
	err := s.db.Close()
	if s.fg != s.db {
		err = errors.Join(err, s.fg.Close())
	}
	if s.read != s.db {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// connKey carries the connection OnConn names.
type connKey struct{}

// OnConn returns ctx telling InTx to run its transaction on conn, a
// connection the caller took from DB() with Conn and keeps, instead of on
// one the pool hands out: a caller that commits often keeps its place
// instead of queueing behind everyone else for each transaction (on SQLite
// the pool is the one write connection).
func OnConn(ctx context.Context, conn *sql.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, conn)
}

// InTx runs fn in a transaction, on the connection OnConn named in ctx if
// any.
func (s *SQL) InTx(ctx context.Context, fn func(tx Tx) error) (err error) {
	var tx *sql.Tx
	conn, _ := ctx.Value(connKey{}).(*sql.Conn)
	switch {
	case conn != nil:
		tx, err = conn.BeginTx(ctx, nil)
	case IsForeground(ctx):
		tx, err = s.fg.BeginTx(ctx, nil)
	default:
		tx, err = s.db.BeginTx(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the error that made us roll back is the one worth returning
		}
	}()
	var q querier = tx
	if s.observe != nil {
		q = observed{querier: tx, fn: s.observe}
	}
	if err = fn(&sqlTx{queries: queries{s: s, q: q, tx: true}, tx: tx}); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// atomic runs fn in a transaction: the current one inside InTx, a new one
// on the pool, for the few writes that take more than one statement.
func (q queries) atomic(ctx context.Context, fn func(q queries) error) error {
	if q.tx {
		return fn(q)
	}
	return q.s.InTx(ctx, func(tx Tx) error { return fn(tx.(*sqlTx).queries) })
}

// Helpers shared by the statements.

func (q queries) now() time.Time { return dbTime(q.s.now()) }

// dbTime normalises a time to what both databases store the same way: UTC,
// microseconds.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func nullTime(t time.Time) sql.NullTime {
	if t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: dbTime(t), Valid: true}
}

func fromNullTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func (q queries) seal(s Secret) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := q.s.sealer.Seal([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("store: seal: %w", err)
	}
	return b, nil
}

func (q queries) open(b []byte) (Secret, error) {
	if len(b) == 0 {
		return "", nil
	}
	p, err := q.s.sealer.Open(b)
	if err != nil {
		return "", fmt.Errorf("store: open sealed value: %w", err)
	}
	return Secret(p), nil
}

// sealAll seals several secrets, stopping at the first error.
func (q queries) sealAll(secrets ...Secret) ([][]byte, error) {
	out := make([][]byte, len(secrets))
	for i, s := range secrets {
		b, err := q.seal(s)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// openAll opens several sealed values into their destinations.
func (q queries) openAll(pairs map[*Secret][]byte) error {
	for dst, b := range pairs {
		s, err := q.open(b)
		if err != nil {
			return err
		}
		*dst = s
	}
	return nil
}

// wrap turns driver errors into ErrConflict / ErrNotFound and adds context.
func (q queries) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	case q.s.dialect.IsUniqueViolation != nil && q.s.dialect.IsUniqueViolation(err):
		return fmt.Errorf("store: %s: %w", op, ErrConflict)
	case q.s.dialect.IsForeignKeyViolation != nil && q.s.dialect.IsForeignKeyViolation(err):
		return fmt.Errorf("store: %s: a record it refers to does not exist: %w", op, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// mustAffect returns ErrNotFound when an UPDATE or DELETE touched no row.
func (q queries) mustAffect(op string, res sql.Result, err error) error {
	return q.affects(op, res, err, ErrNotFound)
}

// claimed returns ErrConflict when an INSERT … ON CONFLICT touched no row:
// the claim exists, and no unique violation aborted the transaction.
func (q queries) claimed(op string, res sql.Result, err error) error {
	return q.affects(op, res, err, ErrConflict)
}

// affects returns none when the statement touched no row.
func (q queries) affects(op string, res sql.Result, err, none error) error {
	if err != nil {
		return q.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return q.wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", op, none)
	}
	return nil
}

func newID(prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: new id: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

func joinMethods(ms []AuthMethod) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ",")
}

func splitMethods(s string) []AuthMethod {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]AuthMethod, len(parts))
	for i, p := range parts {
		out[i] = AuthMethod(p)
	}
	return out
}

func limitOr(n, def, most int) int {
	if n <= 0 {
		return def
	}
	return min(n, most)
}
