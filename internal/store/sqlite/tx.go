package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"
	"sync"
)

// Kept transaction statements. modernc.org/sqlite prepares BEGIN, COMMIT
// and ROLLBACK for every transaction and finalizes them after, with a
// context watcher for each: a transaction of one INSERT on the writer took
// about 43 µs, 35 µs with them kept (BenchmarkWriteTransaction). A
// connection opened here prepares them once and runs them again, as it
// does its DML (stmtcache.go).
//
// What modernc.org/sqlite's transactions promise is kept: BEGIN IMMEDIATE
// on a connection whose DSN asks for it (_txlock), a plain BEGIN for a
// read-only transaction; a COMMIT that waits for a lock ends once the
// context given to BeginTx is done (modernc.org/sqlite's issue 263); and a
// failed COMMIT leaves the connection out of any transaction, as
// database/sql expects. modernc.org/sqlite reads SQLite's autocommit flag
// for that, which it does not export: a ROLLBACK after a failed COMMIT does
// the same, failing harmlessly when SQLite has already ended the
// transaction.

// Transaction statements a connection keeps besides its DML.
const (
	beginDeferred = "BEGIN"
	commitTx      = "COMMIT"
	rollbackTx    = "ROLLBACK"
)

// beginStatement is the BEGIN of a connection opened with dsn for
// transactions that may write: modernc.org/sqlite's _txlock (immediate,
// deferred or exclusive), plain BEGIN without it.
func beginStatement(dsn string) string {
	_, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil || q.Get("_txlock") == "" {
		return beginDeferred
	}
	return "BEGIN " + strings.ToUpper(q.Get("_txlock"))
}

// txStmt returns the connection's kept statement for text, one of the
// transaction statements, preparing it the first time. A caller holds the
// connection (the gate, or database/sql's hold of an ungated one), so no
// two run one at a time.
func (c *sqliteConn) txStmt(ctx context.Context, text string) (contextStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.txKept[text]; st != nil {
		return st, nil
	}
	st, err := c.inner.(inner).PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	cs, ok := st.(contextStmt)
	if !ok {
		_ = st.Close() // cannot run with a context; say why below
		return nil, fmt.Errorf("sqlite: %s prepared without contexts", text)
	}
	c.txKept[text] = cs
	return cs, nil
}

// runTx runs text, a transaction statement, watching ctx as
// modernc.org/sqlite's own BEGIN and COMMIT do.
func (c *sqliteConn) runTx(ctx context.Context, text string) error {
	st, err := c.txStmt(ctx, text)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, nil)
	return err
}

// begin starts a transaction on c with its kept BEGIN; done runs once the
// transaction ends, and at once if it does not begin.
func (c *sqliteConn) begin(ctx context.Context, opts driver.TxOptions, done func()) (driver.Tx, error) {
	text := c.beginText
	if opts.ReadOnly {
		text = beginDeferred
	}
	if err := c.runTx(ctx, text); err != nil {
		if ctx.Err() != nil {
			// The context ended as the BEGIN ran: it may have begun the
			// transaction all the same (a statement that has run reports
			// the context's error), which must not outlive this call.
			_ = c.runTx(context.Background(), rollbackTx) // fails when none began
		}
		done()
		return nil, err
	}
	return &keptTx{c: c, ctx: ctx, done: done}, nil
}

// keptTx is a transaction begun with a kept BEGIN, which ends with the
// connection's kept COMMIT or ROLLBACK.
type keptTx struct {
	c *sqliteConn
	// ctx is the context given to BeginTx, which database/sql documents as
	// in use until the transaction ends: a COMMIT waiting for a lock stops
	// waiting once it is done.
	ctx  context.Context
	once sync.Once
	done func()
}

func (t *keptTx) Commit() error {
	defer t.once.Do(t.done)
	err := t.c.runTx(t.ctx, commitTx)
	if err == nil {
		if t.c.ckpt != nil {
			t.c.ckpt.committed()
		}
		return nil
	}
	// A COMMIT that fails may leave the transaction open (SQLITE_BUSY, a
	// deferred foreign key): database/sql expects the connection out of it.
	// When SQLite already ended it, this ROLLBACK fails, and says nothing
	// the COMMIT's error does not. (A COMMIT whose context ends just as it
	// completes reports the context's error, as a statement does; as with
	// a database across a network, whether it took effect is then unknown.)
	_ = t.c.runTx(context.Background(), rollbackTx)
	return err
}

func (t *keptTx) Rollback() error {
	defer t.once.Do(t.done)
	// Not watching the context given to BeginTx: database/sql rolls back
	// once that context is done, and the ROLLBACK must run then.
	return t.c.runTx(context.Background(), rollbackTx)
}
