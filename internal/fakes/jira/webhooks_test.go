package jira

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
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

func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	// The recorded payloads are kept once, beside the client's tests
	// (internal/jira/testdata/README.md names their source).
	b, err := os.ReadFile(filepath.Join("..", "..", "jira", "testdata", "webhooks", name))
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
			if v == "10.3.0" {
				path = "/rest/jira-webhook/1.0/webhooks"
			}
			reg := call(t, "POST", b+path, map[string]any{"name": "asanajira", "url": hookURL,
				"events":  []string{"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated", "comment_deleted"},
				"filters": map[string]string{"issue-related-events-section": "project = DEMO"}, "excludeBody": false}, basic("admin")...)
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
			sameShape(t, "issue created", got[0], fixture(t, "webhook-issue-created.json"))

			// OPS is outside the webhook's JQL: nothing is delivered for it.
			call(t, "POST", b+"/rest/api/2/issue/OPS-1/comment", map[string]any{"body": "quiet"}, auth...)

			if err := s.TransitionIssue(key, "Done", "alice"); err != nil {
				t.Fatal(err)
			}
			got = rc.wait(t, 1)
			sameShape(t, "issue resolved", got[0], fixture(t, "webhook-server-issue-updated-resolved.json"))
			if got[0]["issue_event_type_name"] != "issue_generic" || got[0]["changelog"].(map[string]any)["items"].([]any)[0].(map[string]any)["toString"] != "Done" {
				t.Errorf("transition event: %v", got[0]["changelog"])
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

			// Deleting issues is for project administrators.
			call(t, "DELETE", b+"/rest/api/2/issue/"+key, nil, basic("admin")...)
			got = rc.wait(t, 1)
			sameShape(t, "issue deleted", got[0], fixture(t, "webhook-issue-deleted.json"))
		})
	}
}

func TestWebhookSecret(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Version: "8.20.1"})
	rc, hookURL := newReceiver(t)
	if r := call(t, "POST", base(s, ts)+"/rest/webhooks/1.0/webhook", map[string]any{"name": "signed", "url": hookURL,
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
	if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); sig != want {
		t.Errorf("X-Hub-Signature = %q, want %q", sig, want)
	}
	if r := call(t, "POST", base(s, ts)+"/rest/webhooks/1.0/webhook", map[string]any{"name": "x", "url": hookURL}, basic("alice")...); r.status != 403 {
		t.Errorf("non-admin registration: %d", r.status)
	}
}
