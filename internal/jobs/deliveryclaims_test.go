package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// deliveryTable is a store of Jira deliveries in memory.
type deliveryTable struct {
	store.Store
	mu    sync.Mutex
	rows  []store.JiraDelivery // in id order
	nexts int                  // NextJiraDeliveryIDs calls
}

func newDeliveryTable(servers ...string) *deliveryTable {
	t := &deliveryTable{}
	for i, s := range servers {
		id := int64(i + 1)
		t.rows = append(t.rows, store.JiraDelivery{ID: id, JiraServerID: s, IssueID: "10001", Payload: []byte(fmt.Sprintf(
			`{"webhookEvent":"jira:issue_updated","issue_event_type_name":"issue_commented","timestamp":%d,"issue":{"id":"10001","key":"DEMO-1"},"comment":{"id":"%d"}}`, id, id))})
	}
	return t
}

func (t *deliveryTable) GetJiraDeliveries(_ context.Context, ids []int64) ([]store.JiraDelivery, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []store.JiraDelivery
	for _, d := range t.rows {
		if slices.Contains(ids, d.ID) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (t *deliveryTable) NextJiraDeliveryIDs(_ context.Context, server string, after int64, limit int) ([]int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nexts++
	var out []int64
	for _, d := range t.rows {
		if d.ID > after && d.JiraServerID == server && d.AppliedAt.IsZero() && len(out) < limit {
			out = append(out, d.ID)
		}
	}
	return out, nil
}

func (t *deliveryTable) MarkJiraDeliveriesApplied(_ context.Context, ids []int64, at time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.rows {
		if slices.Contains(ids, t.rows[i].ID) && t.rows[i].AppliedAt.IsZero() {
			t.rows[i].AppliedAt = at
		}
	}
	return nil
}

func (t *deliveryTable) applied() []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ids []int64
	for _, d := range t.rows {
		if !d.AppliedAt.IsZero() {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// commentApplier records the comments it applied, in order.
type commentApplier struct {
	mu  sync.Mutex
	ids []string
}

func (*commentApplier) ApplyJiraEvent(context.Context, string, []byte) error { return nil }

func (a *commentApplier) ApplyJiraWebhook(_ context.Context, _ string, ev *jira.WebhookEvent, _ []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = append(a.ids, ev.Comment.ID)
	return nil
}

func applyJob(t *testing.T, w *ApplyJiraDeliveriesWorker, server string, ids ...int64) {
	t.Helper()
	job := &river.Job[ApplyJiraDeliveriesArgs]{JobRow: &rivertype.JobRow{}, Args: ApplyJiraDeliveriesArgs{JiraServerID: server, DeliveryIDs: ids}}
	if err := w.Work(t.Context(), job); err != nil {
		t.Fatal(err)
	}
}

// A job applies, with its own deliveries, those of its server stored
// after them that no other job of the process holds; the jobs that name
// them find them applied.
func TestApplyJiraDeliveriesTakesTheNextOnes(t *testing.T) {
	t.Parallel()
	st := newDeliveryTable("jira-1", "jira-1", "jira-2", "jira-1", "jira-1", "jira-1")
	a := &commentApplier{}
	claims := newDeliveryClaims()
	w := &ApplyJiraDeliveriesWorker{Store: st, Applier: a, Log: slog.New(slog.DiscardHandler), Now: time.Now, claims: claims}
	other, err := claims.claimOwn(t.Context(), []int64{5}) // another job is applying 5
	if err != nil {
		t.Fatal(err)
	}
	applyJob(t, w, "jira-1", 1, 2)
	if diff := cmp.Diff([]string{"1", "2", "4", "6"}, a.ids); diff != "" {
		t.Fatalf("applied by the first job (-want +got):\n%s", diff)
	}
	other.release()
	applyJob(t, w, "jira-1", 4)
	if st.nexts != 1 {
		t.Fatalf("the job whose deliveries were applied looked for more (%d reads in all, want 1)", st.nexts)
	}
	applyJob(t, w, "jira-1", 5, 6)
	if diff := cmp.Diff([]string{"1", "2", "4", "6", "5"}, a.ids); diff != "" {
		t.Fatalf("applied in all (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{1, 2, 4, 5, 6}, st.applied()); diff != "" {
		t.Fatalf("marked applied (-want +got):\n%s", diff)
	}
}

// A job whose deliveries another job of the process holds waits for it
// to end before it claims them.
func TestDeliveryClaimsWaitForTheHolder(t *testing.T) {
	t.Parallel()
	claims := newDeliveryClaims()
	holder, err := claims.claimOwn(t.Context(), []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := holder.add([]int64{2, 3}); !slices.Equal(got, []int64{3}) {
		t.Fatalf("add = %v, want [3]: 2 is held already", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := claims.claimOwn(ctx, []int64{3, 4}); !errors.Is(err, context.Canceled) {
		t.Fatalf("claiming a held delivery = %v, want to wait (here: cancelled)", err)
	}
	got := make(chan *claim)
	go func() {
		cl, err := claims.claimOwn(t.Context(), []int64{3, 4})
		if err != nil {
			t.Error(err)
		}
		got <- cl
	}()
	holder.release()
	cl := <-got
	if diff := cmp.Diff([]int64{3, 4}, cl.ids); diff != "" {
		t.Fatalf("claimed after the holder ended (-want +got):\n%s", diff)
	}
	cl.release()
	if len(claims.by) != 0 {
		t.Fatalf("%d deliveries still held after every claim ended", len(claims.by))
	}
}
