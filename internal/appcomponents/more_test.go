package appcomponents_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/appcomponents"
	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/google/go-cmp/cmp"
)

func rawDo(t *testing.T, method, u, body string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestRejections covers every request the gate or the bridge turns away.
func TestRejections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	task := e.seed.Tasks[0].GID
	exp := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	q := "workspace=" + e.seed.Workspace + "&task=" + task + "&user=" + e.alice + "&expires_at=" + url.QueryEscape(exp)
	sig := appcomponents.Sign("demo-secret", q)
	data := `{"workspace":"` + e.seed.Workspace + `","user":"` + e.alice + `","task":"` + task + `","query":"DEMO-1","expires_at":"` + exp + `"}`
	post := func(d string) string { b, _ := jsonString(d); return `{"data":` + b + `}` }

	tests := []struct {
		name       string
		method     string
		url        string
		body       string
		hdr        map[string]string
		wantStatus int
		wantBody   string
	}{
		{"unsigned", "GET", e.appURL + "/asana/form?" + q, "", nil, 400, "missing request signature"},
		{"bad signature", "GET", e.appURL + "/asana/form?" + q, "", map[string]string{"X-Asana-Request-Signature": strings.Repeat("0", 64)}, 400, "invalid request signature"},
		{"query re-encoded after signing", "GET", e.appURL + "/asana/form?" + strings.Replace(q, "&task", "&%74ask", 1), "", map[string]string{"X-Asana-Request-Signature": sig}, 400, "invalid"},
		{"post bad signature", "POST", e.appURL + "/asana/lookup/attach", post(data), map[string]string{"X-Asana-Request-Signature": appcomponents.Sign("other-secret", data)}, 400, "invalid"},
		{"data with trailing JSON", "POST", e.appURL + "/asana/lookup/attach", post(data + `{"user":"someone-else"}`), map[string]string{"X-Asana-Request-Signature": appcomponents.Sign("demo-secret", data+`{"user":"someone-else"}`)}, 400, "more than one JSON object"},
		{"malformed body", "POST", e.appURL + "/asana/lookup/attach", `{"data":`, map[string]string{"X-Asana-Request-Signature": sig}, 400, "data"},
		{"body too large", "POST", e.appURL + "/asana/lookup/attach", `{"data":"` + strings.Repeat("x", 300<<10) + `"}`, nil, 413, "larger"},
		{"legacy epoch-ms expires accepted", "GET", e.appURL + "/asana/lookup/typeahead?" + signedQuery("workspace="+e.seed.Workspace+"&user="+e.alice+"&query=zzz&expires="+msFromNow(time.Minute)), "", nil, 200, "items"},
		{"expired epoch-ms", "GET", e.appURL + "/asana/lookup/typeahead?" + signedQuery("workspace="+e.seed.Workspace+"&user="+e.alice+"&query=zzz&expires_at="+msFromNow(-time.Minute)), "", nil, 408, "expired"},
		{"no expiry", "GET", e.appURL + "/asana/lookup/typeahead?" + signedQuery("workspace="+e.seed.Workspace+"&user="+e.alice), "", nil, 400, "expires_at"},
		{"preflight answered before auth", "OPTIONS", e.appURL + "/asana/form", "", map[string]string{"Origin": e.asanaURL, "Access-Control-Request-Method": "GET"}, 204, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hdr := map[string]string{}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			if strings.Contains(tc.url, "&sig=") {
				u, sigv, _ := strings.Cut(tc.url, "&sig=")
				tc.url, hdr["X-Asana-Request-Signature"] = u, sigv
			}
			status, body, h := rawDo(t, tc.method, tc.url, tc.body, hdr)
			if status != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
				t.Errorf("%s: %d %s, want %d containing %q", tc.name, status, body, tc.wantStatus, tc.wantBody)
			}
			if tc.method == "OPTIONS" && h.Get("Access-Control-Allow-Origin") != e.asanaURL {
				t.Errorf("preflight allow-origin %q", h.Get("Access-Control-Allow-Origin"))
			}
		})
	}
}

func jsonString(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('"')
	b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
	b.WriteByte('"')
	return b.String(), nil
}

func msFromNow(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).UnixMilli(), 10) }

// signedQuery returns q plus a marker carrying its signature.
func signedQuery(q string) string { return q + "&sig=" + appcomponents.Sign("demo-secret", q) }

// TestRejectionsThroughAsana covers expiry, users without authorization
// and Jira failures as Asana's own requests meet them.
func TestRejectionsThroughAsana(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		asana      *fakeasana.Faults
		jira       *fakejira.Faults
		user       string
		wantStatus int
		wantBody   string
	}{
		{name: "expired", asana: &fakeasana.Faults{ClockSkewSeconds: -120, PathPrefix: "/nothing"}, wantStatus: 408, wantBody: "expired"},
		{name: "unauthorized user", user: "bob", wantStatus: 401, wantBody: "Connect your"},
		{name: "jira down", jira: &fakejira.Faults{ErrorRate: 1, ErrorStatus: 503}, wantStatus: 400, wantBody: "not answering"},
		// Jira holds the answer for 30 s; the handler gives up at its 2 s
		// deadline and says so ("did not answer within" is that deadline's
		// message, never Jira's).
		{name: "jira slow", jira: &fakejira.Faults{LatencyMS: 30000}, wantStatus: 400, wantBody: "did not answer within"},
		{name: "jira 429", jira: &fakejira.Faults{Throttle: true, RetryAfterSeconds: 30}, wantStatus: 400, wantBody: "rate limiting"},
		{name: "jira refuses the token", jira: &fakejira.Faults{}, user: "revoked", wantStatus: 401, wantBody: "refused your authorization"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{jiraTimeout: 2 * time.Second})
			user := e.alice
			switch tc.user {
			case "bob":
				user = e.bob
			case "revoked":
				e.clients.mu.Lock()
				e.clients.jiraAuth[e.alice] = &bearerNoSuchToken{}
				e.clients.mu.Unlock()
			}
			if tc.asana != nil {
				if err := e.asana.SetFaults(*tc.asana); err != nil {
					t.Fatal(err)
				}
			}
			if tc.jira != nil {
				if err := e.jira.SetFaults(*tc.jira); err != nil {
					t.Fatal(err)
				}
			}
			r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, User: user, Task: e.seed.Tasks[0].GID})
			if r.Status != tc.wantStatus || !strings.Contains(string(r.Body), tc.wantBody) {
				t.Errorf("%d %s, want %d containing %q", r.Status, r.Body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

type bearerNoSuchToken struct{}

func (bearerNoSuchToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer revoked-token")
	return http.DefaultTransport.RoundTrip(r2)
}

// TestLookup searches by key prefix and text and attaches by browse URL
// and by key.
func TestLookup(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"7.13.5", "10.3.0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{version: v})
			task := e.seed.Tasks[1].GID
			r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallLookupTypeahead, Task: task, Query: "DEMO-"})
			mustOK(t, r, http.StatusOK)
			items := decode[struct {
				Items []map[string]string `json:"items"`
			}](t, r.Body).Items
			if len(items) != 4 || !strings.HasPrefix(items[0]["title"], "DEMO-") || items[0]["subtitle"] == "" {
				t.Errorf("key prefix search: %s", r.Body)
			}
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallLookupTypeahead, Task: task, Query: "Safari"})
			mustOK(t, r, http.StatusOK)
			if !strings.Contains(string(r.Body), `"value":"DEMO-2"`) || !strings.Contains(string(r.Body), `"subtitle":"In Progress"`) {
				t.Errorf("text search: %s", r.Body)
			}
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallAttach, Task: task, Query: e.jiraURL + "/browse/DEMO-2"})
			mustOK(t, r, http.StatusOK)
			if a := decode[attachedJSON](t, r.Body); a.ResourceName != "DEMO-2: Login page crashes on Safari" || a.ResourceURL != e.jiraURL+"/browse/DEMO-2" {
				t.Errorf("attach: %s", r.Body)
			}
			is, _ := e.jira.Issue("DEMO-2")
			if len(is.RemoteLinks) != 1 || is.RemoteLinks[0].GlobalID != bridge.GlobalID(task) {
				t.Errorf("remote links of DEMO-2: %+v", is.RemoteLinks)
			}
			if l, err := e.store.GetLinkByTask(t.Context(), e.server.ID, task); err != nil || l.IssueKey != "DEMO-2" {
				t.Errorf("stored link %+v, %v", l, err)
			}
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallAttach, Task: e.seed.Tasks[2].GID, Query: "demo-1"})
			mustOK(t, r, http.StatusOK)
			for _, bad := range []string{"DEMO-999", "https://evil.example/browse/DEMO-1", "hello"} {
				r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallAttach, Task: e.seed.Tasks[0].GID, Query: bad})
				if r.Status < 400 || !strings.Contains(string(r.Body), `"error"`) {
					t.Errorf("attach %q: %d %s", bad, r.Status, r.Body)
				}
			}
		})
	}
}

// TestWidgetNoAccessAndCache: a user who cannot see the issue gets a
// message; repeated opens are served from the cache.
func TestWidgetNoAccessAndCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ac, err := asana.New(e.asanaURL+"/api/1.0", &http.Client{Transport: &asana.BearerTransport{Token: "pat-alice"}})
	if err != nil {
		t.Fatal(err)
	}
	task := e.seed.Tasks[0].GID
	missing, err := ac.CreateExternalAttachment(t.Context(), asana.ExternalAttachment{Parent: task, URL: e.jiraURL + "/browse/DEMO-999", Name: "DEMO-999"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallWidget, Attachment: missing.GID})
	mustOK(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), "can't see") || strings.Contains(string(r.Body), "Summary") {
		t.Errorf("no-access widget: %s", r.Body)
	}
	seen, err := ac.CreateExternalAttachment(t.Context(), asana.ExternalAttachment{Parent: task, URL: e.jiraURL + "/browse/DEMO-2", Name: "DEMO-2"})
	if err != nil {
		t.Fatal(err)
	}
	r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallWidget, Attachment: seen.GID})
	mustOK(t, r, http.StatusOK)
	// With Jira down, the cached answer still serves the widget.
	if err := e.jira.SetFaults(fakejira.Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	r2 := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallWidget, Attachment: seen.GID})
	mustOK(t, r2, http.StatusOK)
	if string(r2.Body) != string(r.Body) {
		t.Errorf("cached widget differs:\n%s\n%s", r.Body, r2.Body)
	}
	if !strings.Contains(string(r.Body), `"num_comments":0`) || !strings.Contains(string(r.Body), `"color":"blue"`) {
		t.Errorf("widget of an in-progress issue: %s", r.Body)
	}
	// Invalidation (the Jira webhook path) forces a fresh read.
	e.bridge.InvalidateIssue(e.server.ID, "DEMO-2")
	r3 := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallWidget, Attachment: seen.GID})
	if r3.Status != http.StatusBadRequest {
		t.Errorf("after invalidation with Jira down: %d %s", r3.Status, r3.Body)
	}
}

// TestAttachmentsOversizeOnceAndAllowlist copies with a small Jira limit:
// the big file is skipped and reported, a second run uploads nothing again
// and posts no second comment, and a download host outside the allowlist
// is never fetched.
func TestAttachmentsOversizeOnceAndAllowlist(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{attachmentLimit: 4000})
	task := e.seed.Tasks[0].GID
	uploadAsanaFile(t, e, task, "big.bin", bytes.Repeat([]byte("x"), 6000))
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: task,
		Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Launch"}})
	mustOK(t, r, http.StatusOK)
	key := strings.TrimPrefix(decode[attachedJSON](t, r.Body).ResourceURL, e.jiraURL+"/browse/")
	args := bridge.CopyAttachmentsArgs{JiraServerID: e.server.ID, TaskGID: task, IssueKey: key, AsanaUser: e.alice}
	rep, err := e.bridge.CopyAttachments(t.Context(), args)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, it := range rep.Items {
		if it.Action == bridge.OutcomeSkipped {
			skipped = append(skipped, it.Name+": "+it.Reason)
		}
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "big.bin") || !strings.Contains(skipped[0], "limit") {
		t.Errorf("skipped = %v", skipped)
	}
	if !strings.Contains(rep.Comment, "Skipped: big.bin") {
		t.Errorf("comment %q does not report the skipped file", rep.Comment)
	}
	is, _ := e.jira.Issue(key)
	rep2, err := e.bridge.CopyAttachments(t.Context(), args)
	if err != nil {
		t.Fatal(err)
	}
	is2, _ := e.jira.Issue(key)
	if len(is2.Attachments) != len(is.Attachments) || len(is.Attachments) != 2 || rep2.Comment != "" || len(rep2.Items) != len(rep.Items) {
		t.Errorf("second run: %d→%d attachments, comment %q", len(is.Attachments), len(is2.Attachments), rep2.Comment)
	}

	// Another bridge, trusting only some other host, never downloads.
	strict := bridge.New(bridge.Config{Store: e.store, Clients: e.clients, DownloadHosts: []string{"files.asana.example"}})
	other := e.seed.Tasks[2].GID
	uploadAsanaFile(t, e, other, "note.txt", []byte("hello"))
	r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: other,
		Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Other"}})
	mustOK(t, r, http.StatusOK)
	key = strings.TrimPrefix(decode[attachedJSON](t, r.Body).ResourceURL, e.jiraURL+"/browse/")
	rep, err = strict.CopyAttachments(t.Context(), bridge.CopyAttachmentsArgs{JiraServerID: e.server.ID, TaskGID: other, IssueKey: key, AsanaUser: e.alice})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Items) != 1 || rep.Items[0].Action != bridge.OutcomeSkipped || !strings.Contains(rep.Items[0].Reason, "not allowed") {
		t.Errorf("allowlist: %+v", rep.Items)
	}
}

func uploadAsanaFile(t *testing.T, e *env, task, name string, content []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("parent", task)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(content)
	_ = mw.Close()
	status, body, _ := rawDo(t, "POST", e.asanaURL+"/api/1.0/attachments", buf.String(),
		map[string]string{"Authorization": "Bearer pat-alice", "Content-Type": mw.FormDataContentType()})
	if status != http.StatusOK {
		t.Fatalf("upload to Asana: %d %s", status, body)
	}
}

// TestRuleAction configures the rule in the builder, runs it twice with one
// idempotency key, and runs an unknown rule.
func TestRuleAction(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"8.20.1", "10.3.0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{version: v})
			project := e.seed.Project
			r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallActionMetadata, Project: project, ActionType: "create_jira_issue"})
			mustOK(t, r, http.StatusOK)
			form := decode[formJSON](t, r.Body)
			values := map[string]any{"project": "DEMO", "issuetype": "10004", "priority": "2", "labels": "asana, rule"}
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallActionChange, URL: form.Metadata.OnChangeCallback, Project: project, ActionType: "create_jira_issue", Values: values, ChangedField: "project"})
			mustOK(t, r, http.StatusOK)
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallActionSubmit, URL: form.Metadata.OnSubmitCallback, Project: project, ActionType: "create_jira_issue", Values: values, RuleName: "To Jira"})
			mustOK(t, r, http.StatusOK)
			rules := e.asana.Rules()
			if len(rules) != 1 {
				t.Fatalf("rules saved: %+v", rules)
			}
			task := e.seed.Tasks[2].GID
			run := fakeasana.AppCall{Kind: fakeasana.CallRunAction, Project: project, ActionType: "create_jira_issue", Action: rules[0].GID, Task: task, IdempotencyKey: "run-1"}
			r = e.call(t, run)
			mustOK(t, r, http.StatusOK)
			if !strings.Contains(string(r.Body), `"action_result":"resources_created"`) {
				t.Fatalf("run: %s", r.Body)
			}
			n := len(e.jira.Issues())
			r2 := e.call(t, run)
			mustOK(t, r2, http.StatusOK)
			if string(r2.Body) != string(r.Body) || len(e.jira.Issues()) != n {
				t.Errorf("retried run: %s (%d issues), first %s (%d)", r2.Body, len(e.jira.Issues()), r.Body, n)
			}
			last := e.jira.Issues()[n-1]
			if last.IssueType != "Bug" || last.Priority != "High" || strings.Join(last.Labels, ",") != "asana,rule" || last.Reporter != "alice" {
				t.Errorf("rule issue: %+v", last)
			}
			connected := false
			for _, a := range e.asana.Attachments(task) {
				connected = connected || (a.ConnectedToApp && strings.HasSuffix(a.URL, "/browse/"+last.Key))
			}
			if !connected {
				t.Errorf("issue not attached to the task connected to the app: %+v", e.asana.Attachments(task))
			}
			r = e.call(t, fakeasana.AppCall{Kind: fakeasana.CallRunAction, Project: "other", ActionType: "create_jira_issue", Action: "gone", Task: task, IdempotencyKey: "run-2"})
			if r.Status != http.StatusGone {
				t.Errorf("unknown rule: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestRuleRoutesNeedPublicMode: without public mode the rule action does
// not exist.
func TestRuleRoutesNeedPublicMode(t *testing.T) {
	t.Parallel()
	h := appcomponents.New(appcomponents.Deps{ClientSecret: "s"})
	rec := httptestRecorder(h, "GET", "/asana/rule/form")
	if rec != http.StatusNotFound {
		t.Errorf("rule form without public mode: %d", rec)
	}
	_ = context.Background
}

func httptestRecorder(h http.Handler, method, path string) int {
	req, _ := http.NewRequestWithContext(context.Background(), method, path, nil)
	rw := &statusRecorder{h: http.Header{}}
	h.ServeHTTP(rw, req)
	return rw.code
}

type statusRecorder struct {
	h    http.Header
	code int
}

func (s *statusRecorder) Header() http.Header         { return s.h }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(c int)           { s.code = c }

// The copy job a create enqueues, once it answered, says whether the
// create added the remote link to the task, so that the job checks it only
// when it did not; the link records the remote link's state only when it
// was added (the remote link is added while the link is stored), and the
// job adds one that failed. The answer is the issue either way.
func TestCreateTellsTheCopyAboutTheRemoteLink(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, testCreateTellsTheCopyAboutTheRemoteLink)
}

func testCreateTellsTheCopyAboutTheRemoteLink(t *testing.T, postgres bool) {
	cases := []struct {
		name       string
		failRemote bool
		want       bool
		wantFields []string
	}{
		{"remote link added", false, true, []string{bridge.RemoteLinkField}},
		{"remote link failed", true, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var failing atomic.Bool
			failing.Store(tc.failRemote)
			o := envOptions{postgres: postgres, wrapJira: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if failing.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/remotelink") {
						http.Error(w, `{"errorMessages":["refused"],"errors":{}}`, http.StatusBadRequest)
						return
					}
					h.ServeHTTP(w, r)
				})
			}}
			e := newEnv(t, o)
			task := e.seed.Tasks[2].GID
			r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: task,
				Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Remote link"}})
			mustOK(t, r, http.StatusOK)
			l, err := e.store.GetLinkByTask(t.Context(), e.server.ID, task)
			if err != nil {
				t.Fatal(err)
			}
			if got := decode[attachedJSON](t, r.Body); !strings.HasSuffix(got.ResourceURL, "/browse/"+l.IssueKey) {
				t.Errorf("answer names %s, want %s", got.ResourceURL, l.IssueKey)
			}
			if diff := cmp.Diff([]linkCopy{{LinkID: l.ID, RemoteLinked: tc.want}}, e.enq.enqueued()); diff != "" {
				t.Fatalf("copy jobs enqueued (-want +got):\n%s", diff)
			}
			states, err := e.store.ListSyncFieldStates(t.Context(), l.ID)
			if err != nil {
				t.Fatal(err)
			}
			var fields []string
			for _, s := range states {
				fields = append(fields, s.Field)
			}
			if diff := cmp.Diff(tc.wantFields, fields); diff != "" {
				t.Errorf("the link's field states (-want +got):\n%s", diff)
			}
			// The job, as enqueued, once Jira takes remote links again.
			failing.Store(false)
			args := bridge.CopyArgsFor(l)
			args.RemoteLinked = tc.want
			if _, err := e.bridge.CopyAttachments(t.Context(), args); err != nil {
				t.Fatalf("the link's copy job: %v", err)
			}
			is, ok := e.jira.Issue(l.IssueKey)
			if !ok {
				t.Fatalf("Jira has no %s", l.IssueKey)
			}
			var links []string
			for _, rl := range is.RemoteLinks {
				links = append(links, rl.GlobalID)
			}
			if diff := cmp.Diff([]string{bridge.GlobalID(task)}, links); diff != "" {
				t.Errorf("the issue's remote links (-want +got):\n%s", diff)
			}
		})
	}
}
