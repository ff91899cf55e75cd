package setup_test

import (
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// A connection's sync settings are read and saved through the sync engine,
// each change audited once, and refused for a connection that does not
// exist.
func TestConnectionSync(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		a := newApplyBench(t, b)
		srv := b.register(a.jiraURL)
		if _, _, err := b.svc.AddWorkspace(ctx, actor, "100", "Acme"); err != nil {
			t.Fatal(err)
		}
		_, err := b.svc.ConnectionSync(ctx, "100", srv.ID)
		wantCode(t, err, setup.NotFound, "connect them first")
		if _, err := b.svc.Connect(ctx, actor, "100", srv.ID, true); err != nil {
			t.Fatal(err)
		}

		// Never saved: off, with comments and completion preselected.
		got, err := b.svc.ConnectionSync(ctx, "100", srv.ID)
		if err != nil {
			t.Fatal(err)
		}
		ignore := cmpopts.IgnoreFields(store.SyncSettings{}, "EnabledAt", "UpdatedAt", "UpdatedBy")
		if diff := cmp.Diff(store.SyncSettings{WorkspaceGID: "100", JiraServerID: srv.ID, Comments: true, Completion: true}, got, ignore); diff != "" {
			t.Fatalf("default settings (-want +got):\n%s", diff)
		}

		on := store.SyncSettings{WorkspaceGID: "100", JiraServerID: srv.ID, Enabled: true, Comments: true, Completion: false,
			DoneTransition: "  Close issue ", ReopenTransition: ""}
		changed, err := b.svc.SetConnectionSync(ctx, actor, on)
		if err != nil || !changed {
			t.Fatalf("switch sync on: %v, %v", changed, err)
		}
		if changed, err := b.svc.SetConnectionSync(ctx, actor, on); err != nil || changed {
			t.Fatalf("the same settings again: changed %v, %v; want no change", changed, err)
		}
		got, err = a.sync.Settings(ctx, "100", srv.ID)
		if err != nil {
			t.Fatal(err)
		}
		on.DoneTransition = "Close issue"
		if diff := cmp.Diff(on, got, ignore); diff != "" || got.UpdatedBy != string(actor) || got.EnabledAt.IsZero() {
			t.Fatalf("saved settings (-want +got):\n%s\nby %q since %v", diff, got.UpdatedBy, got.EnabledAt)
		}

		_, err = b.svc.SetConnectionSync(ctx, actor, store.SyncSettings{WorkspaceGID: "100", JiraServerID: "js_nope", Enabled: true})
		wantCode(t, err, setup.NotFound, "connect them first")
		_, err = b.svc.SetConnectionSync(ctx, actor, store.SyncSettings{WorkspaceGID: "100", JiraServerID: srv.ID,
			DoneTransition: strings.Repeat("x", 256)})
		wantCode(t, err, setup.Invalid, "at most 255")
		_, err = b.svc.SetConnectionSync(ctx, "", on)
		if err == nil {
			t.Error("a change without an actor was accepted")
		}

		entries, err := b.st.ListAudit(ctx, store.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var sync []string
		for _, e := range entries {
			if e.Action == "sync.settings" {
				sync = append(sync, e.Actor+": "+e.Target+": "+e.Detail)
			}
		}
		want := []string{string(actor) + ": 100/" + srv.ID + ": sync on, comments on, completion off, done by Close issue"}
		if diff := cmp.Diff(want, sync); diff != "" {
			t.Errorf("sync audit entries (-want +got):\n%s", diff)
		}
	})
}

// Without a sync engine there are no sync settings to read or save.
func TestConnectionSyncWithoutEngine(t *testing.T) {
	t.Parallel()
	b := newBench(t, "sqlite")
	_, err := b.svc.ConnectionSync(t.Context(), "100", "js_x")
	wantCode(t, err, setup.Invalid, "no sync engine")
}
