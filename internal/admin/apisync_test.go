package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/google/go-cmp/cmp"
)

// The admin API's sync endpoints against docs/admin-api.yaml: a
// connection's sync settings and field mapping (and a routed project's
// override) read with a read token, changed with a write token through the
// setup service, audited as the token, and every refusal (unknown
// connection or project, a direction a field cannot take, a misspelt or
// read-only property, a read token writing) answered with its code.
func TestAPISync(t *testing.T) {
	t.Parallel()
	doc, _ := apiSpec(t)
	b := newSyncBed(t, eventsIntake(time.Now()))
	ctx := t.Context()
	br := b.admin()
	covered := map[string][]int{}
	w := &apiClient{t: t, base: b.hs.URL, token: b.createToken(br, "deploy", "write"), covered: covered}
	ro := &apiClient{t: t, base: b.hs.URL, token: b.createToken(br, "monitor", "read"), covered: covered}
	const project = "1201000000000101" // routed to Legacy Jira
	dc, old := "/sync/"+acme+"/"+b.dc.ID, "/sync/"+acme+"/"+b.old.ID

	// Settings.
	got := ro.call("GET", dc, nil).want(t, 200, "")
	if got.Body["enabled"] != true || got.Body["done_transition"] != `Close "quickly" <now>` || got.Body["updated_by"] != "Alice Anders" {
		t.Errorf("settings: %s", got.Raw)
	}
	if a := ro.call("GET", old, nil).want(t, 200, ""); a.Body["enabled"] != false || a.Body["comments"] != true || a.Body["enabled_at"] != nil {
		t.Errorf("settings never saved: %s", a.Raw)
	}
	ro.call("PUT", old, map[string]any{"enabled": true}).want(t, 403, "forbidden")
	w.call("PUT", old, map[string]any{"enabled": true, "completoin": false}).want(t, 400, "bad_request")
	w.call("PUT", old, map[string]any{"enabled": true, "done_transition": strings.Repeat("x", 256)}).want(t, 422, "invalid")
	w.call("PUT", "/sync/"+acme+"/js_missing", map[string]any{"enabled": true}).want(t, 404, "not_found")
	w.call("GET", "/sync/"+acme+"/js_missing", nil).want(t, 404, "not_found")
	for _, want := range []bool{true, false} {
		if a := w.call("PUT", old, map[string]any{"enabled": true, "completion": false}).want(t, 200, ""); a.Body["changed"] != want {
			t.Errorf("set settings: %s, want changed %v", a.Raw, want)
		}
	}
	set, err := b.engine.Settings(ctx, acme, b.old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !set.Enabled || !set.Comments || set.Completion || !strings.HasPrefix(set.UpdatedBy, "API token deploy (") {
		t.Errorf("saved settings %+v", set)
	}

	// The connection's field mapping.
	fields := ro.call("GET", old+"/fields", nil).want(t, 200, "")
	if fields.Body["saved"] != false || fields.Body["directions"].(map[string]any)["notes"] != "off" {
		t.Errorf("no mapping yet: %s", fields.Raw)
	}
	mapping := map[string]any{"directions": map[string]any{"due": "jira_to_asana"},
		"domain_aliases": []any{map[string]any{"asana": "acme.example", "jira": "example.com"}}}
	ro.call("PUT", old+"/fields", mapping).want(t, 403, "forbidden")
	for _, bad := range []struct {
		body   any
		status int
		code   string
	}{
		{map[string]any{"directions": map[string]any{"status": "asana_to_jira"}}, 422, "invalid"},
		{map[string]any{"directions": map[string]any{"colour": "both"}}, 422, "invalid"},
		{map[string]any{"users": []any{map[string]any{"asana_email": "nobody", "jira_user": "bob"}}}, 422, "invalid"},
		{map[string]any{"saved": true}, 400, "bad_request"},
		{map[string]any{"direction": map[string]any{}}, 400, "bad_request"},
	} {
		w.call("PUT", old+"/fields", bad.body).want(t, bad.status, bad.code)
	}
	if _, err := b.engine.GetMapping(ctx, acme, b.old.ID, ""); err == nil {
		t.Fatal("a refused mapping was saved")
	}
	for _, want := range []bool{true, false} {
		if a := w.call("PUT", old+"/fields", mapping).want(t, 200, ""); a.Body["changed"] != want {
			t.Errorf("save mapping: %s, want changed %v", a.Raw, want)
		}
	}
	saved, err := b.engine.GetMapping(ctx, acme, b.old.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	want := syncengine.Mapping{Fields: map[string]syncengine.Direction{"due": syncengine.FromJira},
		DomainAliases: []syncengine.DomainAlias{{Asana: "acme.example", Jira: "example.com"}}}
	if diff := cmp.Diff(want.Directions(), saved.Mapping.Directions()); diff != "" || !cmp.Equal(want.DomainAliases, saved.Mapping.DomainAliases) {
		t.Errorf("saved mapping (-want +got):\n%s%v", diff, saved.Mapping.DomainAliases)
	}
	if a := ro.call("GET", old+"/fields", nil).want(t, 200, ""); a.Body["saved"] != true || a.Body["directions"].(map[string]any)["due"] != "jira_to_asana" {
		t.Errorf("saved mapping read back: %s", a.Raw)
	}

	// A routed project's override starts from the connection's mapping.
	if a := ro.call("GET", old+"/fields?project="+project, nil).want(t, 200, ""); a.Body["saved"] != false || a.Body["directions"].(map[string]any)["due"] != "jira_to_asana" {
		t.Errorf("a project without its own mapping: %s", a.Raw)
	}
	w.call("PUT", old+"/fields?project="+project, map[string]any{"directions": map[string]any{"due": "off"}}).want(t, 200, "")
	if a := ro.call("GET", old+"/fields?project="+project, nil).want(t, 200, ""); a.Body["saved"] != true || a.Body["directions"].(map[string]any)["due"] != "off" {
		t.Errorf("the project's own mapping: %s", a.Raw)
	}
	w.call("GET", dc+"/fields?project="+project, nil).want(t, 404, "not_found") // routed to the other server
	w.call("PUT", old+"/fields?project=1201000000000999", mapping).want(t, 404, "not_found")
	w.call("DELETE", old+"/fields?project="+project, nil).want(t, 204, "")
	w.call("DELETE", old+"/fields?project="+project, nil).want(t, 404, "not_found")
	ro.call("DELETE", old+"/fields", nil).want(t, 403, "forbidden")
	w.call("DELETE", old+"/fields", nil).want(t, 204, "")
	if a := ro.call("GET", old+"/fields", nil).want(t, 200, ""); a.Body["saved"] != false {
		t.Errorf("after removal: %s", a.Raw)
	}

	entries, err := b.store.ListAudit(ctx, store.AuditFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "sync.") {
			if !strings.HasPrefix(en.Actor, "API token deploy (") {
				t.Errorf("audit entry %+v does not name the token", en)
			}
			actions = append(actions, en.Action)
		}
	}
	if diff := cmp.Diff([]string{"sync.fields.delete", "sync.fields.delete", "sync.fields", "sync.fields", "sync.settings"}, actions); diff != "" {
		t.Errorf("audit, newest first (-want +got):\n%s", diff)
	}
	checkCovered(t, doc, covered, func(path string) bool { return strings.HasPrefix(path, "/sync/") })
}
