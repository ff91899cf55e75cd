package storetest

import (
	"testing"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fieldMappingTests cover the records of migration 010: field mappings and
// the links' field state.
var fieldMappingTests = map[string]func(t *testing.T, newStore NewStore){
	"FieldMappings":   testFieldMappings,
	"SyncFieldStates": testSyncFieldStates,
}

func testFieldMappings(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j, _ := syncBed(t, s)

	_, err := s.GetFieldMapping(ctx, "w1", j.ID, "")
	wantErr(t, err, store.ErrNotFound)
	// A mapping belongs to a connection.
	wantErr(t, s.PutFieldMapping(ctx, store.FieldMapping{WorkspaceGID: "w-none", JiraServerID: j.ID, Mapping: "{}"}), store.ErrNotFound)

	conn := store.FieldMapping{WorkspaceGID: "w1", JiraServerID: j.ID, Mapping: `{"fields":{"name":"both"}}`, UpdatedBy: "admin"}
	proj := store.FieldMapping{WorkspaceGID: "w1", JiraServerID: j.ID, ProjectGID: "p1", Mapping: `{"fields":{"name":"off"}}`, UpdatedBy: "admin"}
	must(t, s.PutFieldMapping(ctx, proj))
	must(t, s.PutFieldMapping(ctx, conn))
	got, err := s.GetFieldMapping(ctx, "w1", j.ID, "")
	must(t, err)
	ignore := cmpopts.IgnoreFields(store.FieldMapping{}, "UpdatedAt")
	if diff := cmp.Diff(conn, got, ignore); diff != "" || got.UpdatedAt.IsZero() {
		t.Fatalf("connection mapping (-want +got):\n%s (updated %v)", diff, got.UpdatedAt)
	}
	conn.Mapping, conn.UpdatedBy = `{"fields":{"name":"jira_to_asana"}}`, "alice"
	must(t, s.PutFieldMapping(ctx, conn))
	all, err := s.ListFieldMappings(ctx, "w1", j.ID)
	must(t, err)
	if diff := cmp.Diff([]store.FieldMapping{conn, proj}, all, ignore); diff != "" {
		t.Fatalf("mappings (-want +got):\n%s", diff)
	}
	must(t, s.DeleteFieldMapping(ctx, "w1", j.ID, "p1"))
	wantErr(t, s.DeleteFieldMapping(ctx, "w1", j.ID, "p1"), store.ErrNotFound)
	_, err = s.GetFieldMapping(ctx, "w1", j.ID, "p1")
	wantErr(t, err, store.ErrNotFound)

	// Removing the connection removes its mappings.
	must(t, s.DeleteConnection(ctx, "w1", j.ID))
	all, err = s.ListFieldMappings(ctx, "w1", j.ID)
	must(t, err)
	if len(all) != 0 {
		t.Errorf("mappings after the connection went: %+v", all)
	}
}

func testSyncFieldStates(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	_, l := syncBed(t, s)

	got, err := s.ListSyncFieldStates(ctx, l.ID)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("state before any: %+v", got)
	}
	wantErr(t, s.PutSyncFieldState(ctx, store.SyncFieldState{LinkID: l.ID + 1000, Field: "name"}), store.ErrNotFound)
	due := store.SyncFieldState{LinkID: l.ID, Field: "due", AsanaValue: "2026-12-01", JiraValue: "2026-12-01", Written: store.SideJira, Seq: 1}
	name := store.SyncFieldState{LinkID: l.ID, Field: "name", AsanaValue: "A", JiraValue: "A"}
	must(t, s.PutSyncFieldState(ctx, name))
	must(t, s.PutSyncFieldState(ctx, due))
	due.AsanaValue, due.JiraValue, due.Written, due.Seq = "", "", store.SideAsana, 2
	must(t, s.PutSyncFieldState(ctx, due))
	got, err = s.ListSyncFieldStates(ctx, l.ID)
	must(t, err)
	ignore := cmpopts.IgnoreFields(store.SyncFieldState{}, "UpdatedAt")
	if diff := cmp.Diff([]store.SyncFieldState{due, name}, got, ignore); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
	if got[0].UpdatedAt.IsZero() {
		t.Error("UpdatedAt not set")
	}
	// A state is removed as it was read: one written anew since (a
	// higher Seq) stays.
	for _, tc := range []struct {
		name    string
		del     store.SyncFieldState
		deleted bool
	}{
		{"written anew since", store.SyncFieldState{LinkID: l.ID, Field: "due", Seq: 1}, false},
		{"no such field", store.SyncFieldState{LinkID: l.ID, Field: "assignee"}, false},
		{"as read", store.SyncFieldState{LinkID: l.ID, Field: "due", Seq: 2}, true},
		{"removed already", store.SyncFieldState{LinkID: l.ID, Field: "due", Seq: 2}, false},
	} {
		deleted, err := s.DeleteSyncFieldState(ctx, tc.del)
		must(t, err)
		if deleted != tc.deleted {
			t.Errorf("%s: deleted = %v, want %v", tc.name, deleted, tc.deleted)
		}
	}
	got, err = s.ListSyncFieldStates(ctx, l.ID)
	must(t, err)
	if diff := cmp.Diff([]store.SyncFieldState{name}, got, ignore); diff != "" {
		t.Fatalf("state after removing due (-want +got):\n%s", diff)
	}
	// Unlinking removes the link's state.
	must(t, s.DeleteLink(ctx, l.ID))
	got, err = s.ListSyncFieldStates(ctx, l.ID)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("state after unlinking: %+v", got)
	}
}
