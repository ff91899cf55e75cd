package jirawebhook

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// DefaultMaxBatch is how many deliveries one transaction stores at most.
const DefaultMaxBatch = 256

// DefaultMaxInFlight is how many batches commit at once on each database
// (Deps.MaxInFlight). SQLite has one writer: a second transaction would
// only wait for it. PostgreSQL writes transactions side by side and
// flushes their commits together, so while one batch waits for its commit
// the next ones are written: one at a time, the database's time per batch
// capped the intake below a plain insert per request.
var DefaultMaxInFlight = map[string]int{"sqlite": 1, "postgres": 4}

// holdConnFor is how long a chain of batches keeps its database
// connection while deliveries keep arriving; then the connection goes back
// to the pool for a turn of the jobs and other writers, and the next batch
// queues for one like everyone else.
const holdConnFor = time.Second

// lingerFor is how long a chain's connection waits, unused, for the next
// delivery after the last batch: the senders a batch answered send their
// next delivery a moment later, and would otherwise queue for the
// connection again.
const lingerFor = 20 * time.Millisecond

// commitTimeout bounds one batch's transaction. The batch carries other
// requests' deliveries, so it does not end with the request that commits
// it.
const commitTimeout = 30 * time.Second

// committer stores deliveries that arrive together in one transaction,
// with the jobs that apply them, and answers each once it has committed.
//
// There is no goroutine of its own: a request that finds fewer than
// inFlight batches under way leads one. It takes every delivery waiting
// (its own among them), commits them, and hands the deliveries that
// arrived meanwhile, as the next batch, to the oldest of them before
// answering its own client; the others wait for the answer of the batch
// that holds them. So a lone delivery commits at once, and under load each
// transaction takes what arrived during the ones before: the batch grows
// with the load, with no timer.
//
// The next batch also gets the database connection its predecessor
// committed on (for up to holdConnFor), so a burst's batches do not each
// queue for a connection behind the jobs applying the earlier deliveries:
// on SQLite that connection is the one writer, which the jobs take in turn
// with the receiver, and on PostgreSQL the jobs can fill the pool.
type committer struct {
	st       store.Store
	enq      Enqueuer
	max      int // deliveries a batch
	inFlight int // batches committing at once, at most

	mu         sync.Mutex
	waiting    []*pending
	committing int     // batches under way
	idle       []*held // connections lingering for the next batch
}

// pending is one delivery waiting for its batch.
type pending struct {
	d    store.JiraDelivery
	done chan outcome // buffered: the committer never waits for a reader
}

type outcome struct {
	batch     []*pending // commit this batch (the receiver is its first)
	conn      *held      // on this connection, when not nil
	duplicate bool
	err       error
}

// held is a connection a chain of batches keeps, since when.
type held struct {
	conn  *sql.Conn
	since time.Time
}

// submit stores d durably, with its job, and reports whether it was a
// duplicate of a delivery already stored. A delivery whose batch failed to
// commit is not stored: err says why.
//
// Waiting for the batch does not end with ctx: the batch is committed
// for every request in it, and its answer comes within commitTimeout.
func (c *committer) submit(ctx context.Context, d store.JiraDelivery) (duplicate bool, err error) {
	p := &pending{d: d, done: make(chan outcome, 1)}
	c.mu.Lock()
	c.waiting = append(c.waiting, p)
	var (
		batch []*pending
		conn  *held
	)
	if c.committing < c.inFlight {
		// Nothing waits while a batch could start (each delivery that
		// arrives then starts one), so the batch is p alone.
		c.committing++
		batch = c.takeLocked()
		if n := len(c.idle); n > 0 {
			conn, c.idle = c.idle[n-1], c.idle[:n-1]
		}
	}
	c.mu.Unlock()
	if batch == nil {
		o := <-p.done
		if o.batch == nil {
			return o.duplicate, o.err
		}
		batch, conn = o.batch, o.conn
	}

	dups, conn, err := c.commitSafely(ctx, batch, conn)

	c.mu.Lock()
	keep := conn != nil && time.Since(conn.since) < holdConnFor
	switch {
	case len(c.waiting) > 0:
		next := c.takeLocked()
		var pass *held
		if keep {
			pass, conn = conn, nil
		}
		next[0].done <- outcome{batch: next, conn: pass}
	case keep:
		c.committing--
		c.lingerLocked(conn)
		conn = nil
	default:
		c.committing--
	}
	c.mu.Unlock()
	if conn != nil {
		_ = conn.conn.Close() // back to the pool; a broken one is dropped
	}
	mine := outcome{err: err}
	for i, q := range batch {
		if q == p {
			mine.duplicate = dups[i]
			continue
		}
		q.done <- outcome{duplicate: dups[i], err: err}
	}
	return mine.duplicate, mine.err
}

// lingerLocked keeps h for the next batch for up to lingerFor, then
// gives it back to the pool; c.mu is held.
func (c *committer) lingerLocked(h *held) {
	c.idle = append(c.idle, h)
	time.AfterFunc(lingerFor, func() {
		c.mu.Lock()
		i := slices.Index(c.idle, h)
		if i >= 0 {
			c.idle = slices.Delete(c.idle, i, i+1)
		}
		c.mu.Unlock()
		if i >= 0 {
			_ = h.conn.Close()
		}
	})
}

// takeLocked removes the next batch, the oldest deliveries waiting, from
// c.waiting; c.mu is held.
func (c *committer) takeLocked() []*pending {
	n := min(len(c.waiting), c.max)
	batch := c.waiting[:n:n]
	c.waiting = append([]*pending(nil), c.waiting[n:]...)
	return batch
}

// commitSafely commits batch on conn, or on a connection it takes from
// the pool when conn is nil, and returns the connection to keep: nil when
// the batch failed (the connection goes back to the pool, which drops it
// if broken). A panic becomes the batch's error, so the lead is always
// handed on and every request answered.
func (c *committer) commitSafely(ctx context.Context, batch []*pending, conn *held) (dups []bool, kept *held, err error) {
	defer func() {
		if v := recover(); v != nil {
			dups, err = make([]bool, len(batch)), fmt.Errorf("store %d deliveries: panic: %v", len(batch), v)
		}
		if err != nil && conn != nil {
			_ = conn.conn.Close() // back to the pool, which drops it if broken
			kept = nil
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if conn == nil {
		sc, err := c.st.DB().Conn(ctx)
		if err != nil {
			return make([]bool, len(batch)), nil, fmt.Errorf("store %d deliveries: %w", len(batch), err)
		}
		conn = &held{conn: sc, since: time.Now()}
	}
	dups, err = c.commit(store.OnConn(ctx, conn.conn), batch)
	return dups, conn, err
}

// commit stores the batch and enqueues its jobs in one transaction: one job
// per server, naming that server's new deliveries in the order they
// arrived (the job keeps each issue's in that order). It reports which
// deliveries were duplicates.
func (c *committer) commit(ctx context.Context, batch []*pending) ([]bool, error) {
	ds := make([]store.JiraDelivery, len(batch))
	for i, p := range batch {
		ds[i] = p.d
	}
	err := c.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.AddJiraDeliveries(ctx, ds); err != nil {
			return err
		}
		var servers []string
		ids := map[string][]int64{}
		for _, d := range ds {
			if d.ID == 0 {
				continue
			}
			if _, seen := ids[d.JiraServerID]; !seen {
				servers = append(servers, d.JiraServerID)
			}
			ids[d.JiraServerID] = append(ids[d.JiraServerID], d.ID)
		}
		for _, s := range servers {
			if err := c.enq.EnqueueJiraDeliveries(ctx, tx.SQL(), s, ids[s]); err != nil {
				return err
			}
		}
		return nil
	})
	dups := make([]bool, len(ds))
	if err != nil {
		return dups, fmt.Errorf("store %d deliveries: %w", len(ds), err)
	}
	for i, d := range ds {
		dups[i] = d.ID == 0
	}
	return dups, nil
}
