package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

var jiraDeliveryTests = map[string]func(t *testing.T, newStore NewStore){
	"JiraDeliveries":          testJiraDeliveries,
	"JiraDeliveriesInTx":      testJiraDeliveriesInTx,
	"JiraDeliveriesRetention": testJiraDeliveriesRetention,
	"NextJiraDeliveryIDs":     testNextJiraDeliveryIDs,
}

func delivery(server, key string, expires time.Time) store.JiraDelivery {
	return store.JiraDelivery{JiraServerID: server, DedupKey: key, Event: "jira:issue_updated", IssueID: "10001",
		Payload: []byte(`{"webhookEvent":"jira:issue_updated","key":"` + key + `"}`), ExpiresAt: expires}
}

func deliveryIDs(ds []store.JiraDelivery) []int64 {
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

// testJiraDeliveries: a batch stores each new key once, whatever repeats
// it holds or earlier batches stored, and a batch larger than one
// statement's rows keeps every delivery.
func testJiraDeliveries(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	a, b := createServer(t, s, "https://a.example"), createServer(t, s, "https://b.example")
	exp := clk.Now().Add(48 * time.Hour)

	first := []store.JiraDelivery{delivery(a.ID, "k1", exp), delivery(a.ID, "k2", exp), delivery(a.ID, "k1", exp), delivery(b.ID, "k1", exp)}
	must(t, s.AddJiraDeliveries(ctx, first))
	if first[0].ID == 0 || first[1].ID == 0 || first[3].ID == 0 || first[2].ID != 0 {
		t.Fatalf("IDs after the first batch = %v, want the repeat of k1 alone 0", deliveryIDs(first))
	}
	second := []store.JiraDelivery{delivery(a.ID, "k2", exp), delivery(a.ID, "k3", exp)}
	must(t, s.AddJiraDeliveries(ctx, second))
	if second[0].ID != 0 || second[1].ID == 0 {
		t.Fatalf("IDs after the second batch = %v, want [0 new]", deliveryIDs(second))
	}

	got, err := s.GetJiraDeliveries(ctx, []int64{second[1].ID, first[0].ID, 1 << 40})
	must(t, err)
	want := []store.JiraDelivery{first[0], second[1]}
	for i := range want {
		want[i].ReceivedAt, want[i].ExpiresAt = clk.Now().UTC().Truncate(time.Microsecond), exp.UTC().Truncate(time.Microsecond)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GetJiraDeliveries (-want +got):\n%s", diff)
	}

	at := clk.Now().Add(time.Second)
	must(t, s.MarkJiraDeliveriesApplied(ctx, []int64{first[0].ID, first[1].ID}, at))
	must(t, s.MarkJiraDeliveriesApplied(ctx, []int64{first[0].ID}, at.Add(time.Hour))) // already applied: kept as it was
	got, err = s.GetJiraDeliveries(ctx, []int64{first[0].ID, first[1].ID, first[3].ID})
	must(t, err)
	for i, d := range got {
		applied := i < 2
		if applied != !d.AppliedAt.IsZero() || applied != (len(d.Payload) == 0) {
			t.Fatalf("delivery %d: applied at %v with %d bytes of payload, want applied %v and its payload dropped", d.ID, d.AppliedAt, len(d.Payload), applied)
		}
		if applied && !d.AppliedAt.Equal(at.UTC().Truncate(time.Microsecond)) {
			t.Fatalf("delivery %d applied at %v, want %v", d.ID, d.AppliedAt, at)
		}
	}

	// 100 deliveries, two of them repeats: more rows than one statement
	// writes.
	many := make([]store.JiraDelivery, 100)
	for i := range many {
		many[i] = delivery(b.ID, fmt.Sprintf("many-%d", i%98), exp)
	}
	must(t, s.AddJiraDeliveries(ctx, many))
	stored := map[int64]bool{}
	for i, d := range many {
		if (d.ID == 0) != (i >= 98) {
			t.Fatalf("delivery %d of 100 has ID %d", i, d.ID)
		}
		if d.ID != 0 {
			stored[d.ID] = true
		}
	}
	got, err = s.GetJiraDeliveries(ctx, deliveryIDs(many[:98]))
	must(t, err)
	if len(got) != 98 || len(stored) != 98 {
		t.Fatalf("read %d of 98 stored deliveries (%d distinct IDs)", len(got), len(stored))
	}
	for i, d := range got {
		if d.DedupKey != fmt.Sprintf("many-%d", i) {
			t.Fatalf("delivery %d = %q, want them in the order stored", i, d.DedupKey)
		}
	}
	if err := s.AddJiraDeliveries(ctx, []store.JiraDelivery{{JiraServerID: a.ID, DedupKey: "no-expiry"}}); err == nil {
		t.Fatal("a delivery without an expiry was stored")
	}
}

// testJiraDeliveriesInTx: deliveries stored in a transaction that rolls
// back are not stored, and a repeat inside a transaction leaves it usable.
func testJiraDeliveriesInTx(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	a := createServer(t, s, "https://a.example")
	exp := clk.Now().Add(time.Hour)
	must(t, s.AddJiraDeliveries(ctx, []store.JiraDelivery{delivery(a.ID, "k1", exp)}))
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Tx) error {
		must(t, tx.AddJiraDeliveries(ctx, []store.JiraDelivery{delivery(a.ID, "rolled-back", exp)}))
		return boom
	})
	wantErr(t, err, boom)
	ds := []store.JiraDelivery{delivery(a.ID, "rolled-back", exp), delivery(a.ID, "k1", exp)}
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.AddJiraDeliveries(ctx, ds); err != nil {
			return err
		}
		return tx.PutWorkspace(ctx, store.Workspace{GID: "after", Name: "after"})
	}))
	if ds[0].ID == 0 || ds[1].ID != 0 {
		t.Fatalf("IDs = %v, want the rolled-back key stored now and k1 a repeat", deliveryIDs(ds))
	}
	if _, err := s.GetWorkspace(ctx, "after"); err != nil {
		t.Fatalf("the write after a repeated delivery was not committed: %v", err)
	}
}

// testJiraDeliveriesRetention: DeleteExpired removes applied deliveries
// once expired, and unapplied ones only a week later.
func testJiraDeliveriesRetention(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	a := createServer(t, s, "https://a.example")
	now := clk.Now()
	ds := []store.JiraDelivery{
		delivery(a.ID, "applied-expired", now.Add(time.Hour)),
		delivery(a.ID, "applied-live", now.Add(3*time.Hour)),
		delivery(a.ID, "pending-expired", now.Add(time.Hour)),
	}
	must(t, s.AddJiraDeliveries(ctx, ds))
	must(t, s.MarkJiraDeliveriesApplied(ctx, []int64{ds[0].ID, ds[1].ID}, now))
	remaining := func() []string {
		got, err := s.GetJiraDeliveries(ctx, deliveryIDs(ds))
		must(t, err)
		var keys []string
		for _, d := range got {
			keys = append(keys, d.DedupKey)
		}
		return keys
	}
	_, err := s.DeleteExpired(ctx, now.Add(2*time.Hour))
	must(t, err)
	if diff := cmp.Diff([]string{"applied-live", "pending-expired"}, remaining()); diff != "" {
		t.Fatalf("after expiry (-want +got):\n%s", diff)
	}
	// Once the key is gone, the same change is a new delivery again.
	again := []store.JiraDelivery{delivery(a.ID, "applied-expired", now.Add(48*time.Hour))}
	must(t, s.AddJiraDeliveries(ctx, again))
	if again[0].ID == 0 {
		t.Fatal("a delivery whose key expired and was removed is taken for a duplicate")
	}
	_, err = s.DeleteExpired(ctx, now.Add(8*24*time.Hour))
	must(t, err)
	if got := remaining(); len(got) != 0 {
		t.Fatalf("a week after expiry %v remain, want none", got)
	}
}

// testNextJiraDeliveryIDs: the deliveries after an id are the server's
// unapplied ones above it, in id order, up to the limit.
func testNextJiraDeliveryIDs(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	a, b := createServer(t, s, "https://a.example"), createServer(t, s, "https://b.example")
	exp := clk.Now().Add(48 * time.Hour)
	ds := []store.JiraDelivery{delivery(a.ID, "k0", exp), delivery(a.ID, "k1", exp), delivery(b.ID, "k2", exp),
		delivery(a.ID, "k3", exp), delivery(a.ID, "k4", exp), delivery(a.ID, "k5", exp)}
	must(t, s.AddJiraDeliveries(ctx, ds))
	must(t, s.MarkJiraDeliveriesApplied(ctx, []int64{ds[3].ID}, clk.Now()))
	keyOf := map[int64]string{}
	for _, d := range ds {
		keyOf[d.ID] = d.DedupKey
	}
	keys := func(after int64, limit int) []string {
		ids, err := s.NextJiraDeliveryIDs(ctx, a.ID, after, limit)
		must(t, err)
		var keys []string
		for _, id := range ids {
			keys = append(keys, keyOf[id])
		}
		return keys
	}
	if diff := cmp.Diff([]string{"k1", "k4", "k5"}, keys(ds[0].ID, 10)); diff != "" {
		t.Errorf("after k0 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"k1", "k4"}, keys(ds[0].ID, 2)); diff != "" {
		t.Errorf("two after k0 (-want +got):\n%s", diff)
	}
	if got := keys(ds[5].ID, 10); len(got) != 0 {
		t.Errorf("after the last: %v, want none", got)
	}
}
