package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asanajira/asanajira/internal/store"
)

// widgetTests cover the widget's reads.
var widgetTests = map[string]func(t *testing.T, newStore NewStore){
	"IssueSyncStatus": testIssueSyncStatus,
}

// GetIssueSyncStatus follows the link, its connection's settings and its
// sync state.
func testIssueSyncStatus(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j, l := syncBed(t, s)
	_, err := s.GetIssueSyncStatus(ctx, j.ID, "99999")
	wantErr(t, err, store.ErrNotFound)

	settings := store.SyncSettings{WorkspaceGID: "w1", JiraServerID: j.ID, Enabled: true, Comments: true}
	steps := []struct {
		name   string
		change func()
		want   store.IssueSyncStatus
	}{
		{"no settings", func() {}, store.IssueSyncStatus{LinkID: l.ID}},
		{"sync on, never synced", func() { must(t, s.PutSyncSettings(ctx, settings)) }, store.IssueSyncStatus{LinkID: l.ID, Enabled: true}},
		{"synced with an error", func() {
			st, err := s.AcquireSyncLease(ctx, l.ID, "run", time.Minute)
			must(t, err)
			st.LastSyncedAt, st.LastError = clk.Now(), "no transition to Done"
			must(t, s.SaveSyncLinkState(ctx, st, "run"))
		}, store.IssueSyncStatus{LinkID: l.ID, Enabled: true, LastSyncedAt: clk.Now().Truncate(time.Microsecond), LastError: "no transition to Done"}},
		{"sync off", func() {
			off := settings
			off.Enabled = false
			must(t, s.PutSyncSettings(ctx, off))
		}, store.IssueSyncStatus{LinkID: l.ID, LastSyncedAt: clk.Now().Truncate(time.Microsecond), LastError: "no transition to Done"}},
	}
	for _, step := range steps {
		step.change()
		got, err := s.GetIssueSyncStatus(ctx, j.ID, l.IssueID)
		must(t, err)
		if diff := cmp.Diff(step.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("%s (-want +got):\n%s", step.name, diff)
		}
	}
}
