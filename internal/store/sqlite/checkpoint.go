package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Checkpoints off the write path. In WAL mode SQLite appends each commit
// to the -wal file and copies the pages back into the database file at a
// checkpoint, which by default the commit that takes the WAL past 1,000
// pages runs before it returns: a request's write paid, now and then, for
// copying a thousand pages and two fsyncs (a create's p99 fell from about
// 10 ms to 7.6 ms with them turned off). The server's write connection
// leaves them instead (its wal_autocheckpoint is only a backstop, four
// times SQLite's default, for a checkpointer that fell behind), and a
// checkpointer, on an
// SQLite connection of its own that takes no part in the gate, copies the
// pages back in the background:
//
//   - PASSIVE every checkpointEvery, and after every checkpointCommits of
//     the writer's transactions: it waits for no reader or writer;
//   - when a passive checkpoint finds more than checkpointPages pages in
//     the WAL, another one holding the writer's gate (gate.go), as a
//     background write does: SQLite starts the WAL over from its beginning
//     only when a write transaction begins with the whole WAL copied back,
//     which under sustained writes a checkpoint beside them never leaves
//     (the WAL grew to 60 MB in TestWALStaysBounded). The second
//     checkpoint has only the pages written during the first to copy; the
//     writes waiting meanwhile queue in Go, as for any write, rather than
//     in SQLite's busy handler;
//   - when no other connection has committed for a whole interval and the
//     -wal file is larger than truncateBytes, one TRUNCATE, which empties
//     it: the writer starts the WAL over from its beginning once it is
//     copied back, but never shrinks the file, which would otherwise keep
//     the size of its busiest second. Not smaller files: the other
//     connections, the writer among them, take a WAL emptied by another
//     for a change to the database and drop their page caches.
//
// The checkpointer stops when the write connection closes; the last
// connection to close checkpoints whatever is left, as SQLite always does.

const (
	checkpointEvery   = time.Second
	checkpointCommits = 256
	checkpointPages   = 1000 // SQLite's own wal_autocheckpoint
	backstopPages     = 4 * checkpointPages
	truncateBytes     = 4 << 20
)

// checkpointer checkpoints the WAL of the database a write connection
// writes to (see above).
type checkpointer struct {
	db      *sql.DB
	conn    *sql.Conn
	wal     string // the -wal file
	gate    *gate
	every   time.Duration
	commits atomic.Int64
	nudge   chan struct{}
	stop    context.CancelFunc
	done    chan struct{}
}

// startCheckpointer opens a connection with dsn and starts checkpointing
// on it every interval, for the writer behind g.
func startCheckpointer(dsn string, g *gate, every time.Duration) (*checkpointer, error) {
	db := sql.OpenDB(newConnector(dsn))
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := db.Conn(ctx)
	if err == nil {
		// A TRUNCATE waits for the writer and for readers of the WAL,
		// holding the write lock meanwhile, so that a write arriving then
		// sleeps in SQLite's busy handler: briefly, since it runs when
		// they are idle and is tried again at the next idle tick.
		_, err = conn.ExecContext(ctx, `PRAGMA busy_timeout = 20`)
	}
	if err != nil {
		cancel()
		_ = db.Close() // the open's error explains why
		return nil, fmt.Errorf("sqlite: open the checkpointer: %w", err)
	}
	path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	k := &checkpointer{db: db, conn: conn, wal: path + "-wal", gate: g, every: every, nudge: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	go k.run(ctx)
	return k, nil
}

// committed counts a transaction the writer committed.
func (k *checkpointer) committed() {
	if k.commits.Add(1)%checkpointCommits == 0 {
		select {
		case k.nudge <- struct{}{}:
		default:
		}
	}
}

func (k *checkpointer) run(ctx context.Context) {
	defer close(k.done)
	tick := time.NewTicker(k.every)
	defer tick.Stop()
	var (
		version   int64 = -1
		truncated bool
		failing   bool
	)
	for {
		mode := "PASSIVE"
		select {
		case <-ctx.Done():
			return
		case <-k.nudge:
		case <-tick.C:
			v, err := k.dataVersion(ctx)
			if err != nil {
				k.report(ctx, &failing, err)
				continue
			}
			if v == version {
				if truncated || !k.walLarger(truncateBytes) {
					continue
				}
				mode = "TRUNCATE"
			}
			version = v
		}
		r, err := k.checkpoint(ctx, mode)
		if err == nil && r.log > checkpointPages {
			r, err = k.catchUp(ctx)
		}
		k.report(ctx, &failing, err)
		truncated = mode == "TRUNCATE" && err == nil && r.busy == 0
	}
}

// catchUp checkpoints holding the writer's gate, so that the writer's next
// transaction finds the whole WAL copied back and starts it over.
func (k *checkpointer) catchUp(ctx context.Context) (checkpointed, error) {
	if err := k.gate.lock(ctx, false); err != nil {
		return checkpointed{}, err
	}
	defer k.gate.unlock()
	return k.checkpoint(ctx, "PASSIVE")
}

// walLarger reports whether the -wal file holds more than n bytes.
func (k *checkpointer) walLarger(n int64) bool {
	fi, err := os.Stat(k.wal)
	return err == nil && fi.Size() > n
}

// dataVersion is SQLite's count of other connections' commits, as seen
// by the checkpointer's.
func (k *checkpointer) dataVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := k.conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: data_version: %w", err)
	}
	return v, nil
}

// checkpointed is what PRAGMA wal_checkpoint reports: whether another
// connection kept it from completing, the pages in the WAL, and those of
// them copied back.
type checkpointed struct{ busy, log, done int64 }

// checkpoint runs a checkpoint in mode.
func (k *checkpointer) checkpoint(ctx context.Context, mode string) (checkpointed, error) {
	var r checkpointed
	if err := k.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&r.busy, &r.log, &r.done); err != nil {
		return r, fmt.Errorf("sqlite: %s checkpoint: %w", mode, err)
	}
	return r, nil
}

// report logs the first of consecutive errors, and none once closing.
func (k *checkpointer) report(ctx context.Context, failing *bool, err error) {
	if err == nil || ctx.Err() != nil {
		*failing = false
		return
	}
	if !*failing {
		k.gate.log.Warn("sqlite: checkpoint failed; the WAL grows until one succeeds", slog.Any("error", err))
	}
	*failing = true
}

// close stops the checkpointer and closes its connection.
func (k *checkpointer) close() error {
	k.stop()
	<-k.done
	return errors.Join(k.conn.Close(), k.db.Close())
}
