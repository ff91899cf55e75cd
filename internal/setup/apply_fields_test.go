package setup_test

import (
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/google/go-cmp/cmp"
)

// A connection's sync: fields: block is its field mapping: added, left as
// it is when the file says the same, changed when it differs, refused when
// it names a field or a direction the sync engine does not have.
func TestApplyFieldMapping(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		a := newApplyBench(t, b)
		withFields := func(block string) *setup.File {
			return a.file(t, strings.Replace(demoFile, "          done_transition: Done\n", "          done_transition: Done\n          fields:\n"+block, 1))
		}
		first := withFields("            domain_aliases: [{asana: acme.example, jira: example.com}]\n")
		p, lines := a.plan(t, first, false)
		want := `+ field mapping of "Acme" × "Jira": name both, due both, assignee both, notes off, status jira_to_asana, priority jira_to_asana, section off, attachments both; acme.example ↔ example.com`
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Fatalf("plan lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
		a.apply(t, p)
		if _, lines := a.plan(t, first, false); len(lines) != 0 {
			t.Fatalf("the same file again: %v", lines)
		}
		srv, err := b.svc.FindServer(ctx, a.jiraURL)
		if err != nil {
			t.Fatal(err)
		}
		saved, err := a.sync.GetMapping(ctx, a.seed.Workspace, srv.ID, "")
		if err != nil || !cmp.Equal(saved.Mapping.DomainAliases, []syncengine.DomainAlias{{Asana: "acme.example", Jira: "example.com"}}) ||
			saved.UpdatedBy != "ops (asanajira apply)" {
			t.Fatalf("saved %+v, %v", saved, err)
		}

		changed := withFields("            directions: {notes: asana_to_jira, section: both}\n" +
			"            status_sections: [{status: Done, section: Done}]\n")
		p, lines = a.plan(t, changed, false)
		want = `~ field mapping of "Acme" × "Jira": name both, due both, assignee both, notes off, status jira_to_asana, priority jira_to_asana, section off, attachments both; acme.example ↔ example.com → ` +
			`name both, due both, assignee both, notes asana_to_jira, status jira_to_asana, priority jira_to_asana, section both, attachments both; 1 status → section row(s)`
		if diff := cmp.Diff([]string{want}, lines); diff != "" {
			t.Fatalf("plan (-want +got):\n%s", diff)
		}
		a.apply(t, p)
		if saved, _ := a.sync.GetMapping(ctx, a.seed.Workspace, srv.ID, ""); saved.Mapping.Direction(syncengine.FieldNotes) != syncengine.FromAsana {
			t.Errorf("saved %+v", saved.Mapping)
		}

		for _, bad := range []string{"            directions: {colour: both}\n", "            directions: {status: both}\n"} {
			if _, err := a.svc.Plan(ctx, withFields(bad), a.env, false); setup.CodeOf(err) != setup.Invalid {
				t.Errorf("%q: err = %v, want Invalid", bad, err)
			}
		}
	})
}
