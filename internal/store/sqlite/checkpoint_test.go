package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// walSize is the size of path's -wal file, 0 when there is none.
func walSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// writePages commits n transactions of about a page each through db.
func writePages(t *testing.T, db *sql.DB, n int, each func(i int)) {
	t.Helper()
	ctx := t.Context()
	for i := range n {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES (randomblob(3000))`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		each(i)
	}
}

// Under sustained writes the writer's WAL stays bounded, though the writer
// never checkpoints itself; closing the writer leaves every write in the
// database file.
func TestWALStaysBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "wal.db")
	// An interval longer than the test: the checkpoints are the ones that
	// commits ask for.
	db, err := openWriter(ctx, path, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var auto int
	if err := db.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != backstopPages {
		t.Fatalf("wal_autocheckpoint = %d, %v; want the backstop, %d", auto, err, backstopPages)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	const n = 4000 // about 48 MB of WAL without checkpoints
	var largest int64
	writePages(t, db, n, func(i int) {
		if i%100 == 0 {
			largest = max(largest, walSize(t, path))
		}
	})
	// SQLite's own default lets the WAL reach 1,000 pages (4 MB) before
	// it checkpoints; 256 commits here write about 3 MB. The checkpointer
	// keeps it near that (about 6 MB seen); the bound checked is the
	// backstop's, which holds however late the checkpointer runs.
	t.Logf("the WAL reached %d bytes", largest)
	if limit := int64(backstopPages+256) * 4096; largest > limit {
		t.Errorf("the WAL reached %d bytes, want at most %d", largest, limit)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Errorf("after closing, the WAL is still there (%v)", err)
	}
	again, err := OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var rows int
	if err := again.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&rows); err != nil || rows != n {
		t.Errorf("%d rows after closing, %v; want %d", rows, err, n)
	}
}

// Once writes stop, the checkpointer empties a large WAL file.
func TestIdleCheckpointTruncates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "idle.db")
	db, err := openWriter(ctx, path, 20*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t (v) VALUES (randomblob(6000000))`); err != nil {
		t.Fatal(err)
	}
	if size := walSize(t, path); size <= truncateBytes {
		t.Fatalf("the WAL holds %d bytes, too few for a truncation", size)
	}
	deadline := time.Now().Add(time.Minute) // the bound only turns a hang into a failure
	for walSize(t, path) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL still holds %d bytes once idle", walSize(t, path))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// And writing goes on after it.
	writePages(t, db, 10, func(int) {})
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&rows); err != nil || rows != 11 {
		t.Errorf("%d rows, %v; want 11", rows, err)
	}
}

// records keeps the records a logger handles.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }

func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// warnings are the messages of the warnings handled, with their error.
func (r *records) warnings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Level != slog.LevelWarn {
			continue
		}
		line := rec.Message
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				line += ": " + a.Value.String()
			}
			return true
		})
		out = append(out, line)
	}
	return out
}

// The checkpointer's warning reaches the logger the writer was opened
// with: here its read of the database's version fails once the file's
// header is damaged under it (a commit of the writer's makes it read the
// header from the file again).
func TestCheckpointerWarnsThroughTheWritersLogger(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "warn.db")
	log := &records{}
	db, err := OpenWriter(ctx, path, slog.New(log))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }() // the damaged file's last checkpoint fails
	// The table's pages copied back and the WAL emptied: the header is
	// read from the file, not from the WAL.
	for _, q := range []string{`CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("not SQLite at all"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t (v) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	const want = "sqlite: checkpoint failed; the WAL grows until one succeeds"
	deadline := time.Now().Add(time.Minute) // the bound only turns a hang into a failure
	for !slices.ContainsFunc(log.warnings(), func(w string) bool { return strings.HasPrefix(w, want) }) {
		if time.Now().After(deadline) {
			t.Fatalf("warnings after the file was damaged = %q, want %q", log.warnings(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
