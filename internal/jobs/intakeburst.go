package jobs

import (
	"context"
	"sync"
	"time"
)

// While Jira's deliveries arrive in a burst, the apply_jira_deliveries
// jobs of the batches already stored wait, so the receiver has the CPU and
// the database to itself and answers Jira sooner: on two cores shared with
// the database, applying the first deliveries while the rest were arriving
// cut the deliveries accepted a second by a third (PostgreSQL, bench/sync
// -only intake). Accepting is what Jira waits for; applying may follow.
//
// The receiver of this process tells the queue of each batch it stores
// (EnqueueJiraDeliveries). A burst begins when burstWindow holds at least
// burstDeliveries, and has passed burstQuiet after its last batch (a
// pause of the receiver's commits, a collection, would otherwise let
// every waiting job go at once in the middle of it). A job waits while a
// burst is arriving, until it has lasted burstHold: a burst that never
// ends is waited out once, then the jobs run whatever the rate. A waiting
// job holds a worker of its own queue (QueueJiraDeliveries), not a
// database connection, and its lease is renewed as for any running job.
const (
	burstWindow     = 250 * time.Millisecond
	burstDeliveries = 50 // in burstWindow: 200 a second
	burstQuiet      = time.Second
	burstHold       = 10 * time.Second
	burstPoll       = 50 * time.Millisecond
)

// intakeBurst counts the deliveries this process's receiver stored
// recently.
type intakeBurst struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	recent []stored  // oldest first, within burstWindow
	since  time.Time // when the burst going on began; zero when none is
	last   time.Time // the newest batch of a window that held a burst
}

// stored is a batch of n deliveries stored at at.
type stored struct {
	at time.Time
	n  int
}

func newIntakeBurst() *intakeBurst {
	return &intakeBurst{now: time.Now, sleep: sleepCtx}
}

// note records a batch of n deliveries stored now.
func (b *intakeBurst) note(n int) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stateLocked(now) // a burst that has passed ends before this batch counts
	b.recent = append(b.recent, stored{at: now, n: n})
	b.stateLocked(now)
}

// busy reports whether the deliveries stored in the last burstWindow make
// a burst, and how long it has lasted.
func (b *intakeBurst) busy() (bool, time.Duration) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stateLocked(now)
}

// stateLocked trims the batches out of the window, and starts or ends the
// burst by what is left and when the window last held a burst.
func (b *intakeBurst) stateLocked(now time.Time) (bool, time.Duration) {
	b.trimLocked(now)
	n := 0
	for _, s := range b.recent {
		n += s.n
	}
	if n >= burstDeliveries {
		newest := b.recent[len(b.recent)-1].at
		if b.since.IsZero() || newest.Sub(b.last) >= burstQuiet {
			b.since = newest // a burst begins
		}
		b.last = newest
	}
	if b.since.IsZero() || now.Sub(b.last) >= burstQuiet {
		b.since = time.Time{}
		return false, 0
	}
	return true, now.Sub(b.since)
}

func (b *intakeBurst) trimLocked(now time.Time) {
	i := 0
	for i < len(b.recent) && now.Sub(b.recent[i].at) >= burstWindow {
		i++
	}
	if i > 0 {
		b.recent = append(b.recent[:0], b.recent[i:]...)
	}
}

// wait returns once no burst is arriving or the one arriving has lasted
// burstHold, or with ctx's error.
func (b *intakeBurst) wait(ctx context.Context) error {
	for {
		busy, lasted := b.busy()
		if !busy || lasted >= burstHold {
			return nil
		}
		if err := b.sleep(ctx, burstPoll); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
