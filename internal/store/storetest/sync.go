package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// syncTests cover the records of migration 005, the sync engine's state.
var syncTests = map[string]func(t *testing.T, newStore NewStore){
	"SyncSettings":          testSyncSettings,
	"SyncChanges":           testSyncChanges,
	"SyncChangeInsideTx":    testSyncChangeInsideTx,
	"SyncChangeOneRecorded": testSyncChangeOneRecorded,
	"SyncLease":             testSyncLease,
	"SyncLeaseOneHolder":    testSyncLeaseOneHolder,
	"SyncComments":          testSyncComments,
	"SyncAttachments":       testSyncAttachments,
	"SyncHistoryAndCursors": testSyncHistoryAndCursors,
	"SyncCascade":           testSyncCascade,
}

// syncBed is a server, a workspace connected to it and one link.
func syncBed(t *testing.T, s store.Store) (store.JiraServer, store.Link) {
	t.Helper()
	ctx := t.Context()
	j := createServer(t, s, "https://sync.example")
	must(t, s.PutWorkspace(ctx, store.Workspace{GID: "w1", Name: "Acme"}))
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "w1", JiraServerID: j.ID, IsDefault: true}))
	l := store.Link{WorkspaceGID: "w1", TaskGID: "t1", JiraServerID: j.ID, IssueID: "10001", IssueKey: "DEMO-1", CreatedBy: "u1"}
	must(t, s.CreateLink(ctx, &l))
	return j, l
}

func testSyncSettings(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j, l := syncBed(t, s)

	_, err := s.GetSyncSettings(ctx, "w1", j.ID)
	wantErr(t, err, store.ErrNotFound)
	// Settings belong to a connection.
	wantErr(t, s.PutSyncSettings(ctx, store.SyncSettings{WorkspaceGID: "w-none", JiraServerID: j.ID, Enabled: true}), store.ErrNotFound)

	want := store.SyncSettings{WorkspaceGID: "w1", JiraServerID: j.ID, Enabled: true, Comments: true, Completion: false,
		DoneTransition: "Close", ReopenTransition: "Reopen", UpdatedBy: "admin"}
	must(t, s.PutSyncSettings(ctx, want))
	got, err := s.GetSyncSettings(ctx, "w1", j.ID)
	must(t, err)
	ignore := cmpopts.IgnoreFields(store.SyncSettings{}, "UpdatedAt", "EnabledAt")
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Fatalf("settings (-want +got):\n%s", diff)
	}
	if got.UpdatedAt.IsZero() || !got.EnabledAt.Equal(clk.Now().Truncate(time.Microsecond)) {
		t.Errorf("UpdatedAt %v, EnabledAt %v; want both now", got.UpdatedAt, got.EnabledAt)
	}
	enabledAt := got.EnabledAt
	// Saving again while on keeps the time sync was switched on.
	clk.Add(time.Minute)
	must(t, s.PutSyncSettings(ctx, want))
	if got, err = s.GetSyncSettings(ctx, "w1", j.ID); err != nil || !got.EnabledAt.Equal(enabledAt) {
		t.Fatalf("EnabledAt after saving again = %v, %v; want %v", got.EnabledAt, err, enabledAt)
	}
	gotLink, err := s.GetLink(ctx, l.ID)
	must(t, err)
	if gotLink.IssueKey != "DEMO-1" || gotLink.CreatedBy != "u1" {
		t.Fatalf("GetLink = %+v", gotLink)
	}
	_, err = s.GetLink(ctx, 999999)
	wantErr(t, err, store.ErrNotFound)
	synced, err := s.ListSyncedLinks(ctx, j.ID)
	must(t, err)
	if len(synced) != 1 || synced[0].ID != l.ID {
		t.Fatalf("ListSyncedLinks = %+v, want the link", synced)
	}

	want.Enabled, want.Completion, want.DoneTransition = false, true, ""
	must(t, s.PutSyncSettings(ctx, want))
	// Switched on again later: a new EnabledAt.
	clk.Add(time.Minute)
	on := want
	on.Enabled = true
	must(t, s.PutSyncSettings(ctx, on))
	if got, err = s.GetSyncSettings(ctx, "w1", j.ID); err != nil || !got.EnabledAt.Equal(clk.Now().Truncate(time.Microsecond)) {
		t.Fatalf("EnabledAt after switching on again = %v, %v; want now", got.EnabledAt, err)
	}
	must(t, s.PutSyncSettings(ctx, want))
	all, err := s.ListSyncSettings(ctx)
	must(t, err)
	if diff := cmp.Diff([]store.SyncSettings{want}, all, ignore); diff != "" {
		t.Fatalf("ListSyncSettings (-want +got):\n%s", diff)
	}
	synced, err = s.ListSyncedLinks(ctx, j.ID)
	must(t, err)
	if len(synced) != 0 {
		t.Fatalf("ListSyncedLinks with sync off = %+v, want none", synced)
	}

	// Ending the connection ends its settings.
	must(t, s.DeleteConnection(ctx, "w1", j.ID))
	_, err = s.GetSyncSettings(ctx, "w1", j.ID)
	wantErr(t, err, store.ErrNotFound)
}

var ignoreChangeTimes = cmpopts.IgnoreFields(store.SyncChange{}, "ReceivedAt", "AppliedAt")

func testSyncChanges(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	_, l := syncBed(t, s)

	observed := clk.Now().Add(-time.Minute).UTC()
	first := store.SyncChange{LinkID: l.ID, Side: store.SideJira, Source: "webhook", DedupKey: "comment:10", Kind: "comment",
		Object: "10", Actor: "bob", Detail: "comment_created", ObservedAt: observed}
	ok, err := s.RecordSyncChange(ctx, &first)
	must(t, err)
	if !ok || first.ID == 0 || first.ReceivedAt.IsZero() {
		t.Fatalf("first record: ok=%v id=%d received=%v", ok, first.ID, first.ReceivedAt)
	}
	// The same delivery again is not recorded twice; the other side's
	// change with the same key is another change.
	dup := first
	dup.ID, dup.Source = 0, "reconcile"
	ok, err = s.RecordSyncChange(ctx, &dup)
	must(t, err)
	if ok || dup.ID != 0 {
		t.Fatalf("duplicate record: ok=%v id=%d, want not recorded", ok, dup.ID)
	}
	second := store.SyncChange{LinkID: l.ID, Side: store.SideAsana, Source: "events", DedupKey: "comment:10", Kind: "comment"}
	ok, err = s.RecordSyncChange(ctx, &second)
	must(t, err)
	if !ok {
		t.Fatal("a change of the other side with the same key was not recorded")
	}
	invalid := map[string]store.SyncChange{
		"no link":  {Side: store.SideJira, Source: "webhook", DedupKey: "x", Kind: "comment"},
		"bad side": {LinkID: l.ID, Side: "github", Source: "webhook", DedupKey: "x", Kind: "comment"},
		"no key":   {LinkID: l.ID, Side: store.SideJira, Source: "webhook", Kind: "comment"},
		"no kind":  {LinkID: l.ID, Side: store.SideJira, Source: "webhook", DedupKey: "x"},
	}
	for name, c := range invalid {
		if _, err := s.RecordSyncChange(ctx, &c); err == nil {
			t.Errorf("%s: recorded, want an error", name)
		}
	}
	missing := store.SyncChange{LinkID: 999999, Side: store.SideJira, Source: "webhook", DedupKey: "x", Kind: "comment"}
	_, err = s.RecordSyncChange(ctx, &missing)
	wantErr(t, err, store.ErrNotFound)

	// What was observed of a side, by the sources asked about, and when.
	for name, tc := range map[string]struct {
		side    string
		at      time.Time
		sources []string
		want    bool
	}{
		"at the time":          {store.SideJira, observed, []string{"webhook"}, true},
		"earlier":              {store.SideJira, observed.Add(-time.Second), []string{"reconcile", "webhook"}, true},
		"a microsecond after":  {store.SideJira, observed.Add(time.Microsecond), []string{"webhook"}, false},
		"another source":       {store.SideJira, observed, []string{"reconcile"}, false},
		"the other side":       {store.SideAsana, observed.Add(-time.Hour), []string{"events", "webhook"}, false},
		"in another time zone": {store.SideJira, observed.In(time.FixedZone("AEDT", 11*3600)), []string{"webhook"}, true},
	} {
		got, err := s.SyncChangeObservedSince(ctx, l.ID, tc.side, tc.at, tc.sources...)
		if err != nil || got != tc.want {
			t.Errorf("SyncChangeObservedSince %s = %v, %v; want %v", name, got, err, tc.want)
		}
	}

	pending, err := s.PendingSyncChanges(ctx, l.ID, 0)
	must(t, err)
	if diff := cmp.Diff([]store.SyncChange{first, second}, pending, ignoreChangeTimes); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	if !pending[0].ObservedAt.Equal(observed.Truncate(time.Microsecond)) || !pending[1].ObservedAt.IsZero() {
		t.Errorf("observed times = %v, %v", pending[0].ObservedAt, pending[1].ObservedAt)
	}
	if one, err := s.PendingSyncChanges(ctx, l.ID, 1); err != nil || len(one) != 1 || one[0].ID != first.ID {
		t.Fatalf("PendingSyncChanges limit 1 = %+v, %v", one, err)
	}

	clk.Add(time.Second)
	must(t, s.FinishSyncChange(ctx, first.ID, "applied", ""))
	must(t, s.FinishSyncChange(ctx, second.ID, "error", "no transition"))
	wantErr(t, s.FinishSyncChange(ctx, 999999, "applied", ""), store.ErrNotFound)
	pending, err = s.PendingSyncChanges(ctx, l.ID, 0)
	must(t, err)
	if len(pending) != 0 {
		t.Fatalf("pending after finishing = %+v", pending)
	}
	listed, err := s.ListSyncChanges(ctx, store.SyncChangeFilter{LinkID: l.ID})
	must(t, err)
	if len(listed) != 2 || listed[0].ID != second.ID || listed[0].Outcome != "error" || listed[0].Error != "no transition" ||
		listed[1].Outcome != "applied" || listed[1].AppliedAt.IsZero() {
		t.Fatalf("ListSyncChanges = %+v", listed)
	}
	older, err := s.ListSyncChanges(ctx, store.SyncChangeFilter{LinkID: l.ID, BeforeID: second.ID})
	must(t, err)
	if len(older) != 1 || older[0].ID != first.ID {
		t.Fatalf("ListSyncChanges before %d = %+v", second.ID, older)
	}

	// Pruning removes applied changes older than the cut, never pending ones.
	third := store.SyncChange{LinkID: l.ID, Side: store.SideJira, Source: "webhook", DedupKey: "k3", Kind: "issue"}
	_, err = s.RecordSyncChange(ctx, &third)
	must(t, err)
	n, err := s.PruneSyncChanges(ctx, clk.Now().Add(time.Hour))
	must(t, err)
	if n != 2 {
		t.Fatalf("pruned %d changes, want 2", n)
	}
	pending, err = s.PendingSyncChanges(ctx, l.ID, 0)
	must(t, err)
	if len(pending) != 1 || pending[0].ID != third.ID {
		t.Fatalf("pending after pruning = %+v", pending)
	}
}

// testSyncChangeInsideTx: a duplicate change inside InTx leaves the
// transaction usable (an intake records it in the transaction that enqueues
// the sync job).
func testSyncChangeInsideTx(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	_, l := syncBed(t, s)
	c := store.SyncChange{LinkID: l.ID, Side: store.SideJira, Source: "webhook", DedupKey: "d1", Kind: "issue"}
	_, err := s.RecordSyncChange(ctx, &c)
	must(t, err)
	err = s.InTx(ctx, func(tx store.Tx) error {
		dup := c
		ok, err := tx.RecordSyncChange(ctx, &dup)
		if err != nil || ok {
			return fmt.Errorf("duplicate inside the transaction: ok=%v err=%w", ok, err)
		}
		return tx.PutWorkspace(ctx, store.Workspace{GID: "after-dup", Name: "x"})
	})
	if err != nil {
		t.Fatalf("InTx after a duplicate change = %v, want the commit to succeed", err)
	}
	if _, err := s.GetWorkspace(ctx, "after-dup"); err != nil {
		t.Fatalf("the write after the duplicate was not committed: %v", err)
	}
}

func testSyncChangeOneRecorded(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	_, l := syncBed(t, s)
	won := winners(t, 8, func(int) (bool, error) {
		c := store.SyncChange{LinkID: l.ID, Side: store.SideAsana, Source: "events", DedupKey: "event-1", Kind: "comment"}
		return s.RecordSyncChange(t.Context(), &c)
	})
	if len(won) != 1 {
		t.Fatalf("%d of 8 deliveries of one change were recorded, want 1", len(won))
	}
}

func testSyncLease(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	_, l := syncBed(t, s)

	_, err := s.GetSyncLinkState(ctx, l.ID)
	wantErr(t, err, store.ErrNotFound)
	st, err := s.AcquireSyncLease(ctx, l.ID, "run-a", 30*time.Second)
	must(t, err)
	if st.LeaseOwner != "run-a" || !st.LeaseUntil.Equal(clk.Now().Add(30*time.Second).Truncate(time.Microsecond)) ||
		!st.BaselineAt.IsZero() || st.AsanaCompleted != nil || st.JiraDone != nil {
		t.Fatalf("new state = %+v", st)
	}
	held, err := s.AcquireSyncLease(ctx, l.ID, "run-b", 30*time.Second)
	wantErr(t, err, store.ErrConflict)
	if held.LeaseOwner != "run-a" {
		t.Fatalf("state returned with the conflict = %+v", held)
	}

	// The holder renews; the state it saves is kept.
	clk.Add(20 * time.Second)
	_, err = s.AcquireSyncLease(ctx, l.ID, "run-a", 30*time.Second)
	must(t, err)
	yes, no := true, false
	saved := st
	saved.BaselineAt, saved.AsanaCompleted, saved.JiraDone, saved.JiraWritten = clk.Now(), &yes, &no, true
	saved.LastSyncedAt, saved.LastError, saved.LastErrorAt = clk.Now(), "no transition to Done", clk.Now()
	must(t, s.SaveSyncLinkState(ctx, saved, "run-a"))
	wantErr(t, s.SaveSyncLinkState(ctx, saved, "run-b"), store.ErrConflict)

	clk.Add(20 * time.Second) // within the renewed lease
	_, err = s.AcquireSyncLease(ctx, l.ID, "run-b", 30*time.Second)
	wantErr(t, err, store.ErrConflict)
	clk.Add(11 * time.Second) // past it
	got, err := s.AcquireSyncLease(ctx, l.ID, "run-b", 30*time.Second)
	must(t, err)
	want := saved
	want.LeaseOwner, want.LeaseUntil = "run-b", clk.Now().Add(30*time.Second)
	opts := cmp.Options{cmpopts.IgnoreFields(store.SyncLinkState{}, "UpdatedAt"), cmpopts.EquateApproxTime(time.Microsecond)}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Fatalf("state taken over (-want +got):\n%s", diff)
	}
	// The previous holder's lease is gone: it may not save.
	wantErr(t, s.SaveSyncLinkState(ctx, saved, "run-a"), store.ErrConflict)
	// Releasing someone else's lease does nothing; releasing one's own
	// frees the link at once.
	must(t, s.ReleaseSyncLease(ctx, l.ID, "run-a"))
	_, err = s.AcquireSyncLease(ctx, l.ID, "run-c", 30*time.Second)
	wantErr(t, err, store.ErrConflict)
	must(t, s.ReleaseSyncLease(ctx, l.ID, "run-b"))
	_, err = s.AcquireSyncLease(ctx, l.ID, "run-c", 30*time.Second)
	must(t, err)
	got, err = s.GetSyncLinkState(ctx, l.ID)
	must(t, err)
	if got.LastError != "no transition to Done" || got.JiraDone == nil || *got.JiraDone || !got.JiraWritten {
		t.Fatalf("state after the leases changed hands = %+v", got)
	}
	_, err = s.AcquireSyncLease(ctx, 999999, "run-x", time.Second)
	wantErr(t, err, store.ErrNotFound)
}

func testSyncLeaseOneHolder(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	_, l := syncBed(t, s)
	won := winners(t, 8, func(i int) (bool, error) {
		_, err := s.AcquireSyncLease(t.Context(), l.ID, fmt.Sprintf("run-%d", i), time.Minute)
		if err != nil && !isConflict(err) {
			return false, err
		}
		return err == nil, nil
	})
	if len(won) != 1 {
		t.Fatalf("%d of 8 runs took the lease at once, want 1", len(won))
	}
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

func testSyncComments(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	_, l := syncBed(t, s)

	mirrored := store.SyncComment{LinkID: l.ID, JiraCommentID: "10", AsanaStoryGID: "s10", Origin: store.OriginJira,
		State: store.SyncCommentSynced, JiraHash: "jh", AsanaHash: "ah", Author: "bob", WrittenBy: "u1", Prefix: "Bob in Jira:"}
	must(t, s.InsertSyncComment(ctx, &mirrored))
	// Comments that existed before sync are mapped on one side only; many
	// may be.
	for _, c := range []store.SyncComment{
		{LinkID: l.ID, JiraCommentID: "7", Origin: store.OriginBaseline, State: store.SyncCommentIgnored},
		{LinkID: l.ID, AsanaStoryGID: "s7", Origin: store.OriginBaseline, State: store.SyncCommentIgnored},
		{LinkID: l.ID, AsanaStoryGID: "s8", Origin: store.OriginBaseline, State: store.SyncCommentIgnored},
	} {
		must(t, s.InsertSyncComment(ctx, &c))
	}
	for name, dup := range map[string]store.SyncComment{
		"jira comment mapped": {LinkID: l.ID, JiraCommentID: "10", AsanaStoryGID: "s99", Origin: store.OriginJira},
		"story mapped":        {LinkID: l.ID, JiraCommentID: "99", AsanaStoryGID: "s10", Origin: store.OriginAsana},
		"baseline story":      {LinkID: l.ID, AsanaStoryGID: "s7", Origin: store.OriginBaseline},
	} {
		if err := s.InsertSyncComment(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: err = %v, want ErrConflict", name, err)
		}
	}
	if err := s.InsertSyncComment(ctx, &store.SyncComment{LinkID: l.ID, Origin: store.OriginJira}); err == nil {
		t.Error("a mapping without either side was stored")
	}
	// The transaction stays usable after a conflict.
	err := s.InTx(ctx, func(tx store.Tx) error {
		dup := mirrored
		wantErr(t, tx.InsertSyncComment(ctx, &dup), store.ErrConflict)
		return tx.AppendSyncHistory(ctx, store.SyncHistory{LinkID: l.ID, What: "after-conflict"})
	})
	must(t, err)

	mirrored.State, mirrored.JiraHash = store.SyncCommentDeleted, "jh2"
	must(t, s.UpdateSyncComment(ctx, mirrored))
	wantErr(t, s.UpdateSyncComment(ctx, store.SyncComment{ID: 999999}), store.ErrNotFound)
	all, err := s.ListSyncComments(ctx, l.ID)
	must(t, err)
	if len(all) != 4 {
		t.Fatalf("ListSyncComments = %d rows, want 4", len(all))
	}
	if diff := cmp.Diff(mirrored, all[0], cmpopts.IgnoreFields(store.SyncComment{}, "CreatedAt", "UpdatedAt")); diff != "" {
		t.Fatalf("mirrored comment (-want +got):\n%s", diff)
	}
}

func testSyncAttachments(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	_, l := syncBed(t, s)
	want := []store.SyncAttachment{
		{LinkID: l.ID, JiraAttachmentID: "100", AsanaAttachmentGID: "a1", Origin: store.AttachmentFromJira},
		{LinkID: l.ID, JiraAttachmentID: "101", AsanaAttachmentGID: "a2", Origin: store.AttachmentFromAsana},
		// Skipped ones have no Asana side; many may be.
		{LinkID: l.ID, JiraAttachmentID: "102", Origin: store.AttachmentSkipped},
		{LinkID: l.ID, JiraAttachmentID: "103", Origin: store.AttachmentSkipped},
	}
	for i := range want {
		must(t, s.InsertSyncAttachment(ctx, &want[i]))
	}
	err := s.InTx(ctx, func(tx store.Tx) error {
		dup := store.SyncAttachment{LinkID: l.ID, JiraAttachmentID: "100", AsanaAttachmentGID: "a9", Origin: store.AttachmentFromJira}
		wantErr(t, tx.InsertSyncAttachment(ctx, &dup), store.ErrConflict)
		// The transaction stays usable after a conflict.
		return tx.AppendSyncHistory(ctx, store.SyncHistory{LinkID: l.ID, What: "after-conflict"})
	})
	must(t, err)
	if err := s.InsertSyncAttachment(ctx, &store.SyncAttachment{LinkID: l.ID, Origin: store.AttachmentFromJira}); err == nil {
		t.Error("a mapping without a Jira attachment was stored")
	}
	got, err := s.ListSyncAttachments(ctx, l.ID)
	must(t, err)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.SyncAttachment{}, "CreatedAt")); diff != "" {
		t.Fatalf("ListSyncAttachments (-want +got):\n%s", diff)
	}
	must(t, s.DeleteLink(ctx, l.ID))
	if got, err := s.ListSyncAttachments(ctx, l.ID); err != nil || len(got) != 0 {
		t.Errorf("after the link was deleted: %v, %v", got, err)
	}
}

func testSyncHistoryAndCursors(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	_, l := syncBed(t, s)
	for i := range 3 {
		must(t, s.AppendSyncHistory(ctx, store.SyncHistory{LinkID: l.ID, Direction: "jira_to_asana",
			What: fmt.Sprintf("comment.created %d", i), Actor: "bob", Detail: "10"}))
		clk.Add(time.Second)
	}
	hs, err := s.ListSyncHistory(ctx, l.ID, 2)
	must(t, err)
	if len(hs) != 2 || hs[0].What != "comment.created 2" || hs[1].What != "comment.created 1" || hs[0].At.IsZero() ||
		hs[0].Direction != "jira_to_asana" || hs[0].Actor != "bob" {
		t.Fatalf("ListSyncHistory = %+v", hs)
	}

	_, err = s.GetSyncCursor(ctx, "jira-reconcile:js_1")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.PutSyncCursor(ctx, "jira-reconcile:js_1", "2026-05-04T10:00:00Z"))
	must(t, s.PutSyncCursor(ctx, "jira-reconcile:js_1", "2026-05-04T10:05:00Z"))
	v, err := s.GetSyncCursor(ctx, "jira-reconcile:js_1")
	must(t, err)
	if v != "2026-05-04T10:05:00Z" {
		t.Fatalf("cursor = %q", v)
	}
}

// testSyncCascade: a link's sync records go with it.
func testSyncCascade(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	_, l := syncBed(t, s)
	c := store.SyncChange{LinkID: l.ID, Side: store.SideJira, Source: "webhook", DedupKey: "d", Kind: "issue"}
	_, err := s.RecordSyncChange(ctx, &c)
	must(t, err)
	_, err = s.AcquireSyncLease(ctx, l.ID, "run", time.Minute)
	must(t, err)
	must(t, s.InsertSyncComment(ctx, &store.SyncComment{LinkID: l.ID, JiraCommentID: "1", Origin: store.OriginBaseline, State: store.SyncCommentIgnored}))
	must(t, s.AppendSyncHistory(ctx, store.SyncHistory{LinkID: l.ID, What: "x"}))

	must(t, s.DeleteLink(ctx, l.ID))
	_, err = s.GetSyncLinkState(ctx, l.ID)
	wantErr(t, err, store.ErrNotFound)
	for name, n := range map[string]func() (int, error){
		"changes":  func() (int, error) { r, err := s.PendingSyncChanges(ctx, l.ID, 0); return len(r), err },
		"comments": func() (int, error) { r, err := s.ListSyncComments(ctx, l.ID); return len(r), err },
		"history":  func() (int, error) { r, err := s.ListSyncHistory(ctx, l.ID, 0); return len(r), err },
	} {
		got, err := n()
		must(t, err)
		if got != 0 {
			t.Errorf("%s of a deleted link: %d rows left", name, got)
		}
	}
}
