package jobs_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
)

type appliesNothing struct{}

func (appliesNothing) ApplyJiraEvent(context.Context, string, []byte) error { return nil }
func (appliesNothing) ApplyJiraWebhook(context.Context, string, *jira.WebhookEvent, []byte) error {
	return nil
}

// readsDeliveries counts the apply jobs that got past their wait.
type readsDeliveries struct {
	store.Store
	n atomic.Int32
}

func (s *readsDeliveries) GetJiraDeliveries(ctx context.Context, ids []int64) ([]store.JiraDelivery, error) {
	s.n.Add(1)
	return s.Store.GetJiraDeliveries(ctx, ids)
}

// While a burst of Jira deliveries arrives, the jobs applying them wait in
// a queue of their own: the other kinds keep their workers. With one worker
// and a single queue, the first waiting apply job would hold it until the
// burst had lasted its hold, and the cleanup job below would run only after.
func TestBurstOfDeliveriesLeavesOtherKindsTheirWorkers(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			bd := b.open(t)
			reads := &readsDeliveries{Store: bd.st}
			st, q := bd.st, bd.queue(t, reads, jobs.Options{Workers: 1, JiraEvents: appliesNothing{}})
			ctx := t.Context()
			if err := st.PutAuthState(ctx, store.AuthState{State: "stale", Kind: "k", ExpiresAt: time.Now().Add(-time.Minute)}); err != nil {
				t.Fatal(err)
			}
			start(t, q)

			// The receiver keeps storing batches of 50 (rows the jobs will
			// not find: they only have to wait) until the cleanup has run.
			burst := func() {
				if err := st.InTx(ctx, func(tx store.Tx) error {
					return q.EnqueueJiraDeliveries(ctx, tx.SQL(), "jira-1", make([]int64, 50))
				}); err != nil {
					t.Error(err)
				}
			}
			burst()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
						burst()
					}
				}
			})
			defer func() { close(stop); wg.Wait() }()

			if err := q.Insert(ctx, jobs.CleanupArgs{}, nil); err != nil {
				t.Fatal(err)
			}
			waitCleanedUp(t, st)
			if n := reads.n.Load(); n != 0 {
				t.Fatalf("%d apply jobs had ended their wait before the cleanup ran, want 0: the cleanup waited for their worker", n)
			}
		})
	}
}
