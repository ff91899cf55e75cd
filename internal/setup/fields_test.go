package setup_test

import (
	"testing"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/google/go-cmp/cmp"
)

// A connection's field mapping and a routed project's override are read,
// saved and removed through the sync engine, each change audited once;
// an override starts from the connection's mapping; a mapping the engine
// refuses, a project that is not routed to the server and a connection
// that does not exist are refused with the reason.
func TestFieldMapping(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		a := newApplyBench(t, b)
		srv := b.register(a.jiraURL)
		if _, _, err := b.svc.AddWorkspace(ctx, actor, "100", "Acme"); err != nil {
			t.Fatal(err)
		}
		_, _, err := b.svc.FieldMapping(ctx, "100", srv.ID, "")
		wantCode(t, err, setup.NotFound, "connect them first")
		if _, err := b.svc.Connect(ctx, actor, "100", srv.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.SetRoute(ctx, actor, store.ProjectRoute{WorkspaceGID: "100", ProjectGID: "500", JiraServerID: srv.ID}); err != nil {
			t.Fatal(err)
		}

		m, saved, err := b.svc.FieldMapping(ctx, "100", srv.ID, "")
		if err != nil || saved || !cmp.Equal(m.Directions(), syncengine.DefaultDirections) {
			t.Fatalf("never saved: %v saved=%v %v, want the defaults", m.Directions(), saved, err)
		}

		conn := syncengine.Mapping{Fields: map[string]syncengine.Direction{syncengine.FieldNotes: syncengine.BothDirections},
			DomainAliases: []syncengine.DomainAlias{{Asana: "acme.example", Jira: "example.com"}}}
		if changed, err := b.svc.SetFieldMapping(ctx, actor, "100", srv.ID, "", conn); err != nil || !changed {
			t.Fatalf("save the connection's mapping: %v, %v", changed, err)
		}
		if changed, err := b.svc.SetFieldMapping(ctx, actor, "100", srv.ID, "", conn); err != nil || changed {
			t.Fatalf("the same mapping again: changed %v, %v; want no change", changed, err)
		}

		// The project's override starts from the connection's mapping.
		m, saved, err = b.svc.FieldMapping(ctx, "100", srv.ID, "500")
		if err != nil || saved || m.Direction(syncengine.FieldNotes) != syncengine.BothDirections {
			t.Fatalf("project without an override: notes %v saved=%v %v, want the connection's", m.Direction(syncengine.FieldNotes), saved, err)
		}
		proj := syncengine.Mapping{Fields: map[string]syncengine.Direction{syncengine.FieldSection: syncengine.BothDirections},
			StatusSections: []syncengine.StatusSection{{Status: "In Progress", Section: "Doing"}}}
		if changed, err := b.svc.SetFieldMapping(ctx, actor, "100", srv.ID, "500", proj); err != nil || !changed {
			t.Fatalf("save the project's override: %v, %v", changed, err)
		}
		eff, ok, err := a.sync.EffectiveMapping(ctx, "100", srv.ID, "500")
		if err != nil || !ok || eff.Direction(syncengine.FieldSection) != syncengine.BothDirections || len(eff.DomainAliases) != 1 {
			t.Fatalf("effective mapping of the project: %+v %v %v", eff, ok, err)
		}

		_, err = b.svc.SetFieldMapping(ctx, actor, "100", srv.ID, "", syncengine.Mapping{Fields: map[string]syncengine.Direction{syncengine.FieldStatus: syncengine.FromAsana}})
		wantCode(t, err, setup.Invalid, "cannot be saved")
		_, err = b.svc.SetFieldMapping(ctx, actor, "100", srv.ID, "999", proj)
		wantCode(t, err, setup.NotFound, "not routed to this Jira server")
		_, err = b.svc.SetFieldMapping(ctx, "", "100", srv.ID, "", conn)
		if err == nil {
			t.Error("a change without an actor was accepted")
		}

		if err := b.svc.RemoveFieldMapping(ctx, actor, "100", srv.ID, "500"); err != nil {
			t.Fatal(err)
		}
		err = b.svc.RemoveFieldMapping(ctx, actor, "100", srv.ID, "500")
		wantCode(t, err, setup.NotFound, "No field mapping is saved")
		if eff, _, _ := a.sync.EffectiveMapping(ctx, "100", srv.ID, "500"); eff.Direction(syncengine.FieldSection) != syncengine.Off {
			t.Errorf("after removing the override the project's section sync is %v, want the connection's (off)", eff.Direction(syncengine.FieldSection))
		}

		entries, err := b.st.ListAudit(ctx, store.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			if e.Action == "sync.fields" || e.Action == "sync.fields.delete" {
				got = append(got, e.Action+" "+e.Target)
			}
		}
		want := []string{"sync.fields.delete 100/" + srv.ID + "/500", "sync.fields 100/" + srv.ID + "/500", "sync.fields 100/" + srv.ID}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("audit entries, newest first (-want +got):\n%s", diff)
		}
	})
}
