package asana

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func names(t *testing.T, r apiResp) []string {
	t.Helper()
	var out []string
	for _, it := range r.list(t) {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	return out
}

func TestSections(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, Options{})
	s, hs := e.s, e.hs
	seed := e.seed
	project, todo, doing, done := seed.Project, seed.Sections["To do"], seed.Sections["In progress"], seed.Sections["Done"]
	t1, t2, t3 := seed.Tasks[0].GID, seed.Tasks[1].GID, seed.Tasks[2].GID

	r := e.call(t, "pat-alice", "GET", "/projects/"+project+"/sections", nil, 200)
	if diff := cmp.Diff([]string{"To do", "In progress", "Done"}, names(t, r)); diff != "" {
		t.Errorf("sections (-want +got):\n%s", diff)
	}
	r = e.call(t, "pat-alice", "GET", "/sections/"+doing+"?opt_fields=name,project.name,created_at", nil, 200)
	if d := r.data(t); d["name"] != "In progress" || d["project"].(map[string]any)["name"] != "Launch" {
		t.Errorf("section: %v", d)
	}

	// A new section goes where it is asked to.
	r = e.call(t, "pat-admin", "POST", "/projects/"+project+"/sections", data(map[string]any{"name": "Review", "insert_before": done}), 201)
	review := r.data(t)["gid"].(string)
	r = e.call(t, "pat-alice", "GET", "/projects/"+project+"/sections", nil, 200)
	if diff := cmp.Diff([]string{"To do", "In progress", "Review", "Done"}, names(t, r)); diff != "" {
		t.Errorf("sections after insert (-want +got):\n%s", diff)
	}

	// Moves: to the top of a section, or next to a task in it.
	e.call(t, "pat-alice", "POST", "/sections/"+doing+"/addTask", data(map[string]any{"task": t3}), 200)
	e.call(t, "pat-alice", "POST", "/sections/"+doing+"/addTask", data(map[string]any{"task": t1}), 200)
	e.call(t, "pat-alice", "POST", "/sections/"+doing+"/addTask", data(map[string]any{"task": t2, "insert_after": t3}), 200)
	if diff := cmp.Diff([]string{seed.Tasks[0].Name, seed.Tasks[2].Name, seed.Tasks[1].Name},
		names(t, e.call(t, "pat-alice", "GET", "/sections/"+doing+"/tasks", nil, 200))); diff != "" {
		t.Errorf("section tasks (-want +got):\n%s", diff)
	}
	if got := names(t, e.call(t, "pat-alice", "GET", "/tasks?section="+todo, nil, 200)); len(got) != 0 {
		t.Errorf("To do still lists %v", got)
	}
	// The project lists its tasks section by section.
	e.call(t, "pat-alice", "POST", "/sections/"+review+"/addTask", data(map[string]any{"task": t1}), 200)
	if diff := cmp.Diff([]string{seed.Tasks[2].Name, seed.Tasks[1].Name, seed.Tasks[0].Name},
		names(t, e.call(t, "pat-alice", "GET", "/projects/"+project+"/tasks", nil, 200))); diff != "" {
		t.Errorf("project tasks (-want +got):\n%s", diff)
	}
	r = e.call(t, "pat-alice", "GET", "/tasks/"+t1+"?opt_fields=memberships.project.name,memberships.section.name", nil, 200)
	want := []any{map[string]any{"project": map[string]any{"gid": project, "name": "Launch"},
		"section": map[string]any{"gid": review, "name": "Review"}}}
	if diff := cmp.Diff(want, r.data(t)["memberships"]); diff != "" {
		t.Errorf("memberships (-want +got):\n%s", diff)
	}
	if got := s.Task(t1).Sections[project]; got != review {
		t.Errorf("Task accessor section %s, want %s", got, review)
	}

	bad := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"unknown section", "POST", "/sections/999/addTask", data(map[string]any{"task": t1}), 404},
		{"no task", "POST", "/sections/" + done + "/addTask", data(map[string]any{}), 400},
		{"unknown task", "POST", "/sections/" + done + "/addTask", data(map[string]any{"task": "999"}), 400},
		{"both positions", "POST", "/sections/" + doing + "/addTask", data(map[string]any{"task": t1, "insert_before": t2, "insert_after": t3}), 400},
		{"position outside the section", "POST", "/sections/" + done + "/addTask", data(map[string]any{"task": t1, "insert_before": t2}), 400},
		{"section without a name", "POST", "/projects/" + project + "/sections", data(map[string]any{"name": ""}), 400},
		{"task in a section of another project", "POST", "/tasks", data(map[string]any{"name": "x",
			"memberships": []any{map[string]any{"project": project, "section": "999"}}}), 400},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if r := call(t, hs, "pat-alice", tc.method, tc.path, tc.body); r.Status != tc.status {
				t.Errorf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
		})
	}
	if got := s.Task(t1).Sections[project]; got != review {
		t.Errorf("a refused move moved the task to %s", got)
	}
}

// A task outside the project joins it through addTask: it is "added" to the
// project and to the section, with an added_to_project story, and gets the
// project's custom fields.
func TestAddTaskJoinsTheProject(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, Options{})
	s, hs := e.s, e.hs
	r := e.call(t, "pat-alice", "POST", "/tasks", data(map[string]any{"name": "Loose task", "workspace": e.seed.Workspace}), 201)
	task := r.data(t)["gid"].(string)
	if cfs := r.data(t)["custom_fields"].([]any); len(cfs) != 0 {
		t.Errorf("a task outside projects has custom fields %v", cfs)
	}
	sync := call(t, hs, "pat-alice", "GET", "/events?resource="+e.seed.Project, nil).decode(t)["sync"].(string)
	e.call(t, "pat-alice", "POST", "/sections/"+e.seed.Sections["Done"]+"/addTask", data(map[string]any{"task": task}), 200)

	got := s.Task(task)
	if diff := cmp.Diff([]string{e.seed.Project}, got.Projects); diff != "" {
		t.Errorf("projects (-want +got):\n%s", diff)
	}
	if _, ok := got.CustomFields[e.seed.PriorityField]; !ok || got.Sections[e.seed.Project] != e.seed.Sections["Done"] {
		t.Errorf("task %+v", got)
	}
	evs := e.call(t, "pat-alice", "GET", "/events?resource="+e.seed.Project+"&sync="+sync, nil, 200).decode(t)["data"].([]any)
	var seen []string
	for _, ev := range evs {
		m := ev.(map[string]any)
		res := m["resource"].(map[string]any)
		parent := m["parent"].(map[string]any)
		seen = append(seen, m["action"].(string)+" "+res["resource_subtype"].(string)+" to "+parent["resource_type"].(string)+" "+parent["gid"].(string))
	}
	want := []string{"added default_task to project " + e.seed.Project, "added default_task to section " + e.seed.Sections["Done"],
		"added added_to_project to task " + task}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if st := s.Stories(task); len(st) != 1 || st[0].Text != "added to Launch" {
		t.Errorf("stories %+v", st)
	}
}

func TestUsersHaveEmails(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	r := call(t, hs, "pat-alice", "GET", "/users?workspace="+s.Seed().Workspace+"&opt_fields=name,email", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d", r.Status)
	}
	got := map[string]any{}
	for _, u := range r.list(t) {
		m := u.(map[string]any)
		got[m["name"].(string)] = m["email"]
	}
	want := map[string]any{"Ada Admin": "admin@acme.example", "Alice Anders": "alice@acme.example", "Bob Brown": "bob@acme.example"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("emails (-want +got):\n%s", diff)
	}
}

// Enum options: created where asked, names unique per field; a field made
// on the workspace and added to the project can be set on its tasks.
func TestEnumFieldsOnTasks(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, Options{})
	s, hs := e.s, e.hs
	r := e.call(t, "pat-admin", "POST", "/custom_fields", data(map[string]any{"workspace": e.seed.Workspace,
		"name": "Jira status", "resource_subtype": "enum", "enum_options": []any{map[string]any{"name": "To Do"}, map[string]any{"name": "Done"}}}), 201)
	field := r.data(t)["gid"].(string)
	done := r.data(t)["enum_options"].([]any)[1].(map[string]any)["gid"].(string)
	r = e.call(t, "pat-admin", "POST", "/custom_fields/"+field+"/enum_options", data(map[string]any{"name": "In Progress", "insert_before": done}), 201)
	inProgress := r.data(t)["gid"].(string)
	if r := call(t, hs, "pat-admin", "POST", "/custom_fields/"+field+"/enum_options", data(map[string]any{"name": "done"})); r.Status != 400 {
		t.Errorf("a second option named done: %d", r.Status)
	}
	if r := call(t, hs, "pat-admin", "POST", "/custom_fields/"+field+"/enum_options", data(map[string]any{"name": "X", "insert_after": "999"})); r.Status != 400 {
		t.Errorf("insert_after an unknown option: %d", r.Status)
	}
	r = e.call(t, "pat-admin", "GET", "/custom_fields/"+field, nil, 200)
	var opts []string
	for _, o := range r.data(t)["enum_options"].([]any) {
		opts = append(opts, o.(map[string]any)["name"].(string))
	}
	if diff := cmp.Diff([]string{"To Do", "In Progress", "Done"}, opts); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	task := e.seed.Tasks[2].GID
	if r := call(t, hs, "pat-alice", "PUT", "/tasks/"+task, data(map[string]any{"custom_fields": map[string]any{field: inProgress}})); r.Status != 400 {
		t.Errorf("a field not on the project: %d", r.Status)
	}
	r = e.call(t, "pat-admin", "POST", "/projects/"+e.seed.Project+"/addCustomFieldSetting", data(map[string]any{"custom_field": field}), 200)
	if r.data(t)["custom_field"].(map[string]any)["gid"] != field {
		t.Errorf("setting: %v", r.data(t))
	}
	if r := call(t, hs, "pat-admin", "POST", "/projects/"+e.seed.Project+"/addCustomFieldSetting", data(map[string]any{"custom_field": field})); r.Status != 400 {
		t.Errorf("adding it twice: %d", r.Status)
	}
	r = e.call(t, "pat-alice", "PUT", "/tasks/"+task+"?opt_fields=custom_fields.name,custom_fields.display_value,custom_fields.enum_value.name",
		data(map[string]any{"custom_fields": map[string]any{field: inProgress}}), 200)
	var shown []any
	for _, cf := range r.data(t)["custom_fields"].([]any) {
		shown = append(shown, cf.(map[string]any)["display_value"])
	}
	if diff := cmp.Diff([]any{nil, "In Progress"}, shown); diff != "" {
		t.Errorf("display values (-want +got):\n%s", diff)
	}
	st := s.Stories(task)
	if last := st[len(st)-1]; last.Subtype != "enum_custom_field_changed" || last.Text != `changed Jira status to "In Progress"` {
		t.Errorf("last story %+v", last)
	}
}

// TestFreeWorkspaceRefusesCustomFields: with the free_workspace fault,
// making a custom field, an option or a project setting answers 402.
func TestFreeWorkspaceRefusesCustomFields(t *testing.T) {
	t.Parallel()
	e := newChangeEnv(t, Options{})
	if err := e.s.SetFaults(Faults{FreeWorkspace: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path string }{
		{"/custom_fields"},
		{"/custom_fields/" + e.seed.PriorityField + "/enum_options"},
		{"/projects/" + e.seed.Project + "/addCustomFieldSetting"},
	} {
		r := call(t, e.hs, "pat-admin", "POST", c.path, data(map[string]any{"workspace": e.seed.Workspace, "name": "Jira status",
			"resource_subtype": "enum", "custom_field": e.seed.PriorityField}))
		if r.Status != 402 || !strings.Contains(string(r.Body), "not available for free users") {
			t.Errorf("POST %s: %d %s", c.path, r.Status, r.Body)
		}
	}
}
