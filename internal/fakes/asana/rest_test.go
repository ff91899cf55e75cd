package asana

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRESTReadEndpoints(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	seed := s.Seed()
	tests := []struct {
		name, path string
		want       map[string]any // a subset of data
	}{
		{"me", "/users/me", map[string]any{"gid": seed.Users["alice"], "name": "Alice Anders", "email": "alice@acme.example"}},
		{"user by gid", "/users/" + seed.Users["bob"], map[string]any{"name": "Bob Brown"}},
		{"user by email", "/users/admin@acme.example", map[string]any{"gid": seed.Users["admin"]}},
		{"workspace", "/workspaces/" + seed.Workspace, map[string]any{"name": "Acme", "resource_type": "workspace"}},
		{"project", "/projects/" + seed.Project, map[string]any{"name": "Launch", "resource_type": "project"}},
		{"task", "/tasks/" + seed.Tasks[0].GID, map[string]any{"name": "Write the launch announcement", "completed": false, "resource_subtype": "default_task"}},
		{"task opt_fields", "/tasks/" + seed.Tasks[0].GID + "?opt_fields=name,assignee.name,permalink_url",
			map[string]any{"gid": seed.Tasks[0].GID, "name": "Write the launch announcement",
				"assignee":      map[string]any{"gid": seed.Users["alice"], "name": "Alice Anders"},
				"permalink_url": hs.URL + "/1/" + seed.Workspace + "/project/" + seed.Project + "/task/" + seed.Tasks[0].GID}},
		{"custom field", "/custom_fields/" + seed.PriorityField, map[string]any{"name": "Priority", "resource_subtype": "enum"}},
		{"attachment", "/attachments/" + seed.Tasks[0].Attachments["Press kit (Dropbox)"], map[string]any{"host": "dropbox", "resource_subtype": "dropbox"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := call(t, hs, "pat-alice", "GET", tc.path, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			got := r.data(t)
			sub := map[string]any{}
			for k := range tc.want {
				sub[k] = got[k]
			}
			if diff := cmp.Diff(tc.want, sub); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("opt_fields returns only what was asked", func(t *testing.T) {
		t.Parallel()
		r := call(t, hs, "pat-alice", "GET", "/tasks/"+seed.Tasks[0].GID+"?opt_fields=name,notes", nil)
		keys := sortedKeys(r.data(t))
		if diff := cmp.Diff([]string{"gid", "name", "notes"}, keys); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	})
}

func sortedKeys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func TestRESTLists(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	seed := s.Seed()
	tests := []struct {
		path string
		n    int
	}{
		{"/workspaces", 1},
		{"/users?workspace=" + seed.Workspace, 3},
		{"/workspaces/" + seed.Workspace + "/users", 3},
		{"/projects?workspace=" + seed.Workspace, 1},
		{"/workspaces/" + seed.Workspace + "/projects", 1},
		{"/projects/" + seed.Project + "/tasks", 3},
		{"/tasks?project=" + seed.Project, 3},
		{"/tasks/" + seed.Tasks[0].GID + "/stories", 1},
		{"/attachments?parent=" + seed.Tasks[0].GID, 4},
		{"/projects/" + seed.Project + "/custom_field_settings", 1},
		{"/workspaces/" + seed.Workspace + "/custom_fields", 1},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			r := call(t, hs, "pat-bob", "GET", tc.path, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if got := len(r.list(t)); got != tc.n {
				t.Errorf("got %d items, want %d", got, tc.n)
			}
			if _, ok := r.decode(t)["next_page"]; ok {
				t.Errorf("next_page present without limit")
			}
		})
	}
}

func TestRESTPagination(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	seed := s.Seed()
	var names []string
	path := "/projects/" + seed.Project + "/tasks?limit=2&opt_fields=name"
	for range 5 {
		r := call(t, hs, "pat-alice", "GET", path, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		for _, it := range r.list(t) {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		np := r.decode(t)["next_page"]
		if np == nil {
			break
		}
		next := np.(map[string]any)
		if next["uri"] != hs.URL+"/api/1.0"+next["path"].(string) {
			t.Errorf("next_page uri %v does not match path %v", next["uri"], next["path"])
		}
		path = next["path"].(string)
	}
	want := []string{"Write the launch announcement", "Prepare the demo environment", "Fix the checkout page login bug"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("paged names (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"?limit=0", "?limit=101", "?limit=2&offset=bogus"} {
		r := call(t, hs, "pat-alice", "GET", "/projects/"+seed.Project+"/tasks"+bad, nil)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad, r.Status)
		}
	}
}

func TestRESTErrors(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var unknown []string
	s, hs := newTestServer(t, Options{OnUnknownRoute: func(m, p string) {
		mu.Lock()
		defer mu.Unlock()
		unknown = append(unknown, m+" "+p)
	}})
	seed := s.Seed()
	tests := []struct {
		name, token, method, path string
		body                      any
		status                    int
	}{
		{"no token", "", "GET", "/users/me", nil, 401},
		{"bad token", "nope", "GET", "/users/me", nil, 401},
		{"unknown task", "pat-alice", "GET", "/tasks/999", nil, 404},
		{"unknown project", "pat-alice", "GET", "/projects/999", nil, 404},
		{"both text and html_text", "pat-alice", "POST", "/tasks/" + seed.Tasks[0].GID + "/stories",
			map[string]any{"data": map[string]any{"text": "a", "html_text": "<body>a</body>"}}, 400},
		{"missing text", "pat-alice", "POST", "/tasks/" + seed.Tasks[0].GID + "/stories", map[string]any{"data": map[string]any{}}, 400},
		{"custom field not on project", "pat-alice", "PUT", "/tasks/" + seed.Tasks[0].GID,
			map[string]any{"data": map[string]any{"custom_fields": map[string]any{"123": "x"}}}, 400},
		{"bad enum option", "pat-alice", "PUT", "/tasks/" + seed.Tasks[0].GID,
			map[string]any{"data": map[string]any{"custom_fields": map[string]any{seed.PriorityField: "123"}}}, 400},
		{"create task without workspace", "pat-alice", "POST", "/tasks", map[string]any{"data": map[string]any{"name": "x"}}, 400},
		{"attachments need parent", "pat-alice", "GET", "/attachments", nil, 400},
		{"events need resource", "pat-alice", "GET", "/events", nil, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := call(t, hs, tc.token, tc.method, tc.path, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			errs, _ := r.decode(t)["errors"].([]any)
			if len(errs) == 0 || errs[0].(map[string]any)["message"] == "" {
				t.Errorf("no errors[].message in %s", r.Body)
			}
		})
	}
	t.Run("unknown route", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", hs.URL+"/api/1.0/nothing/here", nil)
		req.Header.Set("Authorization", "Bearer pat-alice")
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("status %d", resp.StatusCode)
		}
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff([]string{"GET /api/1.0/nothing/here"}, unknown); diff != "" {
			t.Errorf("OnUnknownRoute calls (-want +got):\n%s", diff)
		}
	})
}

func TestRESTWrites(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	seed := s.Seed()
	task := seed.Tasks[1].GID

	r := call(t, hs, "pat-alice", "PUT", "/tasks/"+task, map[string]any{"data": map[string]any{
		"name": "Prepare the demo", "html_notes": "<body>Use <strong>two</strong> laptops.</body>", "completed": true,
		"assignee": "me", "custom_fields": map[string]any{seed.PriorityField: seed.PriorityOptions["Medium"]},
	}})
	if r.Status != 200 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	d := r.data(t)
	if d["notes"] != "Use two laptops." || d["completed"] != true || d["completed_at"] == nil {
		t.Errorf("update result: %v", d)
	}
	cf := d["custom_fields"].([]any)[0].(map[string]any)
	if cf["display_value"] != "Medium" || cf["enum_value"].(map[string]any)["gid"] != seed.PriorityOptions["Medium"] {
		t.Errorf("custom field after update: %v", cf)
	}
	got := s.Task(task)
	if got.Name != "Prepare the demo" || !got.Completed || got.Assignee != seed.Users["alice"] ||
		got.CustomFields[seed.PriorityField] != seed.PriorityOptions["Medium"] {
		t.Errorf("Task accessor: %+v", got)
	}

	// Form-encoded bodies work too.
	r = call(t, hs, "pat-bob", "PUT", "/tasks/"+task, "name=Renamed&completed=false")
	if r.Status != 200 || r.data(t)["name"] != "Renamed" || r.data(t)["completed"] != false {
		t.Errorf("form update: %d %s", r.Status, r.Body)
	}

	r = call(t, hs, "pat-alice", "POST", "/tasks", map[string]any{"data": map[string]any{
		"name": "New task", "notes": "from the API", "projects": []string{seed.Project}}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	newGID := r.data(t)["gid"].(string)
	if r.Header.Get("Location") == "" || len(s.Tasks(seed.Project)) != 4 {
		t.Errorf("created task not listed or no Location")
	}

	r = call(t, hs, "pat-bob", "POST", "/tasks/"+newGID+"/stories", map[string]any{"data": map[string]any{"text": "Looks <good>"}})
	if r.Status != 201 {
		t.Fatalf("story: %d %s", r.Status, r.Body)
	}
	if d := r.data(t); d["html_text"] != "<body>Looks &lt;good&gt;</body>" || d["type"] != "comment" {
		t.Errorf("story: %v", d)
	}
	stories := s.Stories(newGID)
	if len(stories) != 1 || stories[0].Text != "Looks <good>" || stories[0].Author != seed.Users["bob"] {
		t.Errorf("Stories accessor: %+v", stories)
	}

	// Custom fields: create an enum field, put it on the project, set it.
	r = call(t, hs, "pat-admin", "POST", "/custom_fields", map[string]any{"data": map[string]any{
		"workspace": seed.Workspace, "name": "Jira status", "resource_subtype": "enum",
		"enum_options": []any{map[string]any{"name": "To Do", "color": "blue"}, map[string]any{"name": "Done", "color": "green"}}}})
	if r.Status != 201 {
		t.Fatalf("custom field: %d %s", r.Status, r.Body)
	}
	field := r.data(t)
	fieldGID := field["gid"].(string)
	done := field["enum_options"].([]any)[1].(map[string]any)["gid"].(string)
	r = call(t, hs, "pat-admin", "POST", "/custom_fields/"+fieldGID+"/enum_options", map[string]any{"data": map[string]any{"name": "Blocked", "color": "red"}})
	if r.Status != 201 {
		t.Errorf("enum option: %d %s", r.Status, r.Body)
	}
	r = call(t, hs, "pat-admin", "POST", "/projects/"+seed.Project+"/addCustomFieldSetting", map[string]any{"data": map[string]any{"custom_field": fieldGID}})
	if r.Status != 200 {
		t.Fatalf("add setting: %d %s", r.Status, r.Body)
	}
	r = call(t, hs, "pat-alice", "PUT", "/tasks/"+newGID+"?opt_fields=custom_fields.name,custom_fields.display_value",
		map[string]any{"data": map[string]any{"custom_fields": map[string]any{fieldGID: done}}})
	if r.Status != 200 {
		t.Fatalf("set field: %d %s", r.Status, r.Body)
	}
	if s.Task(newGID).CustomFields[fieldGID] != done {
		t.Errorf("custom field value not stored: %+v", s.Task(newGID))
	}

	r = call(t, hs, "pat-alice", "DELETE", "/tasks/"+newGID, nil)
	if r.Status != 200 {
		t.Errorf("delete: %d", r.Status)
	}
	if r := call(t, hs, "pat-alice", "GET", "/tasks/"+newGID, nil); r.Status != 404 {
		t.Errorf("deleted task still found: %d", r.Status)
	}
}

func multipartBody(t *testing.T, fields map[string]string, fileName string, content []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if fileName != "" {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+fileName+`"`)
		h.Set("Content-Type", "text/plain")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(content); err != nil {
			t.Fatal(err)
		}
	}
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

func upload(t *testing.T, hs interface{ Client() *http.Client }, base, token string, body []byte, ct string) apiResp {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/api/1.0/attachments", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	validateREST(t, "POST", "/api/1.0/attachments", resp.StatusCode, resp.Header, raw)
	return apiResp{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

func TestAttachments(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var clockMu sync.Mutex
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func(d time.Duration) { clockMu.Lock(); defer clockMu.Unlock(); now = now.Add(d) }
	s, hs := newTestServer(t, Options{Now: clock})
	seed := s.Seed()
	task := seed.Tasks[0].GID

	r := call(t, hs, "pat-alice", "GET", "/attachments?parent="+task+"&opt_fields=name,host,resource_subtype,download_url,view_url,size,connected_to_app", nil)
	hosts := map[string]map[string]any{}
	for _, it := range r.list(t) {
		m := it.(map[string]any)
		hosts[m["host"].(string)] = m
	}
	if diff := cmp.Diff([]string{"asana", "dropbox", "gdrive"}, sortedKeys(toAny(hosts))); diff != "" {
		t.Fatalf("hosts (-want +got):\n%s", diff)
	}
	pdfURL := hosts["asana"]["download_url"].(string)

	// Both Asana-hosted files (the list holds two) download while fresh.
	get := func(u string) (int, []byte) {
		resp, err := hs.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := get(pdfURL); code != 200 || len(b) == 0 {
		t.Errorf("fresh download: %d", code)
	}
	advance(downloadLifetime + time.Second)
	if code, _ := get(pdfURL); code != http.StatusForbidden {
		t.Errorf("expired download: %d, want 403", code)
	}

	// Upload a file.
	body, ct := multipartBody(t, map[string]string{"parent": task}, "notes.txt", []byte("hello"))
	r = upload(t, hs, hs.URL, "pat-alice", body, ct)
	if r.Status != 200 || r.data(t)["resource_subtype"] != "asana" || r.data(t)["name"] != "notes.txt" {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	if code, b := get(r.data(t)["download_url"].(string)); code != 200 || string(b) != "hello" {
		t.Errorf("download of upload: %d %q", code, b)
	}

	// External link connected to the app needs OAuth.
	ext := map[string]string{"parent": task, "resource_subtype": "external", "url": "https://jira.example/browse/DEMO-1",
		"name": "DEMO-1", "connect_to_app": "true"}
	body, ct = multipartBody(t, ext, "", nil)
	if r := upload(t, hs, hs.URL, "pat-alice", body, ct); r.Status != 400 {
		t.Errorf("connect_to_app with a PAT: %d, want 400", r.Status)
	}
	access, _, err := s.IssueAccessToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	r = upload(t, hs, hs.URL, access, body, ct)
	if r.Status != 200 || r.data(t)["connected_to_app"] != true || r.data(t)["host"] != "external" {
		t.Fatalf("external: %d %s", r.Status, r.Body)
	}
	atts := s.Attachments(task)
	last := atts[len(atts)-1]
	if last.Host != "external" || last.URL != "https://jira.example/browse/DEMO-1" || !last.ConnectedToApp {
		t.Errorf("Attachments accessor: %+v", last)
	}
	// Cloud-drive attachments cannot be made through the API.
	body, ct = multipartBody(t, map[string]string{"parent": task, "resource_subtype": "dropbox", "url": "https://dropbox.com/x"}, "", nil)
	if r := upload(t, hs, hs.URL, "pat-alice", body, ct); r.Status != 400 {
		t.Errorf("dropbox upload: %d, want 400", r.Status)
	}
	if r := call(t, hs, "pat-alice", "DELETE", "/attachments/"+last.GID, nil); r.Status != 200 {
		t.Errorf("delete: %d", r.Status)
	}
}

func toAny[V any](m map[string]V) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
