package asana

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testApp is a tiny App Components app: it verifies Asana's signature and
// expiry like a real app must, and answers with valid shapes.
type testApp struct {
	*httptest.Server
	secret string

	mu       sync.Mutex
	requests []appRequest
	// denyAuth makes the authentication popup end with "error", as after
	// a Deny.
	denyAuth atomic.Bool
}

type appRequest struct {
	Path    string
	Origin  string
	Payload map[string]any // the query (GET) or the decoded data (POST)
}

func (a *testApp) received() []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]appRequest(nil), a.requests...)
}

func newTestApp(t *testing.T, secret string) *testApp {
	t.Helper()
	a := &testApp{secret: secret}
	mux := http.NewServeMux()
	a.Server = httptest.NewServer(a.cors(mux))
	t.Cleanup(a.Close)
	u := a.URL
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	form := func(extra bool) map[string]any {
		fields := []any{
			map[string]any{"type": "static_text", "id": "intro", "name": "Create a Jira issue from this task", "style": "header"},
			map[string]any{"type": "single_line_text", "id": "summary", "name": "Summary", "is_required": true, "placeholder": "What needs doing?", "width": "full"},
			map[string]any{"type": "dropdown", "id": "issue_type", "name": "Issue type", "is_watched": true, "width": "half",
				"options": []any{map[string]any{"id": "bug", "label": "Bug"}, map[string]any{"id": "task", "label": "Task"}}},
			map[string]any{"type": "radio_button", "id": "priority", "name": "Priority", "value": "p2",
				"options": []any{map[string]any{"id": "p1", "label": "High", "sub_label": "Fix now"}, map[string]any{"id": "p2", "label": "Medium"}}},
			map[string]any{"type": "multi_line_text", "id": "description", "name": "Description"},
			map[string]any{"type": "rich_text", "id": "notes", "name": "Notes"},
			map[string]any{"type": "checkbox", "id": "flags", "name": "Flags", "options": []any{map[string]any{"id": "urgent", "label": "Urgent"}}},
			map[string]any{"type": "date", "id": "due", "name": "Due date"},
			map[string]any{"type": "datetime", "id": "start", "name": "Start"},
			map[string]any{"type": "typeahead", "id": "assignee", "name": "Assignee", "typeahead_url": u + "/form/typeahead"},
		}
		if extra {
			fields = append(fields, map[string]any{"type": "single_line_text", "id": "steps", "name": "Steps to reproduce"})
		}
		return map[string]any{"template": "form_metadata_v0", "metadata": map[string]any{
			"title": "Create Jira issue", "fields": fields, "submit_button_text": "Create issue",
			"on_change_callback": u + "/form/change", "on_submit_callback": u + "/form/submit"}}
	}
	issue := func(key, summary string) map[string]any {
		return map[string]any{"resource_name": key + ": " + summary, "resource_url": "https://jira.example/browse/" + key}
	}
	mux.HandleFunc("GET /widget", a.verified(func(w http.ResponseWriter, p map[string]any) {
		key := p["resource_url"].(string)[strings.LastIndex(p["resource_url"].(string), "/")+1:]
		reply(w, 200, map[string]any{"template": "summary_with_details_v0", "metadata": map[string]any{
			"title": key + ": Checkout page logs users out", "subtitle": "Jira · DEMO", "num_comments": 2,
			"fields": []any{
				map[string]any{"type": "pill", "name": "Status", "text": "In Progress", "color": "blue"},
				map[string]any{"type": "text_with_icon", "name": "Assignee", "text": "Alice Anders"},
				map[string]any{"type": "datetime_with_icon", "name": "Updated", "datetime": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
			},
			"footer": map[string]any{"footer_type": "custom_text", "text": "Jira Server"}}})
	}))
	mux.HandleFunc("GET /bad/widget", a.verified(func(w http.ResponseWriter, _ map[string]any) {
		reply(w, 200, map[string]any{"template": "summary_with_details_v0", "metadata": map[string]any{
			"title": "x", "fields": []any{map[string]any{"type": "pill", "name": "Status", "text": "?", "color": "rainbow"}},
			"footer": map[string]any{"footer_type": "custom_text", "text": "x"}}})
	}))
	mux.HandleFunc("GET /form", a.verified(func(w http.ResponseWriter, _ map[string]any) { reply(w, 200, form(false)) }))
	mux.HandleFunc("POST /form/change", a.verified(func(w http.ResponseWriter, p map[string]any) {
		values, _ := p["values"].(map[string]any)
		reply(w, 200, form(values["issue_type"] == "bug"))
	}))
	mux.HandleFunc("POST /form/submit", a.verified(func(w http.ResponseWriter, p map[string]any) {
		values, _ := p["values"].(map[string]any)
		summary, _ := values["summary"].(string)
		if strings.TrimSpace(summary) == "" {
			f := form(false)
			f["metadata"].(map[string]any)["fields"].([]any)[1].(map[string]any)["error"] = "Jira needs a summary."
			reply(w, 400, f)
			return
		}
		reply(w, 200, issue("DEMO-7", summary))
	}))
	typeahead := a.verified(func(w http.ResponseWriter, p map[string]any) {
		q, _ := p["query"].(string)
		items := []any{}
		for _, k := range []string{"DEMO-1", "DEMO-2", "DEMO-12"} {
			if strings.HasPrefix(k, strings.ToUpper(q)) {
				items = append(items, map[string]any{"title": k + ": Issue " + k, "subtitle": "To Do", "value": k})
			}
		}
		reply(w, 200, map[string]any{"header": "Jira issues", "items": items})
	})
	mux.HandleFunc("GET /form/typeahead", typeahead)
	mux.HandleFunc("GET /lookup/typeahead", typeahead)
	mux.HandleFunc("POST /attach", a.verified(func(w http.ResponseWriter, p map[string]any) {
		q, _ := p["query"].(string)
		if !strings.HasPrefix(q, "DEMO-") {
			reply(w, 400, map[string]any{"error": "No Jira issue " + q})
			return
		}
		reply(w, 200, issue(q, "Linked issue"))
	}))
	mux.HandleFunc("GET /rule/form", a.verified(func(w http.ResponseWriter, _ map[string]any) {
		reply(w, 200, map[string]any{"template": "form_metadata_v0", "metadata": map[string]any{
			"title": "Create a Jira issue", "on_submit_callback": u + "/rule/submit", "on_change_callback": u + "/rule/change",
			"fields": []any{map[string]any{"type": "dropdown", "id": "jira_project", "name": "Jira project", "is_required": true, "is_watched": true,
				"options": []any{map[string]any{"id": "DEMO", "label": "Demo"}}}}}})
	}))
	mux.HandleFunc("POST /rule/change", a.verified(func(w http.ResponseWriter, _ map[string]any) {
		reply(w, 200, map[string]any{"template": "form_metadata_v0", "metadata": map[string]any{
			"title": "Create a Jira issue", "on_submit_callback": u + "/rule/submit",
			"fields": []any{map[string]any{"type": "dropdown", "id": "jira_project", "name": "Jira project", "value": "DEMO",
				"options": []any{map[string]any{"id": "DEMO", "label": "Demo"}}}}}})
	}))
	mux.HandleFunc("POST /rule/submit", a.verified(func(w http.ResponseWriter, _ map[string]any) { w.WriteHeader(200) }))
	mux.HandleFunc("POST /rule/run", a.verified(func(w http.ResponseWriter, p map[string]any) {
		reply(w, 200, map[string]any{"action_result": "resources_created", "resources_created": []any{issue("DEMO-9", "Created by rule")}})
	}))
	mux.HandleFunc("GET /auth", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if a.denyAuth.Load() {
			fmt.Fprint(w, `<!DOCTYPE html><title>Connect</title><p>Not connected.</p><script>window.opener.postMessage("error", "*");</script>`)
			return
		}
		fmt.Fprint(w, `<!DOCTYPE html><title>Connect</title><p>Connected.</p><script>window.opener.postMessage("success", "*");</script>`)
	})
	return a
}

// cors lets the emulator's page call the app from the browser.
func (a *testApp) cors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Vary", "Origin")
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Asana-Request-Signature")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// verified checks x-asana-request-signature and expires_at, then hands the
// request's fields to fn.
func (a *testApp) verified(fn func(w http.ResponseWriter, payload map[string]any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var msg string
		payload := map[string]any{}
		if r.Method == http.MethodGet {
			msg = r.URL.RawQuery
			for k, v := range r.URL.Query() {
				payload[k] = v[0]
			}
		} else {
			var env struct {
				Data string `json:"data"`
			}
			raw, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(raw, &env); err != nil {
				http.Error(w, `{"error":"bad envelope"}`, 400)
				return
			}
			msg = env.Data
			if err := json.Unmarshal([]byte(env.Data), &payload); err != nil {
				http.Error(w, `{"error":"bad data"}`, 400)
				return
			}
		}
		want := Sign(a.secret, msg)
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Asana-Request-Signature"))) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"Bad signature."}`)
			return
		}
		exp, err := time.Parse(time.RFC3339, fmt.Sprint(payload["expires_at"]))
		if err != nil || time.Now().After(exp) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(408)
			fmt.Fprint(w, `{"error":"Request expired."}`)
			return
		}
		a.mu.Lock()
		a.requests = append(a.requests, appRequest{Path: r.URL.Path, Origin: r.Header.Get("Origin"), Payload: payload})
		a.mu.Unlock()
		fn(w, payload)
	}
}

// appRegistration points an app registration at the test app.
func (a *testApp) registration() AppRegistration {
	return AppRegistration{
		Name: "Jira Bridge", ClientSecret: a.secret,
		AuthenticationURL:    a.URL + "/auth",
		WidgetMetadataURL:    a.URL + "/widget",
		MatchURLPattern:      `^https://jira\.example/browse/.*`,
		FormMetadataURL:      a.URL + "/form",
		ResourceAttachURL:    a.URL + "/attach",
		ResourceTypeaheadURL: a.URL + "/lookup/typeahead",
		RuleActions: []RuleAction{{ID: "create_issue", DisplayName: "Create a Jira issue",
			FormMetadataURL: a.URL + "/rule/form", RunActionURL: a.URL + "/rule/run"}},
	}
}
