package jirawebhook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// DefaultMaxBatch is how many deliveries one transaction stores at most.
const DefaultMaxBatch = 256

// commitTimeout bounds one batch's transaction. The batch carries other
// requests' deliveries, so it does not end with the request that commits
// it.
const commitTimeout = 30 * time.Second

// committer stores deliveries that arrive together in one transaction,
// with the jobs that apply them, and answers each once it has committed.
//
// There is no goroutine of its own: the request that finds no transaction
// under way leads. It takes every delivery waiting (its own among them),
// commits them, and hands the lead to the oldest delivery that arrived
// meanwhile before answering its own client; the others wait for the
// answer of the batch that holds them. So a lone delivery commits at once,
// and under load each transaction takes what arrived during the one
// before: the batch grows with the load, with no timer.
type committer struct {
	st  store.Store
	enq Enqueuer
	max int

	mu      sync.Mutex
	waiting []*pending
	leading bool // a request is committing a batch
}

// pending is one delivery waiting for its batch.
type pending struct {
	d    store.JiraDelivery
	done chan outcome // buffered: the committer never waits for a reader
}

type outcome struct {
	lead      bool // commit the next batch
	duplicate bool
	err       error
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
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	if !lead {
		o := <-p.done
		if !o.lead {
			return o.duplicate, o.err
		}
	}
	c.mu.Lock()
	n := min(len(c.waiting), c.max)
	batch := c.waiting[:n:n]
	c.waiting = append([]*pending(nil), c.waiting[n:]...)
	c.mu.Unlock()

	dups, err := c.commitSafely(ctx, batch)

	c.mu.Lock()
	if len(c.waiting) > 0 {
		c.waiting[0].done <- outcome{lead: true}
	} else {
		c.leading = false
	}
	c.mu.Unlock()
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

// commitSafely commits batch, turning a panic into the batch's error so
// the lead is always handed on and every request answered.
func (c *committer) commitSafely(ctx context.Context, batch []*pending) (dups []bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			dups, err = make([]bool, len(batch)), fmt.Errorf("store %d deliveries: panic: %v", len(batch), v)
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	return c.commit(ctx, batch)
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
