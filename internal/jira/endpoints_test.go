package jira

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestServerInfo(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/rest/api/2/serverInfo", serveFixture(t, "GET", "rest/jiracli-serverinfo.json"))
	got, err := c.ServerInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.BaseURL != "https://demo.atlassian.net" || got.BuildNumber != 100204 || !got.IsCloud() {
		t.Errorf("ServerInfo = %+v", got)
	}
	if v := got.ParsedVersion(); v != (Version{1001, 0, 0}) {
		t.Errorf("ParsedVersion = %v", v)
	}
	if got.ServerTime.IsZero() {
		t.Error("serverTime not parsed")
	}
}

func TestVersionFeatures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version string
		want    Features
	}{
		{"7.13.5", Features{LegacyCreateMeta: true}},
		{"8.4.0", Features{PaginatedCreateMeta: true, LegacyCreateMeta: true}},
		{"8.14.1", Features{PaginatedCreateMeta: true, LegacyCreateMeta: true, PersonalAccessTokens: true, RateLimiting: true}},
		{"8.22.0", Features{PaginatedCreateMeta: true, LegacyCreateMeta: true, PersonalAccessTokens: true, BasicAuthToggle: true, OAuth2Provider: true, RateLimiting: true}},
		{"9.12.4", Features{PaginatedCreateMeta: true, PersonalAccessTokens: true, BasicAuthToggle: true, OAuth2Provider: true, RateLimiting: true}},
		{"10.3.0-SNAPSHOT", Features{PaginatedCreateMeta: true, PersonalAccessTokens: true, BasicAuthToggle: true, OAuth2Provider: true, RateLimiting: true, AsyncWebhooksOnly: true}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			t.Parallel()
			v, err := ParseVersion(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, v.Features()); diff != "" {
				t.Errorf("Features(%s) (-want +got):\n%s", tt.version, diff)
			}
		})
	}
	if _, err := ParseVersion("nine"); err == nil {
		t.Error("ParseVersion accepted garbage")
	}
}

func TestMyself(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/rest/api/2/myself", serveFixture(t, "GET", "rest/jiracli-myself.json"))
	got, err := c.Myself(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&User{DisplayName: "Person A", EmailAddress: "user@test.com"}, got); diff != "" {
		t.Error(diff)
	}
}

func TestProjectsPrioritiesFields(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/rest/api/2/project", serveFixture(t, "GET", "rest/jiracli-projects.json"))
	mux.HandleFunc("/rest/api/2/field", serveFixture(t, "GET", "rest/jiracli-fields.json"))
	mux.HandleFunc("/rest/api/2/priority", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `[{"self":"x","id":"1","name":"Highest","iconUrl":"i"}]`)
	})
	mux.HandleFunc("/rest/api/2/project/OPS", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"10000","key":"OPS","name":"Ops","issueTypes":[{"id":"10001","name":"Task"}]}`)
	})
	mux.HandleFunc("/rest/api/2/project/OPS/statuses", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `[{"id":"10001","name":"Task","subtask":false,"statuses":[{"id":"1","name":"Open","statusCategory":{"id":2,"key":"new"}}]}]`)
	})
	ctx := t.Context()
	ps, err := c.Projects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[1].Key != "PRJ2" || ps[1].Lead.DisplayName != "Person B" {
		t.Errorf("Projects = %+v", ps)
	}
	p, err := c.Project(ctx, "OPS")
	if err != nil || p.IssueTypes[0].Name != "Task" {
		t.Errorf("Project = %+v, %v", p, err)
	}
	st, err := c.ProjectStatuses(ctx, "OPS")
	if err != nil || st[0].Statuses[0].StatusCategory.Key != "new" {
		t.Errorf("ProjectStatuses = %+v, %v", st, err)
	}
	pr, err := c.Priorities(ctx)
	if err != nil || pr[0].Name != "Highest" {
		t.Errorf("Priorities = %+v, %v", pr, err)
	}
	fs, err := c.Fields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Field{ID: "customfield_10111", Name: "Original story points", Custom: true, Orderable: true, Navigable: true, Searchable: true,
		ClauseNames: []string{"cf[10111]", "Original story points"},
		Schema:      FieldSchema{Type: "number", Custom: "com.atlassian.jpo:jpo-custom-field-original-story-points", CustomID: 10111}}
	if diff := cmp.Diff(want, fs[1]); diff != "" {
		t.Error(diff)
	}
}

func TestGetIssue(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/rest/api/2/issue/TEST-1", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, "fields", "summary,status")
		testQuery(t, r, "expand", "renderedFields")
		serveFixture(t, "GET", "rest/jiracli-issue.json")(w, r)
	})
	got, err := c.GetIssue(t.Context(), "TEST-1", &GetIssueOptions{Fields: []string{"summary", "status"}, Expand: []string{"renderedFields"}})
	if err != nil {
		t.Fatal(err)
	}
	f := got.Fields
	// The fixture's description is a Cloud document object: it must not
	// break decoding and reads as empty wiki text.
	if got.Key != "TEST-1" || f.Summary != "Bug summary" || f.Status.Name != "To Do" || f.Description != "" || f.Assignee != nil {
		t.Errorf("GetIssue = %+v", got)
	}
	if f.Created.IsZero() || f.Created.Format(TimeLayout) != "2020-12-03T14:05:20.974+0100" {
		t.Errorf("created = %v", f.Created)
	}
	if _, ok := f.Other["watches"]; !ok {
		t.Errorf("Other lacks unknown fields: %v", f.Other)
	}
	if _, ok := f.Other["summary"]; ok {
		t.Error("Other repeats known fields")
	}
}

func TestCreateEditAssignIssue(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /rest/api/2/issue", func(w http.ResponseWriter, r *http.Request) {
		body := decodeJSONBody(t, r)
		want := map[string]any{"fields": map[string]any{"project": map[string]any{"key": "TEST"}, "summary": "Hello", "issuetype": map[string]any{"id": "10002"}}}
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("create body (-want +got):\n%s", diff)
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(fixture(t, "rest/jiracli-create.json"))
	})
	mux.HandleFunc("PUT /rest/api/2/issue/TEST-3", func(w http.ResponseWriter, r *http.Request) {
		body := decodeJSONBody(t, r)
		want := map[string]any{"update": map[string]any{"labels": []any{map[string]any{"add": "asana"}}}}
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("edit body (-want +got):\n%s", diff)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /rest/api/2/issue/TEST-3/assignee", func(w http.ResponseWriter, r *http.Request) {
		if diff := cmp.Diff(map[string]any{"name": nil}, decodeJSONBody(t, r)); diff != "" {
			t.Errorf("assignee body: %s", diff)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := t.Context()
	got, err := c.CreateIssue(ctx, IssueInput{Fields: map[string]any{"project": map[string]string{"key": "TEST"}, "summary": "Hello", "issuetype": map[string]string{"id": "10002"}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&CreatedIssue{ID: "10057", Key: "TEST-3"}, got); diff != "" {
		t.Error(diff)
	}
	if err := c.EditIssue(ctx, "TEST-3", IssueInput{Update: map[string][]any{"labels": {map[string]string{"add": "asana"}}}}); err != nil {
		t.Error(err)
	}
	if err := c.AssignIssue(ctx, "TEST-3", ""); err != nil {
		t.Error(err)
	}
}

func TestSearchIter(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	const total = 5
	mux.HandleFunc("POST /rest/api/2/search", func(w http.ResponseWriter, r *http.Request) {
		body := decodeJSONBody(t, r)
		if body["jql"] != "project = TEST" {
			t.Errorf("jql = %v", body["jql"])
		}
		start := int(body["startAt"].(float64))
		var issues []string
		for i := start; i < min(start+2, total); i++ {
			issues = append(issues, fmt.Sprintf(`{"key":"TEST-%d","fields":{"summary":"s%d"}}`, i+1, i+1))
		}
		writeJSON(w, 200, fmt.Sprintf(`{"startAt":%d,"maxResults":2,"total":%d,"issues":[%s]}`, start, total, join(issues)))
	})
	var keys []string
	for is, err := range c.SearchIter(t.Context(), SearchOptions{JQL: "project = TEST", MaxResults: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, is.Key)
	}
	if diff := cmp.Diff([]string{"TEST-1", "TEST-2", "TEST-3", "TEST-4", "TEST-5"}, keys); diff != "" {
		t.Error(diff)
	}
	// Stopping early must not fetch further pages.
	for _, err := range c.SearchIter(t.Context(), SearchOptions{JQL: "project = TEST", MaxResults: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

func TestSearchFixture(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("/rest/api/2/search", serveFixture(t, "POST", "rest/jiracli-search.json"))
	res, err := c.Search(t.Context(), SearchOptions{JQL: "project = TEST"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Issues) != 3 || res.Issues[2].Fields.Resolution.Name != "Done" || res.Issues[1].Fields.Labels[1] != "feature" {
		t.Errorf("Search = %+v", res)
	}
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /rest/api/2/issue/TEST-1/transitions", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, "expand", "transitions.fields")
		serveFixture(t, "GET", "rest/jiracli-transitions.json")(w, r)
	})
	mux.HandleFunc("POST /rest/api/2/issue/TEST-1/transitions", func(w http.ResponseWriter, r *http.Request) {
		want := map[string]any{"transition": map[string]any{"id": "31"}, "fields": map[string]any{"resolution": map[string]any{"name": "Done"}}}
		if diff := cmp.Diff(want, decodeJSONBody(t, r)); diff != "" {
			t.Errorf("transition body: %s", diff)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ts, err := c.Transitions(t.Context(), "TEST-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || ts[2].Name != "Done" || *ts[2].IsAvailable {
		t.Errorf("Transitions = %+v", ts)
	}
	if err := c.DoTransition(t.Context(), "TEST-1", TransitionInput{ID: "31", Fields: map[string]any{"resolution": map[string]string{"name": "Done"}}}); err != nil {
		t.Error(err)
	}
}

func TestComments(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /rest/api/2/issue/TEST-1/comment", func(w http.ResponseWriter, r *http.Request) {
		if diff := cmp.Diff(map[string]any{"body": "from *Asana*"}, decodeJSONBody(t, r)); diff != "" {
			t.Errorf("comment body: %s", diff)
		}
		writeJSON(w, 201, `{"id":"10100","body":"from *Asana*","created":"2024-01-02T03:04:05.000+0000","updated":"2024-01-02T03:04:05.000+0000","author":{"name":"alice"}}`)
	})
	mux.HandleFunc("PUT /rest/api/2/issue/TEST-1/comment/10100", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"10100","body":"edited"}`)
	})
	mux.HandleFunc("DELETE /rest/api/2/issue/TEST-1/comment/10100", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /rest/api/2/issue/TEST-1/comment", func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
		testQuery(t, r, "orderBy", "created")
		if start == 0 {
			writeJSON(w, 200, `{"startAt":0,"maxResults":1,"total":2,"comments":[{"id":"1","body":"a"}]}`)
			return
		}
		writeJSON(w, 200, `{"startAt":1,"maxResults":1,"total":2,"comments":[{"id":"2","body":"b"}]}`)
	})
	ctx := t.Context()
	cm, err := c.AddComment(ctx, "TEST-1", "from *Asana*", nil)
	if err != nil || cm.ID != "10100" || cm.Author.Name != "alice" || cm.Created.IsZero() {
		t.Fatalf("AddComment = %+v, %v", cm, err)
	}
	if cm, err := c.UpdateComment(ctx, "TEST-1", "10100", "edited"); err != nil || cm.Body != "edited" {
		t.Errorf("UpdateComment = %+v, %v", cm, err)
	}
	if err := c.DeleteComment(ctx, "TEST-1", "10100"); err != nil {
		t.Error(err)
	}
	var bodies []string
	for cm, err := range c.CommentsIter(ctx, "TEST-1") {
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, cm.Body)
	}
	if diff := cmp.Diff([]string{"a", "b"}, bodies); diff != "" {
		t.Error(diff)
	}
}

func TestRemoteLinks(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	calls := 0
	mux.HandleFunc("POST /rest/api/2/issue/TEST-1/remotelink", func(w http.ResponseWriter, r *http.Request) {
		calls++
		body := decodeJSONBody(t, r)
		if body["globalId"] != "asana:task:123" || body["object"].(map[string]any)["title"] != "Task" {
			t.Errorf("remotelink body = %v", body)
		}
		if _, ok := body["id"]; ok {
			t.Error("id sent on upsert")
		}
		status := http.StatusCreated
		if calls > 1 {
			status = http.StatusOK
		}
		writeJSON(w, status, `{"id":10000,"self":"http://jira/rest/api/2/issue/TEST-1/remotelink/10000"}`)
	})
	mux.HandleFunc("GET /rest/api/2/issue/TEST-1/remotelink", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("globalId") != "" {
			writeJSON(w, 200, `{"id":10000,"globalId":"asana:task:123","object":{"url":"https://app.asana.com/0/1/123","title":"Task"}}`)
			return
		}
		writeJSON(w, 200, `[{"id":10000,"globalId":"asana:task:123","object":{"url":"https://app.asana.com/0/1/123","title":"Task"}}]`)
	})
	mux.HandleFunc("DELETE /rest/api/2/issue/TEST-1/remotelink", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, "globalId", "asana:task:123")
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := t.Context()
	link := RemoteLink{GlobalID: "asana:task:123", Application: &RemoteLinkApp{Type: "com.asana", Name: "Asana"}, Relationship: "tracked in",
		Object: RemoteLinkObject{URL: "https://app.asana.com/0/1/123", Title: "Task"}}
	for i, wantCreated := range []bool{true, false} {
		res, err := c.UpsertRemoteLink(ctx, "TEST-1", link)
		if err != nil || res.ID != 10000 || res.Created != wantCreated {
			t.Errorf("upsert %d = %+v, %v", i, res, err)
		}
	}
	for _, gid := range []string{"", "asana:task:123"} {
		ls, err := c.RemoteLinks(ctx, "TEST-1", gid)
		if err != nil || len(ls) != 1 || ls[0].GlobalID != "asana:task:123" {
			t.Errorf("RemoteLinks(%q) = %+v, %v", gid, ls, err)
		}
	}
	if err := c.DeleteRemoteLink(ctx, "TEST-1", "asana:task:123"); err != nil {
		t.Error(err)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /rest/api/2/user/search", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, "username", "jane@domain.tld")
		testQuery(t, r, "maxResults", "10")
		serveFixture(t, "GET", "rest/jiracli-users.json")(w, r)
	})
	mux.HandleFunc("GET /rest/api/2/user/assignable/search", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, "project", "TEST")
		testQuery(t, r, "username", "ja")
		serveFixture(t, "GET", "rest/jiracli-users.json")(w, r)
	})
	mux.HandleFunc("GET /rest/api/2/user", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		writeJSON(w, 200, fmt.Sprintf(`{"key":"JIRAUSER10100","name":%q}`, q.Get("username")+q.Get("key")))
	})
	ctx := t.Context()
	us, err := c.SearchUsers(ctx, "jane@domain.tld", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []User{{EmailAddress: "jane@domain.tld", Name: "janedoe", DisplayName: "Jane Doe", Active: true}, {EmailAddress: "jon@domain.tld", DisplayName: "Jon Doe"}}
	if diff := cmp.Diff(want, us); diff != "" {
		t.Error(diff)
	}
	if _, err := c.AssignableUsers(ctx, AssignableOptions{Project: "TEST", Query: "ja"}); err != nil {
		t.Error(err)
	}
	if _, err := c.AssignableUsers(ctx, AssignableOptions{Query: "ja"}); err == nil {
		t.Error("AssignableUsers without project or issue succeeded")
	}
	if u, err := c.UserByKey(ctx, "JIRAUSER10100"); err != nil || u.Name != "JIRAUSER10100" {
		t.Errorf("UserByKey = %+v, %v", u, err)
	}
	if u, err := c.UserByName(ctx, "alice"); err != nil || u.Name != "alice" {
		t.Errorf("UserByName = %+v, %v", u, err)
	}
}

func TestWebhookRegistration(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /rest/webhooks/1.0/webhook", func(w http.ResponseWriter, r *http.Request) {
		body := decodeJSONBody(t, r)
		if body["url"] != "https://bridge/hooks/jira?secret=s3cret" || body["enabled"] != true {
			t.Errorf("webhook body = %v", body)
		}
		writeJSON(w, 201, `{"self":"http://jira/rest/webhooks/1.0/webhook/7","name":"asanajira","url":"https://bridge/hooks/jira?secret=s3cret","events":["jira:issue_updated"],"enabled":true,"lastUpdated":1700000000000}`)
	})
	mux.HandleFunc("GET /rest/webhooks/1.0/webhook", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `[{"self":"http://jira/rest/webhooks/1.0/webhook/7","name":"asanajira"}]`)
	})
	mux.HandleFunc("DELETE /rest/webhooks/1.0/webhook/7", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := t.Context()
	wh, err := c.CreateWebhook(ctx, Webhook{Name: "asanajira", URL: "https://bridge/hooks/jira?secret=s3cret", Events: []string{EventIssueUpdated}, Enabled: true})
	if err != nil || wh.ID() != "7" {
		t.Fatalf("CreateWebhook = %+v, %v", wh, err)
	}
	ws, err := c.Webhooks(ctx)
	if err != nil || len(ws) != 1 || ws[0].ID() != "7" {
		t.Errorf("Webhooks = %+v, %v", ws, err)
	}
	if err := c.DeleteWebhook(ctx, "7"); err != nil {
		t.Error(err)
	}
}

func TestAppLinkAndPAT(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("PUT /rest/applinks/3.0/applicationlink", func(w http.ResponseWriter, r *http.Request) {
		body := decodeJSONBody(t, r)
		want := map[string]any{"id": nil, "name": "Asana", "rpcUrl": "https://bridge", "displayUrl": "https://bridge", "typeId": "generic"}
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("applink body: %s", diff)
		}
		writeJSON(w, 201, `{"resources-created":[{"href":"http://jira/rest/applinks/3.0/applicationlink/8f9a-uuid"}]}`)
	})
	mux.HandleFunc("PUT /rest/applinks-oauth/1.0/applicationlink/8f9a-uuid/authentication/consumer", func(w http.ResponseWriter, r *http.Request) {
		body := decodeJSONBody(t, r)
		if body["key"] != "asanajira" || body["publicKey"] != "PEM" || body["outgoing"] != false || body["sharedSecret"] != nil {
			t.Errorf("consumer body = %v", body)
		}
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("DELETE /rest/applinks/3.0/applicationlink/8f9a-uuid", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /rest/pat/latest/tokens", func(w http.ResponseWriter, r *http.Request) {
		if diff := cmp.Diff(map[string]any{"name": "asanajira", "expirationDuration": float64(90)}, decodeJSONBody(t, r)); diff != "" {
			t.Errorf("pat body: %s", diff)
		}
		writeJSON(w, 201, `{"id":1,"name":"asanajira","createdAt":"2024-01-02T03:04:05.000+0000","expiringAt":"2024-04-01T03:04:05.000+0000","rawToken":"NjI0MzA0NzE2MjE4OjhN"}`)
	})
	ctx := t.Context()
	id, err := c.CreateAppLink(ctx, AppLink{Name: "Asana", RPCURL: "https://bridge", DisplayURL: "https://bridge"})
	if err != nil || id != "8f9a-uuid" {
		t.Fatalf("CreateAppLink = %q, %v", id, err)
	}
	if err := c.SetAppLinkConsumer(ctx, id, AppLinkConsumer{Key: "asanajira", Name: "Asana", PublicKey: "PEM"}); err != nil {
		t.Error(err)
	}
	if err := c.DeleteAppLink(ctx, id); err != nil {
		t.Error(err)
	}
	pat, err := c.CreatePersonalAccessToken(ctx, "asanajira", 90)
	if err != nil || pat.RawToken != "NjI0MzA0NzE2MjE4OjhN" || pat.ExpiringAt.IsZero() {
		t.Errorf("CreatePersonalAccessToken = %+v, %v", pat, err)
	}
}

func TestCreateMeta(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		version    Version
		newStatus  int // status of the 8.4+ endpoints; 0 = serve the fixture
		wantLegacy bool
	}{
		{"7.13 uses legacy", Version{7, 13, 5}, 0, true},
		{"8.4 uses paginated", Version{8, 4, 0}, 0, false},
		{"9.12 uses paginated", Version{9, 12, 0}, 0, false},
		{"8.20 falls back on 404", Version{8, 20, 0}, http.StatusNotFound, true},
		{"unknown version falls back on 404", Version{}, http.StatusNotFound, true},
		{"9.x never falls back", Version{9, 0, 0}, http.StatusNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			legacyCalls := 0
			mux.HandleFunc("GET /rest/api/2/issue/createmeta", func(w http.ResponseWriter, r *http.Request) {
				legacyCalls++
				testQuery(t, r, "projectKeys", "HEY")
				testQuery(t, r, "expand", "projects.issuetypes.fields")
				serveFixture(t, "GET", "rest/mattermost-server-get-create-issue-metadata-for-project-many-fields.json")(w, r)
			})
			mux.HandleFunc("GET /rest/api/2/issue/createmeta/HEY/issuetypes", func(w http.ResponseWriter, r *http.Request) {
				if tt.newStatus != 0 {
					writeJSON(w, tt.newStatus, `{"errorMessages":["Issue Does Not Exist"],"errors":{}}`)
					return
				}
				serveFixture(t, "GET", "rest/jiracli-createmetav9.json")(w, r)
			})
			mux.HandleFunc("GET /rest/api/2/issue/createmeta/HEY/issuetypes/10001", func(w http.ResponseWriter, r *http.Request) {
				if tt.newStatus != 0 {
					writeJSON(w, tt.newStatus, `{"errorMessages":["Issue Does Not Exist"],"errors":{}}`)
					return
				}
				start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
				// Two pages, to prove pagination.
				if start == 0 {
					writeJSON(w, 200, `{"startAt":0,"maxResults":1,"total":2,"isLast":false,"values":[{"fieldId":"summary","name":"Summary","required":true,"schema":{"type":"string","system":"summary"},"hasDefaultValue":false,"operations":["set"]}]}`)
					return
				}
				writeJSON(w, 200, `{"startAt":1,"maxResults":1,"total":2,"isLast":true,"values":[{"fieldId":"customfield_10010","name":"Team","required":false,"schema":{"type":"option","custom":"com.atlassian.jira.plugin.system.customfieldtypes:select","customId":10010},"allowedValues":[{"self":"x","value":"Red","id":"10100","disabled":false}],"hasDefaultValue":true,"defaultValue":{"id":"10100","value":"Red"},"operations":["set"]}]}`)
			})
			ctx := t.Context()
			types, err := c.CreateIssueTypes(ctx, tt.version, "HEY")
			fields, ferr := c.CreateFields(ctx, tt.version, "HEY", "10001")
			if tt.newStatus != 0 && !tt.wantLegacy {
				if !errors.Is(err, ErrNotFound) || !errors.Is(ferr, ErrNotFound) {
					t.Fatalf("errors = %v, %v; want ErrNotFound", err, ferr)
				}
				if legacyCalls != 0 {
					t.Error("9.x fell back to the removed legacy endpoint")
				}
				return
			}
			if err != nil || ferr != nil {
				t.Fatal(err, ferr)
			}
			if tt.wantLegacy != (legacyCalls > 0) {
				t.Errorf("legacy calls = %d, want legacy %v", legacyCalls, tt.wantLegacy)
			}
			if tt.wantLegacy {
				if len(types) != 5 || types[0].Name != "Task" {
					t.Errorf("types = %+v", types)
				}
				// Fields keep Jira's order and get their id from the map key.
				var ids []string
				for _, f := range fields {
					ids = append(ids, f.ID)
				}
				wantIDs := []string{"assignee", "components", "customfield_10200", "customfield_10201", "description", "fixVersions", "issuelinks", "issuetype", "labels", "priority", "project", "reporter", "summary"}
				if diff := cmp.Diff(wantIDs, ids); diff != "" {
					t.Errorf("legacy field ids: %s", diff)
				}
				var prio CreateField
				for _, f := range fields {
					if f.ID == "priority" {
						prio = f
					}
				}
				if !prio.HasDefaultValue || len(prio.AllowedValues) == 0 || prio.AllowedValues[0].Label() != "Highest" || len(prio.DefaultValue) == 0 {
					t.Errorf("priority = %+v", prio)
				}
				if fields[0].AutoCompleteURL == "" {
					t.Error("assignee lost its autoCompleteUrl")
				}
				return
			}
			wantTypes := []IssueType{
				{Self: "https://demo.atlassian.net/rest/api/2/issuetype/10000", ID: "10001", Name: "Epic", Description: "Issue type for a big user story that needs to be broken down.", IconURL: "https://demo.atlassian.net/images/icons/issuetypes/epic.svg"},
			}
			if diff := cmp.Diff(wantTypes, types[:1]); diff != "" || len(types) != 3 {
				t.Errorf("types: %s (len %d)", diff, len(types))
			}
			wantFields := []CreateField{
				{ID: "summary", Name: "Summary", Required: true, Schema: FieldSchema{Type: "string", System: "summary"}, Operations: []string{"set"}},
				{ID: "customfield_10010", Name: "Team", Schema: FieldSchema{Type: "option", Custom: "com.atlassian.jira.plugin.system.customfieldtypes:select", CustomID: 10010},
					AllowedValues: []AllowedValue{{ID: "10100", Value: "Red"}}, HasDefaultValue: true, DefaultValue: []byte(`{"id":"10100","value":"Red"}`), Operations: []string{"set"}},
			}
			if diff := cmp.Diff(wantFields, fields, cmpopts.IgnoreFields(AllowedValue{}, "Raw")); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLegacyCreateMetaJiraCLIFixture(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /rest/api/2/issue/createmeta", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, "projectIds", "10000")
		serveFixture(t, "GET", "rest/jiracli-createmeta.json")(w, r)
	})
	ps, err := c.LegacyCreateMeta(t.Context(), "10000")
	if err != nil {
		t.Fatal(err)
	}
	fs := ps[0].IssueTypes[0].Fields
	if len(fs) != 3 || fs[0].ID != "customfield_10011" || fs[0].Name != "Epic Name" {
		t.Errorf("fields = %+v", fs)
	}
}
