package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/google/go-cmp/cmp"
)

// The Fields page of a connection: the defaults before anything is saved,
// a mapping saved through the setup service (audited as the admin), a
// refused one shown again as typed with the reason, a routed project's
// override made and removed, and forged or misdirected forms refused.
func TestFieldsPage(t *testing.T) {
	t.Parallel()
	b := newSyncBed(t, eventsIntake(time.Now()))
	ctx := t.Context()
	br := b.admin()
	const project = "1201000000000101" // routed to Legacy Jira (LEG)
	path := "/admin/sync/" + acme + "/" + b.old.ID + "/fields"

	r := br.get(b.hs.URL + path)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d\n%s", path, r.Status, r.Body)
	}
	golden(t, "sync_fields", r.Body)
	if c := br.get(b.hs.URL + "/admin/sync/" + acme + "/" + b.old.ID); !strings.Contains(c.Body, `href="`+path+`" id="fields-link"`) {
		t.Error("the connection's sync page does not lead to its Fields page")
	}

	form := func(extra url.Values) url.Values {
		f := url.Values{"dir_name": {"both"}, "dir_due": {"jira_to_asana"}, "dir_assignee": {"both"}, "dir_notes": {"off"},
			"dir_status": {"jira_to_asana"}, "dir_priority": {"off"}, "dir_section": {"both"},
			"status": {"In Progress", "", ""}, "section": {"Doing", "", ""},
			"asana_email": {"ada@acme.example", ""}, "jira_user": {"admin", ""},
			"asana_domain": {"acme.example", ""}, "jira_domain": {"example.com", ""}}
		for k, v := range extra {
			f[k] = v
		}
		return f
	}

	// A user pair without a Jira user is refused; the page keeps what was typed.
	bad := form(url.Values{"asana_email": {"ada@acme.example", "bob@acme.example"}, "jira_user": {"admin", ""}})
	r = b.postForm(br, path, bad)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "a user pair needs an Asana e-mail and a Jira user name") ||
		!strings.Contains(r.Body, `value="bob@acme.example"`) || !strings.Contains(r.Body, `value="Doing"`) {
		t.Fatalf("a refused mapping: %d\n%s", r.Status, r.Body)
	}
	if _, err := b.engine.GetMapping(ctx, acme, b.old.ID, ""); err == nil {
		t.Fatal("a refused mapping was saved")
	}
	// A direction a field cannot take is refused too.
	if r := b.postForm(br, path, form(url.Values{"dir_status": {"asana_to_jira"}})); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("status synced Asana → Jira: %d, want 422", r.Status)
	}

	// A preview names what it cannot do and saves nothing: an issue that is
	// not linked here, and a link whose sides cannot be read (this bed's
	// Jira and Asana do not answer).
	for _, tc := range []struct{ issue, says string }{
		{"NOPE-1", "No task of this workspace is linked to that issue on this server"},
		{"OPS-1", "No task of this workspace is linked to that issue on this server"}, // linked on the other server
		{"leg-1", "The preview could not read both sides"},
	} {
		r := b.postForm(br, path, form(url.Values{"preview": {"1"}, "preview_issue": {tc.issue}}))
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tc.says) || !strings.Contains(r.Body, `value="Doing"`) {
			t.Errorf("preview of %s: %d, want 422 saying %q and keeping the form:\n%s", tc.issue, r.Status, tc.says, r.Body)
		}
	}
	if _, err := b.engine.GetMapping(ctx, acme, b.old.ID, ""); err == nil {
		t.Fatal("a preview saved the mapping")
	}

	r = b.postForm(br, path, form(nil))
	if r.Status != http.StatusSeeOther || r.Location != path {
		t.Fatalf("save: %d %q\n%s", r.Status, r.Location, r.Body)
	}
	saved, err := b.engine.GetMapping(ctx, acme, b.old.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	want := syncengine.Mapping{
		Fields: map[string]syncengine.Direction{"name": "both", "due": "jira_to_asana", "assignee": "both", "notes": "off",
			"status": "jira_to_asana", "priority": "off", "section": "both"},
		StatusSections: []syncengine.StatusSection{{Status: "In Progress", Section: "Doing"}},
		Users:          []syncengine.UserPair{{AsanaEmail: "ada@acme.example", JiraUser: "admin"}},
		DomainAliases:  []syncengine.DomainAlias{{Asana: "acme.example", Jira: "example.com"}},
	}
	if diff := cmp.Diff(want, saved.Mapping); diff != "" || saved.UpdatedBy == "" {
		t.Errorf("saved mapping (-want +got):\n%s\nby %q", diff, saved.UpdatedBy)
	}
	page := br.get(b.hs.URL + path)
	for _, s := range []string{"Field mapping saved.", `name="dir_due"><option value="off">Off</option><option value="jira_to_asana" selected>`, `id="remove-mapping"`} {
		if !strings.Contains(page.Body, s) {
			t.Errorf("the page after saving lacks %q", s)
		}
	}
	if r := b.postForm(br, path, form(nil)); r.Status != http.StatusSeeOther {
		t.Fatalf("save again: %d", r.Status)
	}
	if page := br.get(b.hs.URL + path); !strings.Contains(page.Body, "Nothing changed.") {
		t.Error("saving the same mapping again does not say nothing changed")
	}

	// The routed project starts from the connection's mapping; saving makes
	// its own, removing it returns to the connection's.
	ppath := path + "?project=" + project
	r = br.get(b.hs.URL + ppath)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "This project follows the connection's mapping") {
		t.Fatalf("%s: %d\n%s", ppath, r.Status, r.Body)
	}
	golden(t, "sync_fields_project", r.Body)
	r = b.postForm(br, path, form(url.Values{"project": {project}, "dir_notes": {"both"}}))
	if r.Status != http.StatusSeeOther || r.Location != ppath {
		t.Fatalf("save the project's mapping: %d %q\n%s", r.Status, r.Location, r.Body)
	}
	eff, ok, err := b.engine.EffectiveMapping(ctx, acme, b.old.ID, project)
	if err != nil || !ok || eff.Direction(syncengine.FieldNotes) != syncengine.BothDirections {
		t.Fatalf("the project's effective mapping: notes %v, %v %v", eff.Direction(syncengine.FieldNotes), ok, err)
	}
	r = b.postForm(br, path+"/remove", url.Values{"project": {project}})
	if r.Status != http.StatusSeeOther || r.Location != ppath {
		t.Fatalf("remove the project's mapping: %d %q\n%s", r.Status, r.Location, r.Body)
	}
	if eff, _, _ := b.engine.EffectiveMapping(ctx, acme, b.old.ID, project); eff.Direction(syncengine.FieldNotes) != syncengine.Off {
		t.Error("after removing the project's mapping the connection's does not apply")
	}

	// A project routed elsewhere (or nowhere) has no mapping here.
	if r := b.postForm(br, path, form(url.Values{"project": {"1201000000000999"}})); r.Status != http.StatusNotFound {
		t.Errorf("a mapping for a project that is not routed to the server: %d, want 404", r.Status)
	}
	if r := br.post(b.hs.URL+path, form(url.Values{"csrf": {"forged"}, "dir_notes": {"both"}})); r.Status != http.StatusForbidden {
		t.Errorf("a forged form: %d, want 403", r.Status)
	}
	if got, _ := b.engine.GetMapping(ctx, acme, b.old.ID, ""); got.Mapping.Direction(syncengine.FieldNotes) != syncengine.Off {
		t.Error("the forged form changed the mapping")
	}

	var actions []string
	for _, a := range b.auditActions(acme + "/" + b.old.ID) {
		if strings.HasPrefix(a, "sync.fields") {
			actions = append(actions, a)
		}
	}
	if diff := cmp.Diff([]string{"sync.fields"}, actions); diff != "" {
		t.Errorf("the connection's audit (-want +got):\n%s", diff)
	}
	if got := b.auditActions(acme + "/" + b.old.ID + "/" + project); !cmp.Equal(got, []string{"sync.fields.delete", "sync.fields"}) {
		t.Errorf("the project's audit: %v", got)
	}
}
