package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	sqlite "modernc.org/sqlite"
)

// Statement reuse. database/sql hands a query's text to the driver each
// time, and modernc.org/sqlite parses and plans it each time: profiles of
// asanajira under load spent more than a quarter of their CPU there, most of
// it on river's long statements (an insert is about 1.2 ms of parsing). A
// connection opened here keeps each statement it has prepared, keyed by its
// text, and runs it again with new arguments; SQLite re-prepares a kept
// statement by itself when the schema changes.
//
// A statement whose rows are still open (a query inside a loop over
// another with the same text) is not shared: the inner one is prepared for
// that one use. Scripts (text with more than one statement, the
// migrations) and anything but DML are never kept.

// maxKeptStatements bounds the statements one connection keeps; the
// queries asanajira and river run are a few hundred texts at most.
const maxKeptStatements = 256

// connector opens modernc.org/sqlite connections that keep their
// statements.
type connector struct {
	dsn string
	drv *sqlite.Driver
	// begin is the BEGIN of the transactions that may write (tx.go).
	begin string
	// gate, when set, is shared with the server's other write pool
	// (gate.go); fg says which of the two this one is.
	gate *gate
	fg   bool
}

func newConnector(dsn string) *connector {
	return &connector{dsn: dsn, drv: &sqlite.Driver{}, begin: beginStatement(dsn)}
}

// Connect opens a connection; the pools sharing a gate get the one SQLite
// connection the gate holds (gate.attach).
func (c *connector) Connect(context.Context) (driver.Conn, error) {
	var sc *sqliteConn
	var err error
	if c.gate != nil {
		sc, err = c.gate.attach(c.open)
	} else {
		sc, err = c.open()
	}
	if err != nil {
		return nil, err
	}
	return &keepingConn{sqliteConn: sc, gate: c.gate, fg: c.fg}, nil
}

func (c *connector) open() (*sqliteConn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc := &sqliteConn{inner: conn, kept: map[string]*keptStmt{}, txKept: map[string]contextStmt{}, beginText: c.begin, refs: 1}
	if c.gate == nil || c.gate.checkpointEvery == 0 {
		return sc, nil
	}
	// The server's write connection leaves checkpoints to a checkpointer
	// (checkpoint.go), and runs one itself only as a backstop, should the
	// checkpointer fall far behind (a starved goroutine on a loaded
	// machine): the WAL's bound does not depend on the scheduler.
	if _, err := sc.inner.(inner).ExecContext(context.Background(), `PRAGMA wal_autocheckpoint = `+strconv.Itoa(backstopPages), nil); err != nil {
		_ = conn.Close() // the pragma's error explains why
		return nil, fmt.Errorf("sqlite: set the backstop of automatic checkpoints: %w", err)
	}
	if sc.ckpt, err = startCheckpointer(c.dsn, c.gate, c.gate.checkpointEvery); err != nil {
		_ = conn.Close() // the checkpointer's error explains why
		return nil, err
	}
	return sc, nil
}

func (c *connector) Driver() driver.Driver {
	if c.gate != nil {
		return &gatedDriver{Driver: c.drv, gate: c.gate}
	}
	return c.drv
}

// inner is what modernc.org/sqlite's connection implements.
type inner interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteConn is one SQLite connection and the statements it keeps.
type sqliteConn struct {
	inner driver.Conn
	mu    sync.Mutex // guards kept and txKept
	kept  map[string]*keptStmt
	// txKept are its BEGIN, COMMIT and ROLLBACK (tx.go), apart from kept:
	// never evicted, never busy.
	txKept    map[string]contextStmt
	beginText string
	// ckpt checkpoints the WAL of the server's write connection, nil on
	// others (checkpoint.go).
	ckpt *checkpointer
	refs int // keepingConns over it (gate.attach); guarded by the gate's share
}

// keepingConn is a connection that keeps its prepared statements: one
// pool's door to a SQLite connection, which the two write pools of a
// server share (gate.attach).
type keepingConn struct {
	*sqliteConn
	gate *gate // nil: not gated
	fg   bool
	inTx bool // a transaction holds the gate
}

// enter takes the gate for a statement outside a transaction; the
// function it returns gives it back.
func (c *keepingConn) enter(ctx context.Context) (func(), error) {
	if c.gate == nil || c.inTx {
		return func() {}, nil
	}
	if err := c.gate.lock(ctx, c.fg); err != nil {
		return nil, err
	}
	return c.gate.unlock, nil
}

// contextStmt is what modernc.org/sqlite's statements implement.
type contextStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type keptStmt struct {
	stmt contextStmt
	busy bool // its rows are open
}

func (c *keepingConn) in() inner { return c.inner.(inner) }

// keepable reports whether query is one DML statement. Leading comments
// are skipped: river's statements (sqlc's) start with "-- name: …".
func keepable(query string) bool {
	q := skipComments(query)
	if script(q) {
		return false
	}
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "REPLAC":
		return true
	}
	return strings.EqualFold(q[:4], "WITH")
}

// script reports whether q holds more than one statement: a ';' outside
// comments and quoted text followed by more than space and comments.
// River's statement that completes jobs has a ';' in a comment of its
// metadata merge clause; taken for a script, it was parsed anew for every
// job completed, a tenth of the CPU of a busy queue.
func script(q string) bool {
	for i := 0; i < len(q); i++ {
		var end string
		switch {
		case strings.HasPrefix(q[i:], "--"):
			end = "\n"
		case strings.HasPrefix(q[i:], "/*"):
			end = "*/"
		case q[i] == '\'' || q[i] == '"' || q[i] == '`':
			end = q[i : i+1]
		case q[i] == ';':
			return skipComments(q[i+1:]) != ""
		default:
			continue
		}
		j := strings.Index(q[i+1:], end)
		if j < 0 {
			return end != "\n" // unterminated: not kept
		}
		i += j + len(end)
	}
	return false
}

// skipComments trims the space and the SQL comments that begin query.
func skipComments(query string) string {
	q := strings.TrimSpace(query)
	for {
		switch {
		case strings.HasPrefix(q, "--"):
			_, rest, found := strings.Cut(q, "\n")
			if !found {
				return ""
			}
			q = strings.TrimSpace(rest)
		case strings.HasPrefix(q, "/*"):
			_, rest, found := strings.Cut(q[2:], "*/")
			if !found {
				return ""
			}
			q = strings.TrimSpace(rest)
		default:
			return q
		}
	}
}

// take returns the kept statement for query, preparing it the first time,
// marked busy; nil when query is not kept or its statement is in use. A
// text already kept is not read again: keepable was a twentieth of a
// create's write transactions' CPU.
func (c *keepingConn) take(ctx context.Context, query string) (*keptStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.kept[query]; k != nil {
		if k.busy {
			return nil, nil
		}
		k.busy = true
		return k, nil
	}
	if !keepable(query) {
		return nil, nil
	}
	st, err := c.in().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	ks, ok := st.(contextStmt)
	if !ok {
		_ = st.Close() // a driver without context statements: run uncached
		return nil, nil
	}
	if len(c.kept) >= maxKeptStatements {
		for text, k := range c.kept {
			if !k.busy {
				_ = k.stmt.Close() // only frees the statement
				delete(c.kept, text)
				break
			}
		}
	}
	k := &keptStmt{stmt: ks, busy: true}
	c.kept[query] = k
	return k, nil
}

func (c *keepingConn) release(k *keptStmt) {
	c.mu.Lock()
	k.busy = false
	c.mu.Unlock()
}

func (c *keepingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	leave, err := c.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	k, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return c.in().ExecContext(ctx, query, args)
	}
	defer c.release(k)
	return k.stmt.ExecContext(ctx, args)
}

func (c *keepingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	leave, err := c.enter(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.query(ctx, query, args)
	if err != nil {
		leave()
		return nil, err
	}
	if c.gate == nil || c.inTx {
		return rows, nil
	}
	return &gatedRows{Rows: rows, done: leave}, nil
}

func (c *keepingConn) query(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	k, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return c.in().QueryContext(ctx, query, args)
	}
	rows, err := k.stmt.QueryContext(ctx, args)
	if err != nil {
		c.release(k)
		return nil, err
	}
	return &keptRows{Rows: rows, release: func() { c.release(k) }}, nil
}

// keptRows frees its statement for the next query when closed.
type keptRows struct {
	driver.Rows
	once    sync.Once
	release func()
}

func (r *keptRows) Close() error {
	err := r.Rows.Close() // resets the statement
	r.once.Do(r.release)
	return err
}

func (c *keepingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext prepares a statement that is not kept; on a gated
// connection, the statement takes the gate as the connection's own
// statements do, since the other write pool uses the same SQLite
// connection.
func (c *keepingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	leave, err := c.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	st, err := c.in().PrepareContext(ctx, query)
	if err != nil || c.gate == nil {
		return st, err
	}
	cs, ok := st.(contextStmt)
	if !ok {
		_ = st.Close() // the driver's statement cannot be gated; say why below
		return nil, errors.New("sqlite: a prepared statement without contexts cannot take the writer's gate")
	}
	return &gatedStmt{contextStmt: cs, c: c}, nil
}

func (c *keepingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins a transaction with the connection's kept statements
// (tx.go); on a gated connection, the transaction holds the gate until it
// ends.
func (c *keepingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.gate == nil {
		return c.begin(ctx, opts, func() {})
	}
	if err := c.gate.lock(ctx, c.fg); err != nil {
		return nil, err
	}
	c.inTx = true
	return c.begin(ctx, opts, func() {
		c.inTx = false
		c.gate.unlock()
	})
}

func (c *keepingConn) Ping(ctx context.Context) error {
	leave, err := c.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	return c.in().Ping(ctx)
}

// ResetSession and IsValid read an atomic flag of the SQLite connection
// (sqlite3_is_interrupted), as modernc.org/sqlite's own interrupt does
// from another goroutine: they need not wait for the gate.
func (c *keepingConn) ResetSession(ctx context.Context) error { return c.in().ResetSession(ctx) }
func (c *keepingConn) IsValid() bool                          { return c.in().IsValid() }

// Close finalizes the kept statements, then closes the SQLite connection,
// unless the other write pool still uses it.
func (c *keepingConn) Close() error {
	if c.gate != nil && !c.gate.detach(c.sqliteConn) {
		return nil
	}
	var err error
	if c.ckpt != nil {
		err = c.ckpt.close()
	}
	c.mu.Lock()
	for text, k := range c.kept {
		_ = k.stmt.Close() // only frees the statement; the connection closes next
		delete(c.kept, text)
	}
	for text, st := range c.txKept {
		_ = st.Close() // only frees the statement; the connection closes next
		delete(c.txKept, text)
	}
	c.mu.Unlock()
	return errors.Join(err, c.inner.Close())
}

// gatedStmt is a statement prepared on a gated connection outside the
// statement cache: it takes the gate as the connection's statements do.
type gatedStmt struct {
	contextStmt
	c *keepingConn
}

func (s *gatedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	leave, err := s.c.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	return s.contextStmt.ExecContext(ctx, args)
}

func (s *gatedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	leave, err := s.c.enter(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.contextStmt.QueryContext(ctx, args)
	if err != nil {
		leave()
		return nil, err
	}
	return &gatedRows{Rows: rows, done: leave}, nil
}

func (s *gatedStmt) Close() error {
	leave, err := s.c.enter(context.Background())
	if err != nil {
		return err
	}
	defer leave()
	return s.contextStmt.Close()
}
