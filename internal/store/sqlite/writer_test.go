package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

func openSplit(t *testing.T) *store.SQL {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "asanajira.db"), storetest.NewSealer(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// wait receives from ch; the bound only turns a hang into a failure.
func wait[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// The store writes through exactly one connection, which the job queue
// shares; reads go to read-only connections that never wait for it: a read
// completes while a write transaction holds the writer, and a write waits
// its turn in Go and then succeeds.
func TestOneWriterReadsDoNotWait(t *testing.T) {
	t.Parallel()
	s := openSplit(t)
	ctx := t.Context()
	if got := s.DB().Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("the write pool allows %d connections, want 1", got)
	}
	if s.ReadDB() == s.DB() {
		t.Fatal("reads share the write connection")
	}
	srv := store.JiraServer{Name: "Jira", BaseURL: "https://jira.example.com"}
	if err := s.CreateJiraServer(ctx, &srv); err != nil {
		t.Fatal(err)
	}

	holding, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.PutWorkspace(ctx, store.Workspace{GID: "w1", Name: "In the transaction"}); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	wait(t, "the transaction to hold the writer", holding)

	read := make(chan error, 1)
	go func() {
		got, err := s.GetJiraServer(ctx, srv.ID)
		if err == nil && got.BaseURL != srv.BaseURL {
			err = fmt.Errorf("read %+v", got)
		}
		read <- err
	}()
	if err := wait(t, "a read while the writer is held", read); err != nil {
		t.Fatalf("read while a transaction holds the writer: %v", err)
	}
	if _, err := s.GetWorkspace(ctx, "w1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a read saw the uncommitted workspace: %v", err)
	}

	wrote := make(chan error, 1)
	go func() { wrote <- s.PutWorkspace(ctx, store.Workspace{GID: "w2", Name: "After"}) }()
	close(release)
	if err := wait(t, "the transaction", txDone); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "the queued write", wrote); err != nil {
		t.Fatalf("a write queued behind the transaction: %v", err)
	}
	for _, gid := range []string{"w1", "w2"} {
		if _, err := s.GetWorkspace(ctx, gid); err != nil {
			t.Errorf("workspace %s after both writes: %v", gid, err)
		}
	}
}

// Many writers at once all succeed, none failing with SQLITE_BUSY.
func TestConcurrentWritersQueue(t *testing.T) {
	t.Parallel()
	s := openSplit(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			errs <- s.InTx(ctx, func(tx store.Tx) error {
				return tx.AppendAudit(ctx, store.AuditEntry{Actor: "test", Action: "write", Target: fmt.Sprint(i)})
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	es, err := s.ListAudit(ctx, store.AuditFilter{Limit: 100})
	if err != nil || len(es) != 64 {
		t.Fatalf("%d audit entries, %v; want 64", len(es), err)
	}
}

// The read pool refuses writes, so a write sent there by mistake fails
// loudly instead of contending for the lock.
func TestReadPoolIsReadOnly(t *testing.T) {
	t.Parallel()
	s := openSplit(t)
	_, err := s.ReadDB().ExecContext(t.Context(), `INSERT INTO workspaces (gid, name, created_at) VALUES ('w', 'w', CURRENT_TIMESTAMP)`)
	if err == nil {
		t.Fatal("the read pool accepted a write")
	}
}

// A kept statement runs again with new arguments; the same text inside a
// loop over its own rows gets a statement of its own; a script still runs
// whole; a kept statement follows a schema change.
func TestKeptStatements(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sqlite.OpenWriter(ctx, filepath.Join(t.TempDir(), "kept.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (id INTEGER)`); err != nil {
		t.Fatalf("script: %v", err)
	}
	const insert = `INSERT INTO t (id, v) VALUES ($1, $2)`
	for i := range 3 {
		if _, err := db.ExecContext(ctx, insert, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	const one = `SELECT v FROM t WHERE id = $1`
	for i := range 3 {
		var v string
		if err := db.QueryRowContext(ctx, one, i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("row %d: %q, %v", i, v, err)
		}
	}

	// The same text inside a loop over its own rows, on one connection.
	const all = `SELECT id FROM t WHERE id >= $1 ORDER BY id`
	err = withTx(ctx, db, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, all, 0)
		if err != nil {
			return err
		}
		defer rows.Close()
		var pairs []string
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (`+all+`)`, id).Scan(&n); err != nil {
				return err
			}
			m, err := countRows(ctx, tx, all, id)
			if err != nil {
				return err
			}
			pairs = append(pairs, fmt.Sprint(id, ":", n, "/", m))
		}
		if fmt.Sprint(pairs) != "[0:3/3 1:2/2 2:1/1]" {
			return fmt.Errorf("nested reads gave %v", pairs)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}

	// A schema change under a kept statement.
	const star = `SELECT * FROM t WHERE id = $1`
	var id int
	var v string
	if err := db.QueryRowContext(ctx, star, 0).Scan(&id, &v); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE t ADD COLUMN w TEXT NOT NULL DEFAULT 'new'`); err != nil {
		t.Fatal(err)
	}
	var w string
	if err := db.QueryRowContext(ctx, star, 0).Scan(&id, &v, &w); err != nil || w != "new" {
		t.Fatalf("after ALTER TABLE: %q, %v", w, err)
	}
}

func countRows(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

func withTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// The request's write pool and the background's are one SQLite
// connection: a commit through one does not make the other drop its page
// cache and read its pages from the file again, as another connection's
// commit does (PRAGMA data_version counts the commits of other
// connections).
func TestWritePoolsShareOneConnection(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "asanajira.db")
	s, err := sqlite.Open(ctx, path, storetest.NewSealer(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	other, err := sqlite.OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	version := func() int64 {
		t.Helper()
		var v int64
		if err := s.InTx(store.Foreground(ctx), func(tx store.Tx) error {
			return tx.SQL().QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v)
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	audit := func(action string) store.AuditEntry { return store.AuditEntry{Actor: "t", Action: action} }

	before := version()
	if err := s.AppendAudit(ctx, audit("background")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(store.Foreground(ctx), audit("request")); err != nil {
		t.Fatal(err)
	}
	if after := version(); after != before {
		t.Errorf("the request's connection saw the background's commit as another connection's (data_version %d → %d)", before, after)
	}
	if _, err := other.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, 't', 'elsewhere', '', '')`, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	if after := version(); after == before {
		t.Error("data_version did not count another connection's commit: the check above proves nothing")
	}
}
