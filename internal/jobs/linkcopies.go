package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/riverqueue/river"
)

// A link the bridge stores is marked with its copy job still to enqueue
// (store.LinkOfCreate.CopyPending), in the link's own statement, so that
// the request does not wait for river's insert (and, on PostgreSQL, its
// notification). The request enqueues the job once it answered
// (EnqueueLinkCopy); should that never happen (the process died between
// the link's commit and the job's), the sweep (SweepLinkCopiesArgs) does.
// Both clear the mark in the transaction that inserts the job
// (store.ClaimLinkCopy, ClaimLinkCopies): of any number of enqueuers, one
// inserts it, and a crash at any point leaves either the mark or the job.

const (
	// maxLinkCopiesInFlight bounds the enqueues running beside the
	// requests; past it, a link's job is left to the sweep.
	maxLinkCopiesInFlight = 256
	// linkCopyTimeout bounds one enqueue.
	linkCopyTimeout = 30 * time.Second
	// linkCopySweepBatch is how many marks one sweep transaction claims.
	linkCopySweepBatch = 100
	// DefaultLinkCopySweepInterval is how often old marks are swept.
	DefaultLinkCopySweepInterval = time.Minute
)

// copyJobOpts are a link's copy job's insert options.
var copyJobOpts = &river.InsertOpts{MaxAttempts: 10}

// linkCopies runs the requests' enqueues of their links' copy jobs, and
// knows which still run.
type linkCopies struct {
	mu      sync.Mutex
	stopped bool
	running sync.WaitGroup
	slots   chan struct{}
}

func newLinkCopies() *linkCopies {
	return &linkCopies{slots: make(chan struct{}, maxLinkCopiesInFlight)}
}

// EnqueueLinkCopy enqueues the copy job of a link its caller stored
// marked (bridge.Created.LinkID), beside the caller: it returns at once.
// remoteLinked says the caller added the remote link to the task
// (bridge.Created.RemoteLinked). The enqueue is background work (on
// SQLite, a request's write goes before it) that outlives ctx; a link
// whose job it does not insert (a failure, too many at once, the queue
// stopping) keeps its mark for the sweep.
func (q *Queue) EnqueueLinkCopy(ctx context.Context, linkID int64, remoteLinked bool) {
	c := q.copies
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	select {
	case c.slots <- struct{}{}:
	default:
		c.mu.Unlock()
		q.log.LogAttrs(ctx, slog.LevelDebug, "too many copy jobs being enqueued; the sweep enqueues this one", slog.Int64("link", linkID))
		return
	}
	c.running.Add(1)
	c.mu.Unlock()
	ctx = store.Background(context.WithoutCancel(ctx))
	go func() {
		defer func() { <-c.slots; c.running.Done() }()
		ctx, cancel := context.WithTimeout(ctx, linkCopyTimeout)
		defer cancel()
		_, err := q.claimCopies(ctx, remoteLinked, claimLinkCopy(ctx, linkID))
		if err != nil {
			q.log.LogAttrs(ctx, slog.LevelWarn, "could not enqueue a link's copy job; the sweep will", slog.Int64("link", linkID), slog.Any("error", err))
		}
	}()
}

// WaitLinkCopies returns once every enqueue EnqueueLinkCopy started has
// ended.
func (q *Queue) WaitLinkCopies() { q.copies.running.Wait() }

// stopLinkCopies refuses new enqueues (their links keep their marks) and
// waits for those under way, until ctx ends.
func (q *Queue) stopLinkCopies(ctx context.Context) {
	c := q.copies
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// claimLinkCopy is claimCopies' claim of one link's mark.
func claimLinkCopy(ctx context.Context, linkID int64) func(tx store.Tx) ([]store.Link, error) {
	return func(tx store.Tx) ([]store.Link, error) {
		l, ok, err := tx.ClaimLinkCopy(ctx, linkID)
		if !ok {
			return nil, err
		}
		return []store.Link{l}, nil
	}
}

// claimCopies clears the marks claim finds and inserts the links' copy
// jobs, in one transaction, and returns how many.
func (q *Queue) claimCopies(ctx context.Context, remoteLinked bool, claim func(tx store.Tx) ([]store.Link, error)) (int, error) {
	var n int
	err := q.st.InTx(ctx, func(tx store.Tx) error {
		links, err := claim(tx)
		if err != nil || len(links) == 0 {
			return err
		}
		params := make([]river.InsertManyParams, len(links))
		for i, l := range links {
			args := bridge.CopyArgsFor(l)
			args.RemoteLinked = remoteLinked
			params[i] = river.InsertManyParams{Args: args, InsertOpts: copyJobOpts}
		}
		if _, err := q.client.InsertManyTx(ctx, tx.SQL(), params); err != nil {
			return err
		}
		n = len(links)
		return nil
	})
	return n, err
}

// SweepLinkCopiesArgs is the periodic job that enqueues the copy jobs of
// links still marked a grace after they were made: those whose request
// died before enqueuing. The grace (bridge.LinkCopyGrace) outlives any
// request, so the sweep does not enqueue a job its request is about to.
type SweepLinkCopiesArgs struct{}

// Kind is part of the persisted contract; never change it.
func (SweepLinkCopiesArgs) Kind() string { return "sweep_link_copies" }

// SweepLinkCopiesWorker runs SweepLinkCopiesArgs.
type SweepLinkCopiesWorker struct {
	river.WorkerDefaults[SweepLinkCopiesArgs]
	q     *Queue
	grace time.Duration
	now   func() time.Time
}

// Work claims the old marks a batch at a time, each batch with its jobs;
// a swept link's job checks the remote link (RemoteLinked false), which is
// safe: it is upserted by its globalId, and no request adds it any more.
func (w *SweepLinkCopiesWorker) Work(ctx context.Context, _ *river.Job[SweepLinkCopiesArgs]) error {
	before := w.now().Add(-w.grace)
	for {
		n, err := w.q.claimCopies(ctx, false, func(tx store.Tx) ([]store.Link, error) {
			return tx.ClaimLinkCopies(ctx, before, linkCopySweepBatch)
		})
		if err != nil {
			return err
		}
		if n > 0 {
			w.q.log.LogAttrs(ctx, slog.LevelInfo, "enqueued the copy jobs of links no request enqueued", slog.Int("links", n))
		}
		if n < linkCopySweepBatch {
			return nil
		}
	}
}
