package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// syncStatusTests cover the console's reads of a connection's sync state.
var syncStatusTests = map[string]func(t *testing.T, newStore NewStore){
	"SyncConnectionStatus": testSyncConnectionStatus,
	"SyncLinkErrors":       testSyncLinkErrors,
	"SyncStatusCapped":     testSyncStatusCapped,
}

// linkError leaves a link showing a sync error, as a run does.
func linkError(t *testing.T, s store.Store, linkID int64, msg string, at time.Time) {
	t.Helper()
	st, err := s.AcquireSyncLease(t.Context(), linkID, "run", time.Minute)
	must(t, err)
	st.LastSyncedAt, st.LastError, st.LastErrorAt = at, msg, at
	must(t, s.SaveSyncLinkState(t.Context(), st, "run"))
	must(t, s.ReleaseSyncLease(t.Context(), linkID, "run"))
}

func testSyncConnectionStatus(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j, l := syncBed(t, s)

	// Nothing yet.
	got, err := s.SyncConnectionStatus(ctx, "w1", j.ID, "resync")
	must(t, err)
	if diff := cmp.Diff(store.SyncConnectionStatus{Links: 1}, got); diff != "" {
		t.Fatalf("status of a quiet connection (-want +got):\n%s", diff)
	}

	// A second link of the connection, and one of another connection whose
	// changes must not count.
	l2 := store.Link{WorkspaceGID: "w1", TaskGID: "t2", JiraServerID: j.ID, IssueID: "10002", IssueKey: "DEMO-2", CreatedBy: "u1"}
	must(t, s.CreateLink(ctx, &l2))
	other := createServer(t, s, "https://other.example")
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "w1", JiraServerID: other.ID}))
	lo := store.Link{WorkspaceGID: "w1", TaskGID: "t3", JiraServerID: other.ID, IssueID: "1", IssueKey: "OTH-1", CreatedBy: "u1"}
	must(t, s.CreateLink(ctx, &lo))

	t0 := clk.Now()
	record := func(link int64, side, key, kind string, observed time.Time) store.SyncChange {
		t.Helper()
		c := store.SyncChange{LinkID: link, Side: side, Source: "webhook", DedupKey: key, Kind: kind, ObservedAt: observed}
		ok, err := s.RecordSyncChange(ctx, &c)
		must(t, err)
		if !ok {
			t.Fatalf("change %s not recorded", key)
		}
		clk.Add(time.Second)
		return c
	}
	jOld := record(l.ID, store.SideJira, "j1", "comment", t0.Add(-time.Minute))
	record(l2.ID, store.SideJira, "j2", "completion", time.Time{})
	jApplied := record(l.ID, store.SideJira, "j3", "comment", t0)
	record(lo.ID, store.SideJira, "o1", "comment", t0.Add(-time.Hour))
	aOld := record(l2.ID, store.SideAsana, "a1", "comment", t0)
	aLast := record(l.ID, store.SideAsana, "a2", "completion", t0)
	record(l.ID, store.SideAsana, "r1", "resync", time.Time{})
	must(t, s.FinishSyncChange(ctx, jApplied.ID, "applied", ""))
	must(t, s.FinishSyncChange(ctx, aOld.ID, "applied", ""))
	linkError(t, s, l2.ID, "no transition to Done", t0.Add(time.Hour))
	linkError(t, s, lo.ID, "elsewhere", t0.Add(2*time.Hour))

	got, err = s.SyncConnectionStatus(ctx, "w1", j.ID, "resync")
	must(t, err)
	// The latest Jira change is the applied one (j3 after j2); the
	// latest Asana event is a2, the resync request after it aside.
	wantJiraLast, err := s.ListSyncChanges(ctx, store.SyncChangeFilter{LinkID: l.ID, Limit: 10})
	must(t, err)
	var j3 store.SyncChange
	for _, c := range wantJiraLast {
		if c.DedupKey == "j3" {
			j3 = c
		}
	}
	want := store.SyncConnectionStatus{Links: 2, Errors: 1, LastSyncedAt: t0.Add(time.Hour),
		Jira:  store.SyncSideStatus{Pending: 2, Oldest: jOld, Last: j3},
		Asana: store.SyncSideStatus{Pending: 2, Oldest: aLast, Last: aLast},
	}
	opts := cmp.Options{cmpopts.EquateApproxTime(time.Microsecond)}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Fatalf("status (-want +got):\n%s", diff)
	}
	if got.Jira.Last.AppliedAt.IsZero() || got.Jira.Last.Outcome != "applied" {
		t.Errorf("the last Jira change lacks its outcome: %+v", got.Jira.Last)
	}

	// Another workspace's view of the same server is empty.
	got, err = s.SyncConnectionStatus(ctx, "w-none", j.ID, "resync")
	must(t, err)
	if diff := cmp.Diff(store.SyncConnectionStatus{}, got); diff != "" {
		t.Fatalf("status of no connection (-want +got):\n%s", diff)
	}

	// The links alone, counted the same way.
	for _, tc := range []struct {
		workspace, server string
		want              int
	}{{"w1", j.ID, 2}, {"w1", other.ID, 1}, {"w-none", j.ID, 0}} {
		if n, err := s.CountConnectionLinks(ctx, tc.workspace, tc.server); err != nil || n != tc.want {
			t.Errorf("CountConnectionLinks(%s, %s) = %d, %v; want %d", tc.workspace, tc.server, n, err, tc.want)
		}
	}
}

func testSyncLinkErrors(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j, l := syncBed(t, s)
	errs, err := s.ListSyncLinkErrors(ctx, "w1", j.ID, 10)
	must(t, err)
	if len(errs) != 0 {
		t.Fatalf("errors of a fresh connection: %+v", errs)
	}
	var links []store.Link
	for i, key := range []string{"DEMO-2", "DEMO-3", "DEMO-4"} {
		li := store.Link{WorkspaceGID: "w1", TaskGID: "t" + key, JiraServerID: j.ID, IssueID: key, IssueKey: key, CreatedBy: "u1"}
		must(t, s.CreateLink(ctx, &li))
		links = append(links, li)
		linkError(t, s, li.ID, "error of "+key, clk.Now().Add(time.Duration(i)*time.Minute))
	}
	// A link that synced without an error is not listed.
	linkError(t, s, l.ID, "", clk.Now())

	errs, err = s.ListSyncLinkErrors(ctx, "w1", j.ID, 2)
	must(t, err)
	want := []store.SyncLinkError{
		{Link: links[2], Error: "error of DEMO-4", ErrorAt: clk.Now().Add(2 * time.Minute)},
		{Link: links[1], Error: "error of DEMO-3", ErrorAt: clk.Now().Add(time.Minute)},
	}
	if diff := cmp.Diff(want, errs, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Fatalf("link errors (-want +got):\n%s", diff)
	}
}

// testSyncStatusCapped: a count of SyncConnectionStatus stops one past
// SyncStatusCountCap, so a row reads a bounded range whatever the backlog;
// the oldest change waiting is still the oldest.
func testSyncStatusCapped(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j, l := syncBed(t, s)
	var first store.SyncChange
	err := s.InTx(ctx, func(tx store.Tx) error {
		for i := range store.SyncStatusCountCap + 5 {
			c := store.SyncChange{LinkID: l.ID, Side: store.SideJira, Source: "reconcile", DedupKey: fmt.Sprintf("k%d", i), Kind: "issue"}
			if _, err := tx.RecordSyncChange(ctx, &c); err != nil {
				return err
			}
			if i == 0 {
				first = c
			}
		}
		return nil
	})
	must(t, err)
	got, err := s.SyncConnectionStatus(ctx, "w1", j.ID, "resync")
	must(t, err)
	if got.Jira.Pending != store.SyncStatusCountCap+1 || got.Jira.Oldest.ID != first.ID || got.Asana.Pending != 0 {
		t.Errorf("status of a backlog of %d: %+v; want %d pending from Jira, the oldest %d", store.SyncStatusCountCap+5, got,
			store.SyncStatusCountCap+1, first.ID)
	}
}
