package asana

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// changeEnv is one emulator with its seed and the gids a case's setup made.
type changeEnv struct {
	s    *Server
	hs   *httptest.Server
	seed SeedIDs
	gids map[string]string
}

func newChangeEnv(t *testing.T, opts Options) *changeEnv {
	t.Helper()
	s, hs := newTestServer(t, opts)
	return &changeEnv{s: s, hs: hs, seed: s.Seed(), gids: map[string]string{}}
}

// projectWebhook registers a webhook on the project (as alice) that
// delivers to a new hookTarget.
func (e *changeEnv) projectWebhook(t *testing.T) *hookTarget {
	t.Helper()
	target := newHookTarget(t)
	e.call(t, "pat-alice", "POST", "/webhooks", data(map[string]any{"resource": e.seed.Project, "target": target.URL}), 201)
	return target
}

func (e *changeEnv) call(t *testing.T, token, method, path string, body any, want int) apiResp {
	t.Helper()
	r := call(t, e.hs, token, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

func data(fields map[string]any) map[string]any { return map[string]any{"data": fields} }

// changeCases are the changes a sync engine must see, each as Asana
// records it: the events of /events, the webhook deliveries and the stories.
var changeCases = []struct {
	name  string
	setup func(t *testing.T, e *changeEnv)
	do    func(t *testing.T, e *changeEnv)
}{
	{name: "comment", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-bob", "POST", "/tasks/"+e.seed.Tasks[1].GID+"/stories", data(map[string]any{"text": "Looks good to me"}), 201)
	}},
	{name: "comment_html", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-bob", "POST", "/tasks/"+e.seed.Tasks[1].GID+"/stories",
			data(map[string]any{"html_text": "<body>Ship it <strong>today</strong></body>"}), 201)
	}},
	{name: "comment_edited", setup: func(t *testing.T, e *changeEnv) {
		r := e.call(t, "pat-bob", "POST", "/tasks/"+e.seed.Tasks[1].GID+"/stories", data(map[string]any{"text": "Typo hre"}), 201)
		e.gids["story"] = r.data(t)["gid"].(string)
	}, do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-bob", "PUT", "/stories/"+e.gids["story"], data(map[string]any{"text": "Typo here"}), 200)
	}},
	{name: "comment_deleted", setup: func(t *testing.T, e *changeEnv) {
		r := e.call(t, "pat-bob", "POST", "/tasks/"+e.seed.Tasks[1].GID+"/stories", data(map[string]any{"text": "Wrong task"}), 201)
		e.gids["story"] = r.data(t)["gid"].(string)
	}, do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-bob", "DELETE", "/stories/"+e.gids["story"], nil, 200)
	}},
	{name: "completed", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[1].GID, data(map[string]any{"completed": true}), 200)
	}},
	{name: "reopened", setup: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[1].GID, data(map[string]any{"completed": true}), 200)
	}, do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[1].GID, data(map[string]any{"completed": false}), 200)
	}},
	{name: "assigned", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[2].GID, data(map[string]any{"assignee": "alice@acme.example"}), 200)
	}},
	{name: "unassigned", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[1].GID, data(map[string]any{"assignee": nil}), 200)
	}},
	{name: "due_date_set", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[1].GID, data(map[string]any{"due_on": "2026-03-20"}), 200)
	}},
	{name: "due_date_removed", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[0].GID, data(map[string]any{"due_on": nil}), 200)
	}},
	{name: "renamed", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[1].GID, data(map[string]any{"name": "Prepare the demo laptops"}), 200)
	}},
	{name: "notes_changed", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[1].GID,
			data(map[string]any{"html_notes": "<body>Two laptops, <em>charged</em>.</body>"}), 200)
	}},
	{name: "section_changed", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "POST", "/sections/"+e.seed.Sections["In progress"]+"/addTask",
			data(map[string]any{"task": e.seed.Tasks[1].GID}), 200)
	}},
	{name: "enum_field_changed", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[0].GID,
			data(map[string]any{"custom_fields": map[string]any{e.seed.PriorityField: e.seed.PriorityOptions["Low"]}}), 200)
	}},
	{name: "enum_field_cleared", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "PUT", "/tasks/"+e.seed.Tasks[0].GID,
			data(map[string]any{"custom_fields": map[string]any{e.seed.PriorityField: nil}}), 200)
	}},
	{name: "task_created", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "POST", "/tasks", data(map[string]any{"name": "Book the venue", "projects": []string{e.seed.Project},
			"assignee": "me", "due_on": "2026-04-01"}), 201)
	}},
	{name: "task_created_in_section", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-alice", "POST", "/tasks", data(map[string]any{"name": "Order the banners",
			"memberships": []any{map[string]any{"project": e.seed.Project, "section": e.seed.Sections["Done"]}}}), 201)
	}},
	{name: "file_attached", do: func(t *testing.T, e *changeEnv) {
		body, ct := multipartBody(t, map[string]string{"parent": e.seed.Tasks[1].GID}, "checklist.txt", []byte("laptops"))
		if r := upload(t, e.hs, e.hs.URL, "pat-alice", body, ct); r.Status != 200 {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
	}},
	{name: "section_created", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-admin", "POST", "/projects/"+e.seed.Project+"/sections", data(map[string]any{"name": "Blocked"}), 201)
	}},
	{name: "enum_option_created", do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-admin", "POST", "/custom_fields/"+e.seed.PriorityField+"/enum_options",
			data(map[string]any{"name": "Urgent", "color": "purple"}), 201)
	}},
	{name: "custom_field_added_to_project", setup: func(t *testing.T, e *changeEnv) {
		r := e.call(t, "pat-admin", "POST", "/custom_fields", data(map[string]any{"workspace": e.seed.Workspace,
			"name": "Jira status", "resource_subtype": "enum", "enum_options": []any{map[string]any{"name": "To Do"}}}), 201)
		e.gids["field"] = r.data(t)["gid"].(string)
	}, do: func(t *testing.T, e *changeEnv) {
		e.call(t, "pat-admin", "POST", "/projects/"+e.seed.Project+"/addCustomFieldSetting",
			data(map[string]any{"custom_field": e.gids["field"]}), 200)
	}},
}

// changeGolden is what one change produces, as testdata/golden keeps it.
type changeGolden struct {
	// Events is what GET /events?resource=<project> lists for the change.
	Events []any `json:"events"`
	// Webhook is what a webhook on the project delivers (all bodies'
	// events, in order).
	Webhook []any `json:"webhook"`
	// Stories are the stories the change added, as GET /stories/{gid}
	// returns them.
	Stories []any `json:"stories"`
}

func TestChangesAsAsanaRecordsThem(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range changeCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newChangeEnv(t, Options{Now: func() time.Time { return clock }})
			s, hs := e.s, e.hs
			if tc.setup != nil {
				tc.setup(t, e)
			}
			target := e.projectWebhook(t)
			r := call(t, hs, "pat-alice", "GET", "/events?resource="+e.seed.Project, nil)
			sync := r.decode(t)["sync"].(string)
			before := allStories(s, e.seed.Project)

			tc.do(t, e)

			r = e.call(t, "pat-alice", "GET", "/events?resource="+e.seed.Project+"&sync="+sync, nil, 200)
			got := changeGolden{Events: r.decode(t)["data"].([]any), Stories: []any{}}
			waitFor(t, "the webhook deliveries", func() bool { return len(target.events()) >= len(got.Events) })
			got.Webhook = target.events()
			for _, gid := range allStories(s, e.seed.Project) {
				if !slices.Contains(before, gid) {
					got.Stories = append(got.Stories, e.call(t, "pat-alice", "GET", "/stories/"+gid, nil, 200).data(t))
				}
			}
			if len(got.Events) == 0 {
				t.Fatalf("the change recorded no event")
			}
			// A webhook carries the same events, reduced to gids and types.
			if diff := cmp.Diff(hookForm(got.Events), got.Webhook); diff != "" {
				t.Errorf("webhook events are not the events API's reduced to gids and types (-want +got):\n%s", diff)
			}
			checkGolden(t, filepath.Join("testdata", "golden", tc.name+".json"), got)
		})
	}
}

// hookForm is what a webhook body must carry for events-API events: no
// names or other values, only gids and types (and no deprecated "type").
func hookForm(events []any) []any {
	reduce := func(v any) any {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := map[string]any{}
		for _, k := range []string{"gid", "resource_type", "resource_subtype"} {
			if x, ok := m[k]; ok {
				out[k] = x
			}
		}
		return out
	}
	out := []any{}
	for _, ev := range events {
		m := ev.(map[string]any)
		h := map[string]any{}
		for k, v := range m {
			switch k {
			case "type":
			case "user", "resource", "parent":
				if v != nil {
					v = reduce(v)
				}
				h[k] = v
			case "change":
				c := map[string]any{}
				for ck, cv := range v.(map[string]any) {
					if strings.HasSuffix(ck, "_value") {
						cv = reduce(cv)
					}
					c[ck] = cv
				}
				h[k] = c
			default:
				h[k] = v
			}
		}
		out = append(out, h)
	}
	return out
}

func allStories(s *Server, project string) []string {
	var out []string
	for _, t := range s.Tasks(project) {
		for _, sy := range s.Stories(t.GID) {
			out = append(out, sy.GID)
		}
	}
	return out
}

// events are the events of every delivery so far, in order.
func (h *hookTarget) events() []any {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []any{}
	for _, b := range h.bodies {
		if evs, ok := b["events"].([]any); ok {
			out = append(out, evs...)
		}
	}
	return out
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func checkGolden(t *testing.T, path string, got any) {
	t.Helper()
	raw, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(raw)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

// shape keeps an object's keys and replaces values by their JSON type,
// except the fields that name kinds (resource_type, resource_subtype,
// action), whose values must match too.
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			switch k {
			case "resource_type", "resource_subtype", "action":
				out[k] = val
			default:
				out[k] = shape(val)
			}
		}
		return out
	case []any:
		out := []any{}
		for _, val := range x {
			out = append(out, shape(val))
		}
		return out
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return nil
}

func readRecorded(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "recorded", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWebhookBodiesMatchRecordings holds webhook bodies to recorded ones:
// a task created in a project arrives as "added" to its section (besides
// "added" to the project), a comment as a story "added" to its task, each
// with exactly the recorded keys.
func TestWebhookBodiesMatchRecordings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		recording string
		do        func(t *testing.T, e *changeEnv)
	}{
		{"webhook_task_added_to_section.json", func(t *testing.T, e *changeEnv) {
			e.call(t, "pat-alice", "POST", "/tasks", data(map[string]any{"name": "Book the venue", "projects": []string{e.seed.Project}}), 201)
		}},
		{"webhook_comment_added.json", func(t *testing.T, e *changeEnv) {
			e.call(t, "pat-alice", "POST", "/tasks/"+e.seed.Tasks[0].GID+"/stories", data(map[string]any{"text": "On it"}), 201)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.recording, func(t *testing.T) {
			t.Parallel()
			e := newChangeEnv(t, Options{})
			target := e.projectWebhook(t)
			tc.do(t, e)
			want := shape(readRecorded(t, tc.recording)["events"].([]any)[0])
			waitFor(t, "a delivery of the recorded shape", func() bool {
				for _, ev := range target.events() {
					if cmp.Equal(want, shape(ev)) {
						return true
					}
				}
				return false
			})
		})
	}
}

// TestDueDateStoryMatchesRecording replays the recorded due date change
// (February 15 to February 21, 2019) and wants the recorded story back.
func TestDueDateStoryMatchesRecording(t *testing.T) {
	t.Parallel()
	clock := time.Date(2019, 2, 10, 9, 0, 0, 0, time.UTC)
	e := newChangeEnv(t, Options{Now: func() time.Time { return clock }})
	s := e.s
	task := e.seed.Tasks[1].GID
	e.call(t, "pat-alice", "PUT", "/tasks/"+task, data(map[string]any{"due_on": "2019-02-15"}), 200)
	e.call(t, "pat-alice", "PUT", "/tasks/"+task, data(map[string]any{"due_on": "2019-02-21"}), 200)
	stories := s.Stories(task)
	got := e.call(t, "pat-alice", "GET", "/stories/"+stories[len(stories)-1].GID, nil, 200).data(t)
	want := readRecorded(t, "story_due_date_changed.json")
	sub := map[string]any{}
	for k := range want {
		sub[k] = got[k]
	}
	want["gid"] = got["gid"]
	if diff := cmp.Diff(want, sub); diff != "" {
		t.Errorf("due date story (-recorded +emulator):\n%s", diff)
	}
	if got["type"] != "system" || got["created_by"].(map[string]any)["gid"] != e.seed.Users["alice"] {
		t.Errorf("story type %v, created_by %v", got["type"], got["created_by"])
	}
}

// TestEvents412MatchesSpecExample: no token, an unknown token and an
// expired one all answer exactly the documented 412.
func TestEvents412MatchesSpecExample(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var clockMu sync.Mutex
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	s, hs := newTestServer(t, Options{Now: clock})
	project := s.Seed().Project
	want := readRecorded(t, "events_412.json")
	check := func(t *testing.T, r apiResp) string {
		t.Helper()
		if r.Status != http.StatusPreconditionFailed {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		got := r.decode(t)
		sync, _ := got["sync"].(string)
		if !hex32.MatchString(sync) {
			t.Errorf("sync %q is not like the spec's %q", sync, want["sync"])
		}
		got["sync"] = want["sync"]
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("412 body (-spec +emulator):\n%s", diff)
		}
		return sync
	}
	first := check(t, call(t, hs, "pat-alice", "GET", "/events?resource="+project, nil))
	check(t, call(t, hs, "pat-alice", "GET", "/events?resource="+project+"&sync=de4774f6915eae04714ca93bb2f5ee81", nil))
	if r := call(t, hs, "pat-alice", "GET", "/events?resource="+project+"&sync="+first, nil); r.Status != 200 {
		t.Fatalf("a fresh token: %d", r.Status)
	}
	clockMu.Lock()
	now = now.Add(syncTokenLifetime)
	clockMu.Unlock()
	check(t, call(t, hs, "pat-alice", "GET", "/events?resource="+project+"&sync="+first, nil))
}
