package asana

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Comments can be edited and deleted by their author only; system stories
// cannot be edited or deleted.
func TestStoryEditAndDelete(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, Options{})
	s, hs := e.s, e.hs
	task := e.seed.Tasks[1].GID
	c := e.call(t, "pat-bob", "POST", "/tasks/"+task+"/stories", data(map[string]any{"text": "First draft"}), 201).data(t)["gid"].(string)
	e.call(t, "pat-alice", "PUT", "/tasks/"+task, data(map[string]any{"completed": true}), 200)
	sys := s.Stories(task)[1].GID

	tests := []struct {
		name, token, method, path string
		body                      any
		status                    int
	}{
		{"edit someone else's comment", "pat-alice", "PUT", "/stories/" + c, data(map[string]any{"text": "x"}), 403},
		{"edit a system story", "pat-alice", "PUT", "/stories/" + sys, data(map[string]any{"text": "x"}), 400},
		{"text and html_text", "pat-bob", "PUT", "/stories/" + c, data(map[string]any{"text": "x", "html_text": "<body>x</body>"}), 400},
		{"html_text without body", "pat-bob", "PUT", "/stories/" + c, data(map[string]any{"html_text": "<p>x</p>"}), 400},
		{"delete someone else's comment", "pat-alice", "DELETE", "/stories/" + c, nil, 403},
		{"delete a system story", "pat-alice", "DELETE", "/stories/" + sys, nil, 403},
		{"unknown story", "pat-bob", "PUT", "/stories/999", data(map[string]any{"text": "x"}), 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := call(t, hs, tc.token, tc.method, tc.path, tc.body); r.Status != tc.status {
				t.Errorf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
		})
	}

	r := e.call(t, "pat-bob", "PUT", "/stories/"+c+"?opt_fields=text,html_text,is_edited",
		data(map[string]any{"html_text": "<body>Final <em>draft</em></body>"}), 200)
	want := map[string]any{"gid": c, "text": "Final draft", "html_text": "<body>Final <em>draft</em></body>", "is_edited": true}
	if diff := cmp.Diff(want, r.data(t)); diff != "" {
		t.Errorf("edited comment (-want +got):\n%s", diff)
	}
	e.call(t, "pat-bob", "DELETE", "/stories/"+c, nil, 200)
	if r := call(t, hs, "pat-bob", "GET", "/stories/"+c, nil); r.Status != 404 {
		t.Errorf("deleted story: %d", r.Status)
	}
	var left []string
	for _, st := range s.Stories(task) {
		left = append(left, st.Subtype)
	}
	if diff := cmp.Diff([]string{"marked_complete"}, left); diff != "" {
		t.Errorf("stories left (-want +got):\n%s", diff)
	}
}

// GET /events honours opt_fields: only the named fields, and for a
// resource, parent or user with a sub-field its gid and that field.
func TestEventsOptFields(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, Options{})
	s, hs := e.s, e.hs
	sync := firstSync(t, e)
	e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[2].GID, data(map[string]any{"assignee": "me"}), 200)
	r := e.call(t, "pat-alice", "GET", "/events?resource="+e.seed.Project+"&sync="+sync+
		"&opt_fields=action,resource.name,change.field,change.new_value,user.name", nil, 200)
	got := r.decode(t)["data"].([]any)
	alice := map[string]any{"gid": e.seed.Users["alice"], "name": "Alice Anders"}
	want := []any{
		map[string]any{"action": "changed", "resource": map[string]any{"gid": e.seed.Tasks[2].GID, "name": e.seed.Tasks[2].Name},
			"change": map[string]any{"field": "assignee", "new_value": map[string]any{"gid": e.seed.Users["alice"], "name": "Alice Anders", "resource_type": "user"}},
			"user":   alice},
		// A story has no name: resource.name gives its gid alone.
		map[string]any{"action": "added", "resource": map[string]any{"gid": s.Stories(e.seed.Tasks[2].GID)[0].GID}, "user": alice},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if r := call(t, hs, "pat-alice", "GET", "/events?resource="+e.seed.Project+"&sync="+sync+"&opt_fields=nonsense", nil); r.Status != 400 {
		t.Errorf("unknown opt_field: %d", r.Status)
	}
}
