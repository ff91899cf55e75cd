package jobs

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// fakeClock is a clock that moves only when the code under test sleeps.
type fakeClock struct {
	t     time.Time
	slept time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.t = c.t.Add(d)
	c.slept += d
	return nil
}

func newTestBurst() (*intakeBurst, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)}
	return &intakeBurst{now: c.now, sleep: c.sleep}, c
}

// A burst is burstDeliveries stored within burstWindow; fewer, or as many
// spread wider, are not one. It has passed burstQuiet after.
func TestIntakeBurstBusy(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		batches []int           // deliveries a batch
		every   time.Duration   // between batches
		want    bool            // busy right after the last
		after   []time.Duration // then, busy again after each of these
		later   []bool
	}{
		"nothing stored":         {want: false},
		"a lone delivery":        {batches: []int{1}, want: false},
		"a burst in one batch":   {batches: []int{burstDeliveries}, want: true, after: []time.Duration{burstQuiet - time.Millisecond, time.Millisecond}, later: []bool{true, false}},
		"a burst in small ones":  {batches: []int{10, 10, 10, 10, 10}, every: 20 * time.Millisecond, want: true},
		"steady, below the rate": {batches: []int{10, 10, 10, 10, 10, 10, 10}, every: burstWindow / 4, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, c := newTestBurst()
			for i, n := range tc.batches {
				if i > 0 {
					c.t = c.t.Add(tc.every)
				}
				b.note(n)
			}
			if got, _ := b.busy(); got != tc.want {
				t.Fatalf("busy() = %v after the batches, want %v", got, tc.want)
			}
			var got []bool
			for _, d := range tc.after {
				c.t = c.t.Add(d)
				busy, _ := b.busy()
				got = append(got, busy)
			}
			if diff := cmp.Diff(tc.later, got); diff != "" {
				t.Errorf("busy() later (-want +got):\n%s", diff)
			}
		})
	}
}

// A job waits until the burst has passed, and no longer than burstHold
// while it goes on.
func TestIntakeBurstWait(t *testing.T) {
	t.Parallel()
	t.Run("not busy", func(t *testing.T) {
		t.Parallel()
		b, c := newTestBurst()
		b.note(1)
		if err := b.wait(t.Context()); err != nil || c.slept != 0 {
			t.Fatalf("wait() = %v after sleeping %v, want nil at once", err, c.slept)
		}
	})
	t.Run("the burst ends", func(t *testing.T) {
		t.Parallel()
		b, c := newTestBurst()
		b.note(burstDeliveries)
		if err := b.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if c.slept < burstQuiet || c.slept > burstQuiet+burstPoll {
			t.Fatalf("waited %v, want burstQuiet (%v) and at most a poll more", c.slept, burstQuiet)
		}
	})
	t.Run("the burst goes on", func(t *testing.T) {
		t.Parallel()
		b, c := newTestBurst()
		b.sleep = func(ctx context.Context, d time.Duration) error {
			if err := c.sleep(ctx, d); err != nil {
				return err
			}
			b.note(burstDeliveries) // the receiver keeps storing
			return nil
		}
		b.note(burstDeliveries)
		if err := b.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if c.slept < burstHold || c.slept > burstHold+burstPoll {
			t.Fatalf("waited %v, want burstHold (%v)", c.slept, burstHold)
		}
	})
	t.Run("a later job during the same burst", func(t *testing.T) {
		t.Parallel()
		// A stream that goes on past burstHold is waited out once: the
		// jobs that start after that run at once, whatever the rate.
		b, c := newTestBurst()
		b.sleep = func(ctx context.Context, d time.Duration) error {
			if err := c.sleep(ctx, d); err != nil {
				return err
			}
			b.note(burstDeliveries)
			return nil
		}
		b.note(burstDeliveries)
		if err := b.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		first := c.slept
		if err := b.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if again := c.slept - first; again != 0 {
			t.Fatalf("a job starting %v into a burst waited %v more, want none", first, again)
		}
	})
	t.Run("the next burst", func(t *testing.T) {
		t.Parallel()
		// A pause longer than the window ends the burst: the next one is
		// waited out anew.
		b, c := newTestBurst()
		b.note(burstDeliveries)
		c.t = c.t.Add(burstHold)
		b.note(burstDeliveries)
		if err := b.wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if c.slept < burstWindow {
			t.Fatalf("waited %v for a new burst, want at least the window (%v)", c.slept, burstWindow)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		b, _ := newTestBurst()
		b.note(burstDeliveries)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := b.wait(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("wait() = %v, want context.Canceled", err)
		}
	})
}

// deliveriesAt is a store that tells when the job first read its
// deliveries.
type deliveriesAt struct {
	store.Store
	clock  *fakeClock
	readAt time.Time
}

func (s *deliveriesAt) GetJiraDeliveries(context.Context, []int64) ([]store.JiraDelivery, error) {
	if s.readAt.IsZero() {
		s.readAt = s.clock.now()
	}
	return nil, nil
}

func (s *deliveriesAt) MarkJiraDeliveriesApplied(context.Context, []int64, time.Time) error {
	return nil
}

type noApplier struct{}

func (noApplier) ApplyJiraEvent(context.Context, string, []byte) error { return nil }
func (noApplier) ApplyJiraWebhook(context.Context, string, *jira.WebhookEvent, []byte) error {
	return nil
}

// The apply job reads its deliveries only once the burst that brought
// them has passed.
func TestApplyJiraDeliveriesWaitsOutABurst(t *testing.T) {
	t.Parallel()
	b, c := newTestBurst()
	st := &deliveriesAt{clock: c}
	w := &ApplyJiraDeliveriesWorker{Store: st, Applier: noApplier{}, Log: slog.New(slog.DiscardHandler), Now: c.now, burst: b}
	start := c.now()
	b.note(burstDeliveries)
	job := &river.Job[ApplyJiraDeliveriesArgs]{JobRow: &rivertype.JobRow{}, Args: ApplyJiraDeliveriesArgs{JiraServerID: "jira-1", DeliveryIDs: []int64{1}}}
	if err := w.Work(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	if waited := st.readAt.Sub(start); waited < burstQuiet {
		t.Fatalf("the job read its deliveries %v after the burst's last batch, want at least %v", waited, burstQuiet)
	}
}
