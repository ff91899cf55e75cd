package asana

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Webhook objects keep their filters exactly as created and send the
// health fields as null until something happened.
func TestWebhookObject(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, Options{})
	hs := e.hs
	target := newHookTarget(t)
	filters := []any{
		map[string]any{"resource_type": "task", "action": "changed", "fields": []any{"completed", "due_on"}},
		map[string]any{"resource_type": "story", "resource_subtype": "comment_added", "action": "added"},
	}
	r := e.call(t, "pat-alice", "POST", "/webhooks", data(map[string]any{"resource": e.seed.Project, "target": target.URL, "filters": filters}), 201)
	gid := r.data(t)["gid"].(string)
	for _, path := range []string{"/webhooks/" + gid, "/webhooks/" + gid + "?opt_fields=filters", "/webhooks?workspace=" + e.seed.Workspace + "&opt_fields=filters"} {
		r := e.call(t, "pat-alice", "GET", path, nil, 200)
		d, ok := r.decode(t)["data"].(map[string]any)
		if !ok {
			d = r.list(t)[0].(map[string]any)
		}
		if diff := cmp.Diff(filters, d["filters"]); diff != "" {
			t.Errorf("%s: filters (-created +returned):\n%s", path, diff)
		}
	}
	d := e.call(t, "pat-alice", "GET", "/webhooks/"+gid, nil, 200).data(t)
	for _, k := range []string{"last_success_at", "last_failure_at", "last_failure_content", "next_attempt_after", "failure_deletion_timestamp"} {
		if v, present := d[k]; !present || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, present)
		}
	}
	if d["delivery_retry_count"] != float64(0) || d["resource"].(map[string]any)["name"] != "Launch" {
		t.Errorf("webhook %v", d)
	}
	// Updating replaces the filters, checked like on create.
	if r := call(t, hs, "pat-alice", "PUT", "/webhooks/"+gid, data(map[string]any{"filters": []any{map[string]any{"resource_type": "task", "fields": []any{"name"}}}})); r.Status != 400 {
		t.Errorf("fields without action changed: %d", r.Status)
	}
	upd := []any{map[string]any{"resource_type": "task", "action": "deleted"}}
	r = e.call(t, "pat-alice", "PUT", "/webhooks/"+gid, data(map[string]any{"filters": upd}), 200)
	if diff := cmp.Diff(upd, r.data(t)["filters"]); diff != "" {
		t.Errorf("updated filters (-want +got):\n%s", diff)
	}
}

// GET /webhooks lists the webhooks the calling app registered for the
// calling user in the workspace, nobody else's.
func TestWebhookListIsTheCallers(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, Options{})
	s, hs := e.s, e.hs
	target := newHookTarget(t)
	create := func(token, resource string) string {
		return e.call(t, token, "POST", "/webhooks", data(map[string]any{"resource": resource, "target": target.URL}), 201).data(t)["gid"].(string)
	}
	oauth, _, err := s.IssueAccessToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	alicePAT := create("pat-alice", e.seed.Project)
	aliceTask := create("pat-alice", e.seed.Tasks[0].GID)
	aliceApp := create(oauth, e.seed.Project)
	bob := create("pat-bob", e.seed.Project)
	list := func(token, query string) []string {
		var out []string
		for _, it := range e.call(t, token, "GET", "/webhooks?workspace="+e.seed.Workspace+query, nil, 200).list(t) {
			out = append(out, it.(map[string]any)["gid"].(string))
		}
		return out
	}
	tests := []struct {
		name, token, query string
		want               []string
	}{
		{"alice's token", "pat-alice", "", []string{alicePAT, aliceTask}},
		{"alice's token, one resource", "pat-alice", "&resource=" + e.seed.Tasks[0].GID, []string{aliceTask}},
		{"alice through the app", oauth, "", []string{aliceApp}},
		{"bob", "pat-bob", "", []string{bob}},
		{"admin", "pat-admin", "", nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, list(tc.token, tc.query)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	if r := call(t, hs, "pat-alice", "GET", "/webhooks", nil); r.Status != 400 {
		t.Errorf("no workspace: %d", r.Status)
	}
	if r := call(t, hs, "pat-alice", "GET", "/webhooks?workspace=999", nil); r.Status != 404 {
		t.Errorf("unknown workspace: %d", r.Status)
	}
}

// Webhooks on a workspace must filter, never see task or story events and
// do not take fields filters, as Asana documents.
func TestWorkspaceWebhookFilters(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	ws := s.Seed().Workspace
	target := newHookTarget(t)
	tests := []struct {
		name    string
		filters any
		status  int
		msg     string
	}{
		{"no filters", nil, 400, "require filters"},
		{"task changes", []any{map[string]any{"resource_type": "task", "action": "changed"}}, 400, "never receive task events"},
		{"task fields", []any{map[string]any{"resource_type": "project", "action": "changed", "fields": []any{"name"}}}, 400, "do not support fields"},
		{"stories", []any{map[string]any{"resource_type": "story", "action": "added"}}, 400, "never receive story events"},
		{"membership changed", []any{map[string]any{"resource_type": "workspace_membership", "action": "changed"}}, 400, "added, removed only"},
		{"projects", []any{map[string]any{"resource_type": "project", "action": "changed"}}, 201, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"resource": ws, "target": target.URL}
			if tc.filters != nil {
				body["filters"] = tc.filters
			}
			r := call(t, hs, "pat-alice", "POST", "/webhooks", data(body))
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.msg) {
				t.Errorf("status %d, want %d with %q: %s", r.Status, tc.status, tc.msg, r.Body)
			}
		})
	}
}

// Filters pick the events a sync engine wants: a comment filter gets
// comments and not the system stories of the same task; a fields filter
// gets only changes of those fields.
func TestWebhookFiltersPickEvents(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, Options{})
	s := e.s
	task := e.seed.Tasks[1].GID
	comments, completion := newHookTarget(t), newHookTarget(t)
	e.call(t, "pat-alice", "POST", "/webhooks", data(map[string]any{"resource": e.seed.Project, "target": comments.URL,
		"filters": []any{map[string]any{"resource_type": "story", "resource_subtype": "comment_added", "action": "added"}}}), 201)
	e.call(t, "pat-alice", "POST", "/webhooks", data(map[string]any{"resource": e.seed.Project, "target": completion.URL,
		"filters": []any{map[string]any{"resource_type": "task", "action": "changed", "fields": []any{"completed"}}}}), 201)

	e.call(t, "pat-alice", "PUT", "/tasks/"+task, data(map[string]any{"name": "Renamed", "completed": true}), 200)
	e.call(t, "pat-bob", "POST", "/tasks/"+task+"/stories", data(map[string]any{"text": "Done, thanks"}), 201)

	// Events reach a webhook in order, so once the comment is there,
	// nothing before it was let through unseen.
	waitFor(t, "the comment", func() bool { return len(comments.events()) == 1 })
	waitFor(t, "the completion", func() bool { return len(completion.events()) == 1 })
	subtype := comments.events()[0].(map[string]any)["resource"].(map[string]any)["resource_subtype"]
	field := completion.events()[0].(map[string]any)["change"].(map[string]any)["field"]
	if subtype != "comment_added" || field != "completed" {
		t.Errorf("comment webhook got %v, completion webhook got %v", subtype, field)
	}
	if n := len(s.Stories(task)); n != 3 {
		t.Errorf("%d stories on the task, want the name and completion stories and the comment", n)
	}
}
