package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sqlite "modernc.org/sqlite"
)

// sqliteBusy is SQLITE_BUSY: a lock held elsewhere, with no time to wait.
const sqliteBusy = 5

// txPools opens a database with a table t and a child table whose foreign
// key is checked at COMMIT, and returns its two write pools (sharing the
// gate, as a server's do) and its read pool.
func txPools(t *testing.T) (bg, fg, read *sql.DB) {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tx.db")
	bg, err := OpenWriter(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bg.Close() })
	if _, err := bg.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY);
		CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES t (id) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	fg, err = openDB(ctx, path, bg.Driver().(*gatedDriver).gate, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fg.Close() })
	read, err = OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = read.Close() })
	return bg, fg, read
}

// txKeptBy returns the transaction statements db's connection keeps, and
// the statement kept for COMMIT.
func txKeptBy(t *testing.T, db *sql.DB) ([]string, contextStmt) {
	t.Helper()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var texts []string
	var commit contextStmt
	if err := conn.Raw(func(c any) error {
		kc := c.(*keepingConn)
		kc.mu.Lock()
		defer kc.mu.Unlock()
		for text := range kc.txKept {
			texts = append(texts, text)
		}
		commit = kc.txKept[commitTx]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(texts)
	return texts, commit
}

// Transactions on each pool begin, commit and roll back with statements the
// connection prepared once: BEGIN IMMEDIATE on the write pools, a plain
// BEGIN for a read-only transaction, BEGIN DEFERRED on the read pool.
func TestTransactionStatementsAreKept(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		pool     int // 0 background, 1 foreground, 2 read
		readOnly bool
		want     []string
	}{
		{name: "background", pool: 0, want: []string{"BEGIN IMMEDIATE", commitTx, rollbackTx}},
		{name: "foreground", pool: 1, want: []string{"BEGIN IMMEDIATE", commitTx, rollbackTx}},
		{name: "read-only on the writer", pool: 0, readOnly: true, want: []string{"BEGIN", commitTx, rollbackTx}},
		{name: "read pool", pool: 2, want: []string{"BEGIN DEFERRED", commitTx, rollbackTx}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			bg, fg, read := txPools(t)
			db := []*sql.DB{bg, fg, read}[tc.pool]
			write := tc.pool != 2 && !tc.readOnly
			var firstCommit contextStmt
			for i := range 3 {
				tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: tc.readOnly})
				if err != nil {
					t.Fatal(err)
				}
				if write {
					if _, err := tx.ExecContext(ctx, `INSERT INTO t (id) VALUES (?)`, i); err != nil {
						t.Fatal(err)
					}
				} else if _, err := countIn(ctx, tx); err != nil {
					t.Fatal(err)
				}
				end := tx.Commit
				if i == 1 {
					end = tx.Rollback
				}
				if err := end(); err != nil {
					t.Fatal(err)
				}
				_, commit := txKeptBy(t, db)
				if firstCommit == nil {
					firstCommit = commit
				} else if commit != firstCommit {
					t.Errorf("transaction %d: COMMIT prepared again", i)
				}
			}
			got, _ := txKeptBy(t, db)
			slices.Sort(tc.want)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kept transaction statements (-want +got):\n%s", diff)
			}
			if write {
				n, err := countRows(ctx, read)
				if err != nil || n != 2 {
					t.Errorf("%d rows committed, %v; want 2 (the rolled back one not)", n, err)
				}
			}
		})
	}
}

func countIn(ctx context.Context, tx *sql.Tx) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n)
	return n, err
}

func countRows(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n)
	return n, err
}

// A COMMIT that fails (a deferred foreign key) leaves the connection out
// of the transaction, usable by the next one on either pool, and gives the
// gate back.
func TestFailedCommitLeavesConnectionClean(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	bg, fg, read := txPools(t)
	tx, err := fg.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO child (id, parent) VALUES (1, 42)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err == nil || !Dialect.IsForeignKeyViolation(err) {
		t.Fatalf("commit = %v, want a foreign key violation", err)
	}
	for _, db := range []*sql.DB{fg, bg} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("begin after the failed commit: %v", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (id) VALUES (NULL)`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit after the failed commit: %v", err)
		}
	}
	var children int
	if err := read.QueryRowContext(ctx, `SELECT count(*) FROM child`).Scan(&children); err != nil || children != 0 {
		t.Errorf("%d children after the failed commit, %v; want none", children, err)
	}
	if n, err := countRows(ctx, read); err != nil || n != 2 {
		t.Errorf("%d rows, %v; want 2", n, err)
	}
}

// A context that ends during a transaction rolls it back and frees the
// gate for the other pool.
func TestCanceledTransaction(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	bg, fg, read := txPools(t)
	txCtx, cancel := context.WithCancel(ctx)
	tx, err := fg.BeginTx(txCtx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(txCtx, `INSERT INTO t (id) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := tx.Commit(); err == nil {
		t.Fatal("commit after the context ended succeeded")
	}
	if _, err := bg.ExecContext(ctx, `INSERT INTO t (id) VALUES (2)`); err != nil {
		t.Fatalf("write after the canceled transaction: %v", err)
	}
	var ids []int
	rows, err := read.QueryContext(ctx, `SELECT id FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if diff := cmp.Diff([]int{2}, ids); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// A BEGIN whose context has ended does not begin, and gives the gate
	// back (database/sql checks the context before it asks the driver).
	conn, err := fg.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Raw(func(c any) error {
		_, err := c.(*keepingConn).BeginTx(txCtx, driver.TxOptions{})
		return err
	}); !errors.Is(err, context.Canceled) {
		t.Errorf("begin with an ended context: %v, want canceled", err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	// The bound only turns a gate never given back into a failure.
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if _, err := bg.ExecContext(wctx, `INSERT INTO t (id) VALUES (3)`); err != nil {
		t.Fatalf("write after the canceled begin: %v", err)
	}
}

// A COMMIT waiting for a lock stops waiting once the context given to
// BeginTx ends (modernc.org/sqlite's issue 263), and leaves the connection
// out of the transaction. In rollback-journal mode a COMMIT waits for the
// readers' SHARED locks.
//
// The context ends only once the COMMIT is seen waiting: one that ended
// before the COMMIT began (a loaded machine pausing the test between BEGIN
// and COMMIT) has database/sql roll the transaction back and Commit say
// sql.ErrTxDone, which tests nothing here.
func TestCommitWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "journal.db")
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(20000)")
	q.Add("_pragma", "journal_mode(DELETE)")
	q.Set("_txlock", "immediate")
	w := sql.OpenDB(newConnector("file:" + path + "?" + q.Encode()))
	defer w.Close()
	w.SetMaxOpenConns(1)
	if _, err := w.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rtx, err := r.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := countIn(ctx, rtx); err != nil { // takes the SHARED lock
		t.Fatal(err)
	}
	// A reader that does not wait: refused once the COMMIT holds the
	// PENDING lock, which it takes to wait for the SHARED ones.
	probe := sql.OpenDB(newConnector("file:" + path + "?_pragma=busy_timeout(0)"))
	defer probe.Close()

	txCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	tx, err := w.BeginTx(txCtx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(txCtx, `INSERT INTO t (id) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	go func() { committed <- tx.Commit() }()
	for waiting := false; !waiting; {
		select {
		case err := <-committed:
			t.Fatalf("the commit ended with %v while a reader held its lock", err)
		default:
		}
		_, err := countRows(ctx, probe)
		var e *sqlite.Error
		waiting = errors.As(err, &e) && e.Code() == sqliteBusy
		if err != nil && !waiting {
			t.Fatal(err)
		}
	}
	cancel()
	select {
	case err = <-committed:
	case <-time.After(time.Minute): // the bound only turns a commit that never stops waiting into a failure
		t.Fatal("the commit still waits after its context ended")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("commit = %v, want the context's end", err)
	}
	if err := rtx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO t (id) VALUES (2)`); err != nil {
		t.Fatalf("write after the interrupted commit: %v", err)
	}
	var n int
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d rows, %v; want 1 (the interrupted commit's not)", n, err)
	}
}

// BenchmarkWriteTransaction: a transaction of one INSERT on the writer, as
// the store's InTx runs them.
func BenchmarkWriteTransaction(b *testing.B) {
	ctx := b.Context()
	db, err := OpenWriter(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES ('x')`); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
