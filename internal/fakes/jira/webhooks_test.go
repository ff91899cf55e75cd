package jira

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// receiver collects webhook deliveries.
type receiver struct {
	mu     sync.Mutex
	bodies []map[string]any
	sigs   []string
	got    chan struct{}
}

func newReceiver(t *testing.T) (*receiver, string) {
	rc := &receiver{got: make(chan struct{}, 100)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, m)
		rc.sigs = append(rc.sigs, r.Header.Get("X-Hub-Signature")+"|"+string(b))
		rc.mu.Unlock()
		rc.got <- struct{}{}
	}))
	t.Cleanup(ts.Close)
	return rc, ts.URL + "/hooks/jira"
}

// wait blocks until n deliveries arrived (or the test's context ends).
func (rc *receiver) wait(t *testing.T, n int) []map[string]any {
	t.Helper()
	for range n {
		select {
		case <-rc.got:
		case <-t.Context().Done():
			t.Fatal("webhook not delivered")
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.bodies
	rc.bodies = nil
	return out
}

func keysOf(v any) []string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		if k == "accountId" || k == "accountType" { // Cloud-only keys in some recordings
			continue
		}
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// fixtureMore reads an excerpt of a recorded payload (testdata/more).
func fixtureMore(t *testing.T, name string) map[string]any {
	t.Helper()
	return readJSON(t, filepath.Join("testdata", "more", name))
}

// fixture reads a recorded webhook body. The recorded payloads are kept
// once, beside the client's tests (internal/jira/testdata/README.md names
// their source).
func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	return readJSON(t, filepath.Join("..", "..", "jira", "testdata", "webhooks", name))
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// sameShape compares the keys of the parts of a payload the bridge reads.
func sameShape(t *testing.T, name string, got, want map[string]any) {
	t.Helper()
	check := func(part string, g, w any) {
		if diff := cmp.Diff(keysOf(w), keysOf(g)); diff != "" {
			t.Errorf("%s: keys of %s (-recorded +emitted):\n%s", name, part, diff)
		}
	}
	check("payload", got, want)
	for _, k := range []string{"user", "comment", "changelog"} {
		if _, ok := want[k]; ok {
			check(k, got[k], want[k])
		}
	}
	if c, ok := want["comment"].(map[string]any); ok {
		check("comment.author", got["comment"].(map[string]any)["author"], c["author"])
	}
	if cl, ok := want["changelog"].(map[string]any); ok && len(cl["items"].([]any)) > 0 {
		gi := got["changelog"].(map[string]any)["items"].([]any)
		wi := cl["items"].([]any)[0].(map[string]any)
		if _, ok := wi["fieldId"]; !ok { // older Server recordings lack fieldId
			wi = maps(wi, "fieldId")
		}
		check("changelog.items[0]", gi[0], wi)
	}
	if is, ok := want["issue"].(map[string]any); ok {
		gis := got["issue"].(map[string]any)
		check("issue", gis, is)
		wf, gf := is["fields"].(map[string]any), gis["fields"].(map[string]any)
		for k := range wf {
			if strings.HasPrefix(k, "customfield_") || k == "statuscategorychangedate" || k == "security" && gf[k] == nil {
				continue
			}
			if _, ok := gf[k]; !ok {
				t.Errorf("%s: issue.fields lacks %q", name, k)
			}
		}
		// Field objects vary between recorded releases (projectTypeKey and
		// avatarId came later): every recorded key must be emitted.
		subset := func(part string, g, w any) {
			have := keysOf(g)
			for _, k := range keysOf(w) {
				if !slices.Contains(have, k) && k != "simplified" {
					t.Errorf("%s: %s lacks recorded key %q", name, part, k)
				}
			}
		}
		for _, f := range []string{"status", "project", "priority", "issuetype", "reporter", "creator"} {
			if wf[f] != nil {
				subset("issue.fields."+f, gf[f], wf[f])
			}
		}
		check("issue.fields.status.statusCategory", gf["status"].(map[string]any)["statusCategory"], wf["status"].(map[string]any)["statusCategory"])
	}
}

func maps(m map[string]any, add string) map[string]any {
	out := map[string]any{add: nil}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestWebhookPayloadsMatchRecordings(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"9.12.0", "10.3.0"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{Version: v})
			b := base(s, ts)
			rc, hookURL := newReceiver(t)
			path := "/rest/webhooks/1.0/webhook"
			in := map[string]any{"name": "asanajira", "url": hookURL,
				"events":  []string{"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated", "comment_deleted"},
				"filters": map[string]string{"issue-related-events-section": "project = DEMO"}, "excludeBody": false}
			if v == "10.3.0" {
				path = "/rest/jira-webhook/1.0/webhooks"
				in = map[string]any{"name": "asanajira", "url": hookURL, "events": in["events"],
					"configuration": map[string]string{"FILTERS": "project = DEMO", "EXCLUDE_BODY": "false"}, "active": true}
			}
			reg := call(t, "POST", b+path, in, basic("admin")...)
			if reg.status != 201 {
				t.Fatalf("register: %d %s", reg.status, reg.body)
			}
			if hooks := s.Webhooks(); len(hooks) != 1 || hooks[0].JQL != "project = DEMO" || !hooks[0].Enabled {
				t.Fatalf("Webhooks() = %+v", hooks)
			}
			auth := basic("alice")
			create := call(t, "POST", b+"/rest/api/2/issue", map[string]any{"fields": map[string]any{"project": map[string]any{"key": "DEMO"},
				"issuetype": map[string]any{"name": "Task"}, "summary": "Hooked", "description": "d"}}, auth...)
			key := create.json(t)["key"].(string)
			got := rc.wait(t, 1)
			// A Server issue_created carries no changelog; its issue has the
			// fields of the (Cloud) recording with every field.
			if diff := cmp.Diff(keysOf(fixtureMore(t, "webhook-issue-created-server-keys.json")), keysOf(got[0])); diff != "" {
				t.Errorf("issue created: keys (-recorded +emitted):\n%s", diff)
			}
			created := fixture(t, "webhook-issue-created.json")
			delete(created, "changelog")
			sameShape(t, "issue created", got[0], created)

			// OPS is outside the webhook's JQL: nothing is delivered for it.
			call(t, "POST", b+"/rest/api/2/issue/OPS-1/comment", map[string]any{"body": "quiet"}, auth...)

			// Each transition fires the event its workflow names.
			for _, step := range []struct{ transition, event, recording string }{
				{"In Progress", "issue_generic", ""},
				{"Done", "issue_resolved", "webhook-server-issue-updated-resolved.json"},
				{"Close", "issue_closed", "webhook-server-issue-updated-closed.json"},
				{"To Do", "issue_reopened", "webhook-server-issue-updated-reopened.json"},
			} {
				if err := s.TransitionIssue(key, step.transition, "alice"); err != nil {
					t.Fatal(err)
				}
				got = rc.wait(t, 1)
				if got[0]["issue_event_type_name"] != step.event {
					t.Errorf("%s: event %v, want %s", step.transition, got[0]["issue_event_type_name"], step.event)
				}
				if step.recording != "" {
					sameShape(t, step.event, got[0], fixture(t, step.recording))
				} else {
					generic := fixtureMore(t, "webhook-issue-generic-status-changelog.json")["changelog"].(map[string]any)
					check := maps(generic["items"].([]any)[0].(map[string]any), "fieldId") // the recording predates fieldId
					if diff := cmp.Diff(keysOf(check), keysOf(got[0]["changelog"].(map[string]any)["items"].([]any)[0])); diff != "" {
						t.Errorf("generic status changelog (-recorded +emitted):\n%s", diff)
					}
				}
				items := got[0]["changelog"].(map[string]any)["items"].([]any)
				if i := slices.IndexFunc(items, func(x any) bool { return x.(map[string]any)["field"] == "status" }); i < 0 || items[i].(map[string]any)["toString"] != lookupStatus(map[string]string{"In Progress": "3", "Done": "10001", "Close": "6", "To Do": "10000"}[step.transition]).name {
					t.Errorf("%s changelog: %v", step.transition, items)
				}
			}

			// Changelogs name people by user key, with display names.
			for _, tc := range []struct {
				body           string
				from, to       any
				fromStr, toStr any
			}{
				{`{"name":"admin"}`, nil, s.userByName("admin").key, nil, "Administrator"},
				{`{"name":null}`, s.userByName("admin").key, nil, "Administrator", nil},
			} {
				if r := call(t, "PUT", b+"/rest/api/2/issue/"+key+"/assignee", []byte(tc.body), append(auth, "Content-Type", "application/json")...); r.status != 204 {
					t.Fatalf("assign %s: %d %s", tc.body, r.status, r.body)
				}
				got = rc.wait(t, 1)
				item := got[0]["changelog"].(map[string]any)["items"].([]any)[0].(map[string]any)
				if diff := cmp.Diff(keysOf(maps(fixtureMore(t, "changelog-assignee-user-key.json"), "fieldId")), keysOf(item)); diff != "" || got[0]["issue_event_type_name"] != "issue_assigned" {
					t.Errorf("assignee changelog keys (-recorded +emitted):\n%s", diff)
				}
				want := map[string]any{"from": tc.from, "to": tc.to, "fromString": tc.fromStr, "toString": tc.toStr}
				gotItem := map[string]any{"from": item["from"], "to": item["to"], "fromString": item["fromString"], "toString": item["toString"]}
				if diff := cmp.Diff(want, gotItem); diff != "" {
					t.Errorf("assign %s changelog (-want +got):\n%s", tc.body, diff)
				}
			}

			c := call(t, "POST", b+"/rest/api/2/issue/"+key+"/comment", map[string]any{"body": "hello"}, auth...).json(t)
			got = rc.wait(t, 2)
			byEvent := func(evs []map[string]any, name string) map[string]any {
				i := slices.IndexFunc(evs, func(m map[string]any) bool { return m["webhookEvent"] == name })
				if i < 0 {
					t.Fatalf("no %s among %d events", name, len(evs))
				}
				return evs[i]
			}
			sameShape(t, "comment created", byEvent(got, "comment_created"), fixture(t, "webhook-server-comment-created.json"))
			sameShape(t, "issue commented", byEvent(got, "jira:issue_updated"), fixture(t, "webhook-server-issue-updated-commented-1.json"))

			call(t, "PUT", b+"/rest/api/2/issue/"+key+"/comment/"+c["id"].(string), map[string]any{"body": "edited"}, auth...)
			got = rc.wait(t, 2)
			sameShape(t, "comment edited", byEvent(got, "jira:issue_updated"), fixture(t, "webhook-server-issue-updated-comment-edited.json"))
			if byEvent(got, "comment_updated")["comment"].(map[string]any)["body"] != "edited" {
				t.Error("comment_updated body")
			}

			call(t, "DELETE", b+"/rest/api/2/issue/"+key+"/comment/"+c["id"].(string), nil, auth...)
			got = rc.wait(t, 2)
			sameShape(t, "comment deleted", byEvent(got, "comment_deleted"), fixture(t, "webhook-server-comment-deleted.json"))
			sameShape(t, "issue comment deleted", byEvent(got, "jira:issue_updated"), fixture(t, "webhook-server-issue-updated-comment-deleted.json"))

			call(t, "PUT", b+"/rest/api/2/issue/"+key, map[string]any{"fields": map[string]any{"summary": "Renamed"}}, auth...)
			got = rc.wait(t, 1)
			sameShape(t, "issue renamed", got[0], fixture(t, "webhook-issue-updated-renamed.json"))

			// An edit may add a comment: the update's event carries it, and
			// the standalone comment_created follows.
			if r := call(t, "PUT", b+"/rest/api/2/issue/"+key, map[string]any{"fields": map[string]any{"summary": "Renamed again"},
				"update": map[string]any{"comment": []any{map[string]any{"add": map[string]any{"body": "edited with a comment"}}}}}, auth...); r.status != 204 {
				t.Fatalf("edit with comment: %d %s", r.status, r.body)
			}
			got = rc.wait(t, 2)
			if u := byEvent(got, "jira:issue_updated"); u["issue_event_type_name"] != "issue_updated" || u["comment"].(map[string]any)["body"] != "edited with a comment" {
				t.Errorf("edit with comment: %v", u)
			}
			if c := byEvent(got, "comment_created"); c["comment"].(map[string]any)["body"] != "edited with a comment" {
				t.Errorf("comment_created of the edit: %v", c)
			}

			// Deleting issues is for project administrators.
			call(t, "DELETE", b+"/rest/api/2/issue/"+key, nil, basic("admin")...)
			got = rc.wait(t, 1)
			sameShape(t, "issue deleted", got[0], fixture(t, "webhook-issue-deleted.json"))
		})
	}
}

// TestWebhookSecret: only Jira 10 signs deliveries with the registration's
// secret (X-Hub-Signature); before, a secret field is ignored and the
// secret lives in the URL.
func TestWebhookSecret(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, path string
		signs         bool
	}{
		{"8.20.1", "/rest/webhooks/1.0/webhook", false},
		{"9.12.0", "/rest/webhooks/1.0/webhook", false},
		{"10.3.0", "/rest/jira-webhook/1.0/webhooks", true},
	} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{Version: tc.version})
			rc, hookURL := newReceiver(t)
			if r := call(t, "POST", base(s, ts)+tc.path, map[string]any{"name": "signed", "url": hookURL + "?secret=in-the-url",
				"events": []string{"comment_created"}, "secret": "s3cret"}, basic("admin")...); r.status != 201 {
				t.Fatalf("register: %d %s", r.status, r.body)
			}
			if err := s.AddComment("DEMO-1", "bob", "signed body"); err != nil {
				t.Fatal(err)
			}
			rc.wait(t, 1)
			sig, body, _ := strings.Cut(rc.sigs[0], "|")
			m := hmac.New(sha256.New, []byte("s3cret"))
			m.Write([]byte(body))
			want := ""
			if tc.signs {
				want = "sha256=" + hex.EncodeToString(m.Sum(nil))
			}
			if sig != want {
				t.Errorf("X-Hub-Signature = %q, want %q", sig, want)
			}
			if r := call(t, "POST", base(s, ts)+tc.path, map[string]any{"name": "x", "url": hookURL}, basic("alice")...); r.status != 403 {
				t.Errorf("non-admin registration: %d", r.status)
			}
		})
	}
}

// TestWebhookFilters: each release reads its own registration shape; Jira
// 10 ignores a 9.x-style "filters" and delivers every issue's events.
func TestWebhookFilters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, path string
		in            map[string]any
		wantJQL       string
	}{
		{"9.12.0", "/rest/webhooks/1.0/webhook", map[string]any{"filters": map[string]string{"issue-related-events-section": "project = DEMO"}}, "project = DEMO"},
		{"9.12.0", "/rest/webhooks/1.0/webhook", map[string]any{"configuration": map[string]string{"FILTERS": "project = DEMO"}}, ""},
		{"10.3.0", "/rest/jira-webhook/1.0/webhooks", map[string]any{"filters": map[string]string{"issue-related-events-section": "project = DEMO"}}, ""},
		{"10.3.0", "/rest/jira-webhook/1.0/webhooks", map[string]any{"configuration": map[string]string{"FILTERS": "project = DEMO"}}, "project = DEMO"},
	} {
		t.Run(tc.version+" "+tc.wantJQL, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{Version: tc.version})
			rc, hookURL := newReceiver(t)
			in := map[string]any{"name": "h", "url": hookURL, "events": []string{"comment_created"}}
			for k, v := range tc.in {
				in[k] = v
			}
			if r := call(t, "POST", base(s, ts)+tc.path, in, basic("admin")...); r.status != 201 {
				t.Fatalf("register: %d %s", r.status, r.body)
			}
			if hooks := s.Webhooks(); len(hooks) != 1 || hooks[0].JQL != tc.wantJQL {
				t.Errorf("Webhooks() = %+v, want JQL %q", hooks, tc.wantJQL)
			}
			for _, key := range []string{"OPS-1", "DEMO-1"} {
				if err := s.AddComment(key, "alice", "on "+key); err != nil {
					t.Fatal(err)
				}
			}
			want := []string{"on DEMO-1"}
			if tc.wantJQL == "" {
				want = []string{"on DEMO-1", "on OPS-1"}
			}
			var got []string
			for _, ev := range rc.wait(t, len(want)) {
				got = append(got, ev["comment"].(map[string]any)["body"].(string))
			}
			s.Close() // every asynchronous (10.x) delivery has been sent
			rc.mu.Lock()
			for _, ev := range rc.bodies {
				got = append(got, ev["comment"].(map[string]any)["body"].(string))
			}
			rc.mu.Unlock()
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDropWebhooks: with drop_webhooks set, nothing is delivered and
// nothing is kept for later, as when Jira cannot reach the receiver.
func TestDropWebhooks(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	rc, hookURL := newReceiver(t)
	if r := call(t, "POST", b+"/rest/webhooks/1.0/webhook", map[string]any{"name": "h", "url": hookURL, "events": []string{"comment_created"}}, basic("admin")...); r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	if r := call(t, "PUT", b+"/_emulator/faults", []byte(`{"drop_webhooks":true}`)); r.status != 200 || r.json(t)["drop_webhooks"] != true {
		t.Fatalf("set fault: %d %s", r.status, r.body)
	}
	if got := call(t, "GET", b+"/_emulator/faults", nil).json(t); got["drop_webhooks"] != true {
		t.Errorf("GET faults: %v", got)
	}
	if err := s.AddComment("DEMO-1", "alice", "dropped"); err != nil {
		t.Fatal(err)
	}
	// REST keeps working while deliveries are dropped.
	if r := call(t, "GET", b+"/rest/api/2/issue/DEMO-1", nil, basic("alice")...); r.status != 200 {
		t.Errorf("REST with drop_webhooks: %d", r.status)
	}
	if r := call(t, "DELETE", b+"/_emulator/faults", nil); r.status != 204 {
		t.Fatal(r.status)
	}
	if err := s.AddComment("DEMO-1", "alice", "delivered"); err != nil {
		t.Fatal(err)
	}
	// Synchronous delivery (9.12): the first delivery received is the one
	// sent after the fault was cleared.
	if got := rc.wait(t, 1)[0]["comment"].(map[string]any)["body"]; got != "delivered" {
		t.Errorf("first delivery %v, want the one after the fault", got)
	}
}

// TestWebhookDeliveriesKeepTheirConnection: deliveries reuse their
// connection, as Jira's pooled HTTP client does, even when the receiver
// answers with a body (the bridge's receiver does). A connection left
// unread was dropped, and each delivery opened a new one.
func TestWebhookDeliveriesKeepTheirConnection(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Version: "9.12.0"})
	var (
		mu    sync.Mutex
		conns int
	)
	hook := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"accepted":1}`)
	}))
	hook.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	hook.Start()
	t.Cleanup(hook.Close)
	if r := call(t, "POST", base(s, ts)+"/rest/webhooks/1.0/webhook", map[string]any{"name": "h", "url": hook.URL + "/hooks/jira",
		"events": []string{"comment_created"}}, basic("admin")...); r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	const n = 20
	for i := range n {
		// 9.12 delivers before AddComment returns.
		if err := s.AddComment("DEMO-1", "alice", "comment "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The client puts a connection back once it has seen the answer's
	// end, on a goroutine of its own: a delivery sent before that, on a
	// loaded machine, opens another. One each is what the test catches.
	mu.Lock()
	defer mu.Unlock()
	if conns > n/2 {
		t.Errorf("%d deliveries opened %d connections, want one most of the time", n, conns)
	}
}
