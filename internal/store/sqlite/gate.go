package sqlite

import (
	"context"
	"database/sql/driver"
	"log/slog"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
)

// The writer's gate. The server writes through one pool that the store's
// background work and the job queue share (OpenWriter), and a second one
// for users' requests (the store's Foreground contexts, NewStore), both
// over one SQLite connection; a gate shared by both lets one of them use
// it at a time. A request waiting for it goes before every background
// write waiting for it: database/sql hands a connection that comes free
// to a waiting caller at random, so with one pool for all, a request's
// write waited behind whichever of the jobs each create queues (sync
// runs, attachment copies, deliveries applied) happened to be waiting too. A background
// write waiting longer than backgroundMaxWait goes next, so a steady
// stream of requests does not starve the jobs.
//
// A connection takes the gate for a transaction (from BEGIN to COMMIT or
// ROLLBACK) or for one statement outside a transaction (a query's until
// its rows are closed), reads included: the gate cannot tell them apart,
// and the server's reads go to the read-only pool anyway.

// backgroundMaxWait bounds how long requests keep a background write
// waiting.
const backgroundMaxWait = 50 * time.Millisecond

type gate struct {
	mu     sync.Mutex
	held   bool
	fg, bg []*gateWaiter
	now    func() time.Time

	// share guards conn, the SQLite connection both write pools use.
	share sync.Mutex
	conn  *sqliteConn
	// checkpointEvery is the interval of conn's checkpointer; 0: conn
	// checkpoints as SQLite does by default (checkpoint.go).
	checkpointEvery time.Duration
	// log receives the checkpointer's warnings.
	log *slog.Logger
}

type gateWaiter struct {
	ready chan struct{}
	since time.Time
}

func newGate(checkpointEvery time.Duration, log *slog.Logger) *gate {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &gate{now: time.Now, checkpointEvery: checkpointEvery, log: log}
}

// lock takes the gate, before any waiting background caller when fg.
func (g *gate) lock(ctx context.Context, fg bool) error {
	g.mu.Lock()
	if !g.held {
		g.held = true
		g.mu.Unlock()
		return nil
	}
	w := &gateWaiter{ready: make(chan struct{}), since: g.now()}
	if fg {
		g.fg = append(g.fg, w)
	} else {
		g.bg = append(g.bg, w)
	}
	g.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	queued := g.remove(w)
	g.mu.Unlock()
	if !queued {
		// Handed over meanwhile: pass it on.
		g.unlock()
	}
	return ctx.Err()
}

func (g *gate) remove(w *gateWaiter) bool {
	for _, q := range []*[]*gateWaiter{&g.fg, &g.bg} {
		for i, x := range *q {
			if x == w {
				*q = append((*q)[:i], (*q)[i+1:]...)
				return true
			}
		}
	}
	return false
}

// unlock hands the gate to the next waiter, or frees it.
func (g *gate) unlock() {
	g.mu.Lock()
	defer g.mu.Unlock()
	var next *gateWaiter
	switch {
	case len(g.bg) > 0 && (len(g.fg) == 0 || g.now().Sub(g.bg[0].since) >= backgroundMaxWait):
		next, g.bg = g.bg[0], g.bg[1:]
	case len(g.fg) > 0:
		next, g.fg = g.fg[0], g.fg[1:]
	default:
		g.held = false
		return
	}
	close(next.ready)
}

// waiting counts the callers waiting for the gate (tests).
func (g *gate) waiting() (fg, bg int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.fg), len(g.bg)
}

// The two write pools are two doors to one SQLite connection. In WAL mode
// a connection that finds another connection's commit in the log when its
// next transaction begins drops its whole page cache, and reads every page
// it touches again, a pread each: with a connection per pool, each of a
// create's transactions on the foreground connection followed the Jira
// webhook's, written on the background one meanwhile, and read its pages
// (the link's tables and indexes, river's) back from the file. One
// connection keeps its cache across both pools' writes. The gate already
// lets one of them use it at a time (statements, transactions, prepared
// statements and Ping all take it); ResetSession and IsValid read an
// atomic flag only.

// attach returns the SQLite connection the write pools share, opening it
// with open if no pool holds it, and counts the caller's reference.
func (g *gate) attach(open func() (*sqliteConn, error)) (*sqliteConn, error) {
	g.share.Lock()
	defer g.share.Unlock()
	if g.conn != nil {
		g.conn.refs++
		return g.conn, nil
	}
	sc, err := open()
	if err != nil {
		return nil, err
	}
	g.conn = sc
	return sc, nil
}

// detach drops a reference to sc and reports whether it was the last, in
// which case the caller closes it; the next attach opens a new one.
func (g *gate) detach(sc *sqliteConn) bool {
	g.share.Lock()
	defer g.share.Unlock()
	sc.refs--
	if sc.refs > 0 {
		return false
	}
	if g.conn == sc {
		g.conn = nil
	}
	return true
}

// gatedDriver is what Driver returns for a pool whose connections share
// a gate, so that NewStore can open the foreground pool on the same one.
type gatedDriver struct {
	*sqlite.Driver
	gate *gate
}

// gatedRows give the gate back when closed.
type gatedRows struct {
	driver.Rows
	once sync.Once
	done func()
}

func (r *gatedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.done)
	return err
}
